"""Score on request: ``GET /score?user_id=&amount=&...`` and ``POST /score`` (JSON).

The transaction is judged against its user's current state exactly as the
agent would judge it, by the worker that owns the user; nothing is learnt,
stored or sent. Useful to check a payment before authorising it, or to ask
"what would txwatch say?".
"""

from __future__ import annotations

import time
from typing import Any

from faust.web import Request, Response, View

from app import app
from app.detection import detector
from models.records import score_record
from models.transaction import Transaction
from tables.users import get_user, users
from web import params  # a module import: web.params may still be loading (it imports app)
from web.errors import error
from web.routing import answer_from_owner, route_to_owner


def score_without_learning(tx: Transaction) -> dict[str, Any]:
    """The verdict on ``tx`` given this worker's state for its user; the state is not changed."""
    state = get_user(tx.user_id.encode())
    profile = state["profile"] if state is not None else None
    judge = detector()
    verdict = judge.judge(tx, profile, state["velocity"] if state is not None else None)
    record = score_record(
        tx,
        verdict,
        model_version=judge.model_version,
        detected_at=time.time(),
        explanation=judge.explain(verdict),
    )
    return {
        "scored_by": app.conf.canonical_url.human_repr(),
        "user_history": profile["count"] if profile else 0,
        "state_changed": False,
        "score": record,
    }


@app.page("/score")
class ScoreView(View):
    """Judge a transaction given as query parameters (GET) or as a JSON object (POST)."""

    @route_to_owner(users, query_param="user_id")
    async def get(self, request: Request) -> Response:
        try:
            tx = params.transaction_from_query(request.query, time.time())
        except ValueError as exc:
            return error(self, 400, str(exc))
        return self.json(score_without_learning(tx))

    async def post(self, request: Request) -> Response:
        # Faust's table_route forwards no body: validate here, then ask the
        # owner the same question in the query form.
        try:
            tx = params.transaction_from_json(await request.read(), time.time())
        except ValueError as exc:
            return error(self, 400, str(exc))

        async def here() -> Response:
            return self.json(score_without_learning(tx))

        return await answer_from_owner(
            self, users, tx.user_id, "/score", params.transaction_query(tx), here
        )
