"""Resolve tokens for the shop's own pages: the library side of ``cartnudge token verify``.

The shop's cart-restore page calls :func:`resolve_token` with the token from the recovery URL
and gets the order, the customer, the flow and the items to put back in the cart; the opt-out
page gets the address to record with :func:`unsubscribe`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cartnudge.app import App
from cartnudge.errors import TokenError
from cartnudge.messages.tokens import RECOVERY, UNSUBSCRIBE, verify_token
from cartnudge.shop.reader import AbandonedOrder

BULK_ORDER_PREFIX = "customer:"  # send-bulk's delivery rows for a customer without an order


def resolve_token(
    app: App, token: str, *, now: datetime, kind: str = RECOVERY, record_click: bool = True
) -> dict[str, Any]:
    """What a token of ``kind`` names, for the shop's pages.

    The cart-restore page calls it as is (``kind`` RECOVERY); the opt-out page passes
    ``kind=UNSUBSCRIBE`` (or calls :func:`resolve_optout_token`). A token of the other kind is
    refused: an opt-out link must never restore a cart or reveal an address to the restore
    page, and a recovery link must never unsubscribe anyone.

    Tokens carry only a delivery id (short enough for an SMS, and no personal data in a URL);
    the delivery row gives the order, flow, channel and recipient. A recovery token also gets
    the items to restore from the shop, and counts as a click on that reminder (the delivery's
    click count, first and last click time: what the report's clicks and click attribution
    read) unless ``record_click`` is False (the shop's own checks). Raises TokenError (exit 7)
    for a tampered, expired, malformed or other-kind token, or one naming a delivery cartnudge
    has no record of (DatabaseError when a database cannot be read). Opt-out tokens also
    verify with the keys retired from signing (``recovery.retired_keys_env``), so they outlive
    key rotation."""
    if kind not in (RECOVERY, UNSUBSCRIBE):
        raise ValueError(f"kind must be {RECOVERY!r} or {UNSUBSCRIBE!r} (got {kind!r})")
    payload = verify_token(
        token,
        app.config.token_keys,
        now=now,
        kind=kind,
        optout_keys=app.config.retired_token_keys if kind == UNSUBSCRIBE else (),
    )
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
    if record_click:
        naive = now.astimezone(UTC).replace(tzinfo=None) if now.tzinfo else now
        app.deliveries.record_click(delivery_id, naive)
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


def resolve_optout_token(app: App, token: str, *, now: datetime) -> dict[str, Any]:
    """The address and channel an opt-out token names (for the opt-out page): see
    :func:`resolve_token`; a recovery token is refused (TokenError, exit 7)."""
    return resolve_token(app, token, now=now, kind=UNSUBSCRIBE)


def unsubscribe(
    app: App, address: str, *, now: datetime, source: str = "opt_out", channel: str = "email"
) -> bool:
    """Put ``address`` on ``channel``'s suppression list; False when it was already there."""
    return app.suppressions.add_suppression(channel, address, source, now)
