"""Resolve tokens for the shop's own pages: the library side of ``cartnudge token verify``.

The shop's cart-restore page calls :func:`resolve_token` with the token from the recovery URL
and gets the order, the customer, the flow and the items to put back in the cart; the opt-out
page gets the address to record with :func:`unsubscribe`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cartnudge.app import App
from cartnudge.shopdb import AbandonedOrder
from cartnudge.tokens import RECOVERY, UNSUBSCRIBE, verify_token


def resolve_token(app: App, token: str, *, now: datetime) -> dict[str, Any]:
    """The verified token as a dict; for a recovery token also the items to restore.

    Raises TokenError for a tampered, expired or malformed token (DatabaseError when the shop
    cannot be read for the items)."""
    payload = verify_token(token, app.config.token_keys, now=now)
    if payload["k"] == UNSUBSCRIBE:
        return {
            "kind": UNSUBSCRIBE,
            "address": payload.get("a"),
            "channel": payload.get("ch", "email"),
            "delivery_id": payload.get("d"),
            "expires_at": payload["expires_at"],
        }
    result: dict[str, Any] = {
        "kind": RECOVERY,
        "delivery_id": payload.get("d"),
        "order_id": payload.get("o"),
        "customer_id": payload.get("c"),
        "flow": payload.get("f"),
        "episode": payload.get("e"),
        "storefront": payload.get("s"),
        "lp_id": payload.get("lp"),
        "expires_at": payload["expires_at"],
    }
    order = app.reader.order(payload.get("o"))
    items = app.reader.order_items([payload.get("o")]).get(str(payload.get("o")), [])
    result["items"] = [
        {
            "product_id": i.product_id,
            "name": i.name,
            "quantity": i.quantity,
            "unit_price": i.unit_price,
        }
        for i in items
    ]
    if isinstance(order, AbandonedOrder):
        result["total_amount"] = order.total_amount
    return result


def unsubscribe(app: App, address: str, *, now: datetime, source: str = "opt_out") -> bool:
    """Put ``address`` on the e-mail suppression list; False when it was already there."""
    # Asked first: StateStore.add_suppression answers from the INSERT's rowcount, which
    # SQLAlchemy 2.1 reports as -1 on PostgreSQL, so every new address read as "already there".
    already = bool(app.store.suppressed("email", [address]))
    app.store.add_suppression("email", address, source, now)
    return not already
