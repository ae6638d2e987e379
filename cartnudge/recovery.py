"""Resolve tokens for the shop's own pages: the library side of ``cartnudge token verify``.

The shop's cart-restore page calls :func:`resolve_token` with the token from the recovery URL
and gets the order, the customer, the flow and the items to put back in the cart; the opt-out
page gets the address to record with :func:`unsubscribe`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cartnudge.app import App
from cartnudge.errors import TokenError
from cartnudge.messages.tokens import RECOVERY, UNSUBSCRIBE, verify_token
from cartnudge.shop.reader import AbandonedOrder

BULK_ORDER_PREFIX = "customer:"  # send-bulk's delivery rows for a customer without an order


def resolve_token(app: App, token: str, *, now: datetime) -> dict[str, Any]:
    """What a token names, for the shop's pages.

    Tokens carry only a delivery id (short enough for an SMS, and no personal data in a URL);
    the delivery row gives the order, flow, channel and recipient. A recovery token also gets
    the items to restore from the shop. Raises TokenError for a tampered, expired or malformed
    token, or one naming a delivery cartnudge has no record of (DatabaseError when a database
    cannot be read)."""
    payload = verify_token(token, app.config.token_keys, now=now)
    try:
        delivery_id = int(payload["d"])
    except (KeyError, TypeError, ValueError):
        raise TokenError("token payload names no delivery") from None
    row = app.deliveries.delivery(delivery_id)
    if row is None:
        raise TokenError(f"token names delivery {delivery_id}, which cartnudge has no record of")
    if payload["k"] == UNSUBSCRIBE:
        return {
            "kind": UNSUBSCRIBE,
            "delivery_id": delivery_id,
            "address": row["recipient"],
            "channel": row["channel"],
            "expires_at": payload["expires_at"],
        }
    order_id = row["order_id"]
    result: dict[str, Any] = {
        "kind": RECOVERY,
        "delivery_id": delivery_id,
        "order_id": order_id,
        "customer_id": row["customer_id"],
        "flow": row["flow"],
        "episode": row["episode"],
        "expires_at": payload["expires_at"],
        "items": [],
    }
    if order_id.startswith(BULK_ORDER_PREFIX):
        # A manual mailing to a customer without an abandoned order: nothing to restore.
        result["order_id"] = None
        return result
    order = app.reader.order(order_id)
    if isinstance(order, AbandonedOrder):
        result.update(
            storefront=order.candidate.storefront.value,
            lp_id=order.lp_id,
            total_amount=order.total_amount,
        )
    result["items"] = [
        {
            "product_id": i.product_id,
            "name": i.name,
            "quantity": i.quantity,
            "unit_price": i.unit_price,
        }
        for i in app.reader.order_items(
            [order.raw_order_id if isinstance(order, AbandonedOrder) else order_id]
        ).get(str(order_id), [])
    ]
    return result


def unsubscribe(
    app: App, address: str, *, now: datetime, source: str = "opt_out", channel: str = "email"
) -> bool:
    """Put ``address`` on ``channel``'s suppression list; False when it was already there."""
    return app.suppressions.add_suppression(channel, address, source, now)
