"""``GET /merchants/{merchant_id}``: a merchant's fraud record, from the worker that owns it.

Like the per-user views, any worker can be asked: the request is forwarded
to the owner of the merchant's partition of ``merchants``.
"""

from __future__ import annotations

import time

from faust.web import Request, Response, View

from app import app
from models.merchant_risk import merchant_view
from tables.merchants import get_merchant, merchants
from web.errors import error
from web.routing import route_to_owner


@app.page("/merchants/{merchant_id}")
class MerchantView(View):
    """The merchant's transactions per day, confirmed frauds, and its window now; 404 if unseen."""

    @route_to_owner(merchants, match_info="merchant_id")
    async def get(self, request: Request, merchant_id: str) -> Response:
        state = get_merchant(merchant_id.encode())
        if state is None:
            return error(self, 404, f"no transactions or labels seen for merchant {merchant_id!r}")
        now = merchant_view(state, time.time())
        return self.json(
            {
                "merchant_id": merchant_id,
                "record": state,
                "last_14_days": {"transactions": now.transactions, "frauds": now.frauds},
            }
        )
