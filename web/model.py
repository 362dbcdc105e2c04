"""``GET /model``: the model this worker scores with."""

from __future__ import annotations

from faust.web import Request, Response, View

from app import app, settings
from app.detection import detector


@app.page("/model")
class ModelView(View):
    """Version, training time, features and training statistics; 404 without a model."""

    async def get(self, request: Request) -> Response:
        model = detector().model
        if model is None:
            return self.json(
                {
                    "error": f"no model loaded from {settings.model_path}: scoring by rules alone",
                    "status": 404,
                },
                status=404,
            )
        return self.json(model.describe())
