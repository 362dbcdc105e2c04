"""Per-user views, answered by the worker that owns the user's partition.

Any worker can be asked: :meth:`faust.App.table_route` forwards the request
to the owner of the key, so every worker gives the same answer.
"""

from __future__ import annotations

from faust.web import Request, Response, View

from agents.reemit import kept_verdicts
from app import app
from tables.users import get_user, users
from web.errors import error
from web.routing import route_to_owner


@app.page("/users/{user_id}")
class UserProfileView(View):
    """``GET /users/{user_id}``: the user's profile, or 404 if never seen."""

    @route_to_owner(users, match_info="user_id")
    async def get(self, request: Request, user_id: str) -> Response:
        state = get_user(user_id.encode())
        if state is None:
            return error(self, 404, f"no transactions seen for user {user_id!r}")
        return self.json({"user_id": user_id, "profile": state["profile"]})


@app.page("/users/{user_id}/velocity")
class UserVelocityView(View):
    """``GET /users/{user_id}/velocity``: the user's recent activity, or 404 if never seen."""

    @route_to_owner(users, match_info="user_id")
    async def get(self, request: Request, user_id: str) -> Response:
        state = get_user(user_id.encode())
        if state is None:
            return error(self, 404, f"no transactions seen for user {user_id!r}")
        velocity = state["velocity"]
        if "verdicts" in velocity:  # kept as JSON text: shown as the objects they encode
            velocity = {**velocity, "verdicts": kept_verdicts(velocity)}
        return self.json({"user_id": user_id, "velocity": velocity})
