"""Turn one claimed delivery into a ready message: template context, recovery and opt-out
links, and the MIME bytes. Pure apart from reading the clock-free inputs it is given."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from cartnudge.channels.base import Envelope
from cartnudge.channels.line import MAX_TEXT
from cartnudge.channels.push import push_payload
from cartnudge.config import Config
from cartnudge.core.rules import Storefront
from cartnudge.messages.mime import build_email, message_id_for
from cartnudge.messages.sms_text import with_footer
from cartnudge.messages.templates import Catalogue, Rendered
from cartnudge.messages.tokens import RECOVERY, UNSUBSCRIBE, sign_token
from cartnudge.shop.reader import AbandonedOrder, Item

UNSUBSCRIBE_TOKEN_TTL = timedelta(days=400)  # an opt-out link must keep working for long


@dataclass(frozen=True)
class Links:
    recovery_url: str
    unsubscribe_url: str
    unsubscribe_mailto: str


def links_for(
    config: Config,
    order: AbandonedOrder,
    *,
    delivery_id: int,
    now: datetime,
) -> Links:
    """Recovery and opt-out links. Their tokens name only the delivery: short enough for an
    SMS, and no address or customer number in a URL; :func:`cartnudge.recovery.resolve_token`
    looks the rest up in the delivery row (order, flow, channel, recipient)."""
    c = order.candidate
    recovery = sign_token(
        {"d": delivery_id}, config.token_keys, kind=RECOVERY, expires_at=now + config.token_ttl
    )
    unsubscribe = sign_token(
        {"d": delivery_id},
        config.token_keys,
        kind=UNSUBSCRIBE,
        expires_at=now + UNSUBSCRIBE_TOKEN_TTL,
    )
    r = config.settings.recovery
    pattern = r.lp_url if c.storefront is Storefront.LP else r.shop_url
    sender = config.settings.sender.email
    return Links(
        recovery_url=pattern.format(token=recovery, lp_id=order.lp_id or "", order_id=c.order_id),
        unsubscribe_url=r.unsubscribe_url.format(token=unsubscribe),
        unsubscribe_mailto=f"mailto:{sender}?subject={quote('unsubscribe ' + unsubscribe)}",
    )


def context_for(
    config: Config,
    order: AbandonedOrder,
    items: Sequence[Item],
    links: Links,
    coupon: Mapping[str, Any] | None = None,
) -> dict:
    s = config.settings.sender
    abandoned_local = order.candidate.abandoned_at.replace(tzinfo=UTC).astimezone(config.tz)
    return {
        "customer_name": order.customer_name,
        "order_id": order.candidate.order_id,
        "storefront": order.candidate.storefront.value,
        "items": [
            {
                "name": i.name,
                "quantity": i.quantity,
                "unit_price": i.unit_price,
                "subtotal": i.subtotal,
            }
            for i in items
        ],
        "total_amount": order.total_amount,
        "abandoned_at": abandoned_local,
        "recovery_url": links.recovery_url,
        "unsubscribe_url": links.unsubscribe_url,
        "coupon": _local_coupon(coupon, config),
        "sender": {
            "name": s.name,
            "email": s.email,
            "postal_address": s.postal_address,
            "contact": s.contact,
        },
    }


def _local_coupon(coupon: Mapping[str, Any] | None, config: Config) -> dict | None:
    """``coupon`` for templates: code, discount and expires_at in local time (or None)."""
    if coupon is None:
        return None
    expires = coupon.get("expires_at")
    if isinstance(expires, datetime):
        expires = expires.replace(tzinfo=UTC).astimezone(config.tz)
    return {"code": coupon["code"], "discount": coupon["discount"], "expires_at": expires}


def render_order(
    config: Config,
    catalogue: Catalogue,
    template_id: int,
    order: AbandonedOrder,
    items: Sequence[Item],
    *,
    delivery_id: int,
    now: datetime,
    coupon: Mapping[str, Any] | None = None,
) -> tuple[Rendered, Links]:
    """Render a template for one order; ``coupon`` (code, discount, expires_at in naive UTC)
    is the delivery's code, None when it carries none."""
    links = links_for(config, order, delivery_id=delivery_id, now=now)
    rendered = catalogue.render(template_id, context_for(config, order, items, links, coupon))
    return rendered, links


def email_envelope(
    config: Config,
    order: AbandonedOrder,
    rendered: Rendered,
    links: Links,
    *,
    delivery_id: int,
    now: datetime,
) -> Envelope:
    s = config.settings.sender
    recipient = (order.candidate.email or "").strip()
    message_id = message_id_for(delivery_id, order.candidate.order_id, s.email)
    data = build_email(
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        from_name=s.name,
        from_address=s.email,
        to_name=f"{order.customer_name} 様" if order.customer_name else "",
        to_address=recipient,
        message_id=message_id,
        date=now,
        unsubscribe=[links.unsubscribe_mailto, links.unsubscribe_url],
        reply_to=s.reply_to,
    )
    return Envelope(
        delivery_id=delivery_id,
        recipient=recipient,
        sender=s.email,
        message_id=message_id,
        data=data,
        subject=rendered.subject,
    )


def sms_envelope(
    config: Config,
    order: AbandonedOrder,
    rendered: Rendered,
    links: Links,
    *,
    delivery_id: int,
    recipient: str,
) -> Envelope:
    """The template's SMS body with the sender's name and the opt-out link (SPEC 2.7)."""
    s = config.settings
    text = with_footer(rendered.sms or "", s.sender.name, links.unsubscribe_url)
    return Envelope(
        delivery_id=delivery_id,
        recipient=recipient,
        sender=s.sms.sender,
        message_id=f"cartnudge.{delivery_id}",
        data=text.encode("utf-8"),
    )


def push_envelope(
    order: AbandonedOrder, rendered: Rendered, links: Links, *, delivery_id: int, recipient: str
) -> Envelope:
    """Title from the subject, body from the SMS text, the recovery URL as the link."""
    data = push_payload(
        rendered.subject,
        (rendered.sms or "").strip(),
        links.recovery_url,
        {"order_id": order.candidate.order_id, "delivery_id": str(delivery_id)},
    )
    return Envelope(
        delivery_id=delivery_id,
        recipient=recipient,
        sender="",
        message_id=f"cartnudge.{delivery_id}",
        data=data,
        subject=rendered.subject,
    )


LINE_OPT_OUT = "配信停止はこちら（またはこのアカウントをブロック）"


def line_text(body: str, sender_name: str, unsubscribe_url: str) -> str:
    """A LINE message's text: the body, then the sender's name and how to stop the messages
    (SPEC 2.7 asks every reminder for both). Cut to LINE's 5,000 characters, footer kept."""
    footer = f"\n\n{sender_name}\n{LINE_OPT_OUT}: {unsubscribe_url}"
    body = body.strip()
    room = MAX_TEXT - len(footer)
    if len(body) > room:
        body = body[: room - 1] + "…"
    return body + footer


def line_messages(text: str, rendered: Rendered, links: Links, kind: str = "text") -> list:
    """The push request's ``messages``: one text message, or one flex bubble (title, body, a
    button to the recovery link) whose ``altText`` is the whole text."""
    if kind != "flex":
        return [{"type": "text", "text": text}]
    bubble = {
        "type": "bubble",
        "body": {
            "type": "box",
            "layout": "vertical",
            "contents": [
                {"type": "text", "text": rendered.subject or " ", "weight": "bold", "wrap": True},
                {"type": "text", "text": text, "wrap": True, "size": "sm"},
            ],
        },
        "footer": {
            "type": "box",
            "layout": "vertical",
            "contents": [
                {
                    "type": "button",
                    "style": "primary",
                    "action": {"type": "uri", "label": "カートを見る", "uri": links.recovery_url},
                }
            ],
        },
    }
    return [{"type": "flex", "altText": text[:400], "contents": bubble}]


def line_envelope(
    config: Config,
    order: AbandonedOrder,
    rendered: Rendered,
    links: Links,
    *,
    delivery_id: int,
    recipient: str,
) -> Envelope:
    """The template's LINE body (else its SMS body) with the sender's name and the opt-out
    instruction, as the JSON list of LINE message objects."""
    s = config.settings
    body = rendered.line if rendered.line is not None else (rendered.sms or "")
    text = line_text(body, s.sender.name, links.unsubscribe_url)
    messages = line_messages(text, rendered, links, s.line.message)
    return Envelope(
        delivery_id=delivery_id,
        recipient=recipient,
        sender=s.sender.name,
        message_id=f"cartnudge.{delivery_id}",
        data=json.dumps(messages, ensure_ascii=False).encode("utf-8"),
        subject=rendered.subject,
    )
