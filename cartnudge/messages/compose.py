"""Turn one claimed delivery into a ready message: template context, recovery and opt-out
links, and the MIME bytes. Pure apart from reading the clock-free inputs it is given."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from cartnudge.channels.base import Envelope
from cartnudge.channels.settings import MAX_TEXT, push_payload
from cartnudge.config import Config
from cartnudge.core.rules import Storefront
from cartnudge.core.urls import web_url, with_query
from cartnudge.messages.mime import build_email, message_id_for
from cartnudge.messages.sms_text import segments, with_footer
from cartnudge.messages.templates import CHANNEL_PARTS, Catalogue, Rendered
from cartnudge.messages.tokens import RECOVERY, UNSUBSCRIBE, UNSUBSCRIBE_TTL, sign_token
from cartnudge.shop.reader import AbandonedOrder, Item

UNSUBSCRIBE_TOKEN_TTL = UNSUBSCRIBE_TTL  # an opt-out link must keep working for long


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
    coupon_code: str | None = None,
) -> Links:
    """Recovery and opt-out links. Their tokens name only the delivery: short enough for an
    SMS, and no address or customer number in a URL; :func:`cartnudge.recovery.resolve_token`
    looks the rest up in the delivery row (order, flow, channel, recipient). With
    ``coupons.in_link``, the recovery link carries the delivery's ``coupon_code`` as
    ``?coupon=CODE`` (``&coupon=`` after a query), for a shop that applies it on arrival."""
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
    shop_url, lp_url, unsubscribe_url = config.link_patterns()
    pattern = lp_url if c.storefront is Storefront.LP else shop_url
    sender = config.settings.sender.email
    recovery_url = pattern.format(token=recovery, lp_id=order.lp_id or "", order_id=c.order_id)
    if coupon_code and config.settings.coupons.in_link:
        recovery_url = with_query(recovery_url, "coupon", coupon_code)
    return Links(
        recovery_url=recovery_url,
        unsubscribe_url=unsubscribe_url.format(token=unsubscribe),
        unsubscribe_mailto=f"mailto:{sender}?subject={quote('unsubscribe ' + unsubscribe)}",
    )


def context_for(
    config: Config,
    order: AbandonedOrder,
    items: Sequence[Item],
    links: Links,
    coupon: Mapping[str, Any] | None = None,
    trigger: Mapping[str, Any] | None = None,
) -> dict:
    """What a template sees (README, "E-mail"; the names of
    :func:`cartnudge.messages.templates.sample_context`). An item's ``image_url`` and
    ``product_url`` and ``sender.logo_url`` are None unless they are http(s) addresses
    (https for the logo)."""
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
                # http(s) or None, checked again here: only such an address reaches the HTML
                "image_url": web_url(i.image_url),
                "product_url": web_url(i.product_url),
            }
            for i in items
        ],
        "total_amount": order.total_amount,
        "abandoned_at": abandoned_local,
        "recovery_url": links.recovery_url,
        "unsubscribe_url": links.unsubscribe_url,
        "coupon": _local_coupon(coupon, config),
        # A trigger step's reason (cartnudge.core.triggers.TriggerHit.context), else None.
        "trigger": dict(trigger) if trigger is not None else None,
        "sender": {
            "name": s.name,
            "email": s.email,
            "postal_address": s.postal_address,
            "contact": s.contact,
            "logo_url": web_url(s.logo_url, https_only=True),
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
    trigger: Mapping[str, Any] | None = None,
    channel: str | None = None,
) -> tuple[Rendered, Links]:
    """Render a template for one order; ``coupon`` (code, discount, expires_at in naive UTC)
    is the delivery's code, None when it carries none; ``trigger`` the item and prices or
    stock that made a trigger step fire, None for any other step. With ``channel``, only the
    parts that channel sends are rendered (:data:`cartnudge.messages.templates.CHANNEL_PARTS`)."""
    code = coupon.get("code") if coupon else None
    links = links_for(config, order, delivery_id=delivery_id, now=now, coupon_code=code)
    rendered = catalogue.render(
        template_id, context_for(config, order, items, links, coupon, trigger), channel
    )
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
        subject=cut_subject(rendered.subject),
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


def _push_data(
    order: AbandonedOrder, rendered: Rendered, links: Links, *, delivery_id: int
) -> bytes:
    return push_payload(
        cut_subject(rendered.subject),
        (rendered.sms or "").strip(),
        links.recovery_url,
        {"order_id": order.candidate.order_id, "delivery_id": str(delivery_id)},
    )


def push_envelope(
    order: AbandonedOrder, rendered: Rendered, links: Links, *, delivery_id: int, recipient: str
) -> Envelope:
    """Title from the subject, body from the SMS text, the recovery URL as the link."""
    data = _push_data(order, rendered, links, delivery_id=delivery_id)
    return Envelope(
        delivery_id=delivery_id,
        recipient=recipient,
        sender="",
        message_id=f"cartnudge.{delivery_id}",
        data=data,
        subject=rendered.subject,
    )


# -- per-message limits (issue 10: "never a message over a configured limit") ------------------

# FCM HTTP v1 refuses a message whose payload exceeds 4096 bytes; the webhook gets the same
# bytes. Our envelope carries the title, body, link and data.
PUSH_MAX_BYTES = 4096
# A subject longer than this is cut, with "…" (mail clients show about 40 to 80 characters; a
# longer one is only ever a template fed long data, such as a product name).
SUBJECT_MAX_CHARACTERS = 120
MORE_ITEMS = "他{n}点"  # appended to the last item kept when the item list is cut


class OverLimit(ValueError):
    """A message still over its channel's limit after the documented shortening: not sent."""


def cut_subject(subject: str, limit: int = SUBJECT_MAX_CHARACTERS) -> str:
    """``subject`` cut to ``limit`` characters, ending in "…" when it was cut."""
    return subject if len(subject) <= limit else subject[: limit - 1].rstrip() + "…"


def _cut_items(items: Sequence[Item], keep: int) -> list[Item]:
    """The first ``keep`` items, the last of them named "… 他N点" for the N left out."""
    kept = list(items[:keep])
    left_out = len(items) - keep
    if kept and left_out > 0:
        last = kept[-1]
        kept[-1] = replace(last, name=f"{last.name} {MORE_ITEMS.format(n=left_out)}")
    return kept


def _fits(
    config: Config, channel: str, rendered: Rendered, links: Links, order: AbandonedOrder
) -> str | None:
    """None when the message fits its channel's limits, else why not (one line)."""
    if channel == "sms":
        s = config.settings
        text = with_footer(rendered.sms or "", s.sender.name, links.unsubscribe_url)
        length = segments(text)
        if length.segments > s.sms.max_segments:
            return (
                f"the SMS needs {length.segments} segments, more than sms.max_segments "
                f"{s.sms.max_segments}"
            )
        return None
    if channel == "push":
        size = len(_push_data(order, rendered, links, delivery_id=10**12))
        if size > PUSH_MAX_BYTES:
            return f"the push payload is {size} bytes, more than {PUSH_MAX_BYTES}"
        return None
    return None


def render_within_limits(
    config: Config,
    catalogue: Catalogue,
    template_id: int,
    order: AbandonedOrder,
    items: Sequence[Item],
    *,
    delivery_id: int,
    now: datetime,
    channel: str,
    coupon: Mapping[str, Any] | None = None,
    trigger: Mapping[str, Any] | None = None,
    all_parts: bool = False,
) -> tuple[Rendered, Links]:
    """Render a message and check it against its channel's limits, with this message's data
    (a long cart or name makes a long SMS even when the template's sample fit); ``coupon`` as
    for :func:`render_order`. Only the parts ``channel`` sends are rendered, every part with
    ``all_parts`` (a preview).

    The documented rule when it does not fit: the item list is cut to fewer items, the last
    one kept followed by "他N点" for the N left out, down to one item; a subject (an e-mail's, a
    push title) is cut to SUBJECT_MAX_CHARACTERS with "…". If it is still over the limit,
    :class:`OverLimit` says why: the message is not sent (the sweep records it failed with that
    reason). Never a message over ``sms.max_segments`` or the push payload limit."""
    only = None if all_parts or channel not in CHANNEL_PARTS else channel
    rendered, links = render_order(
        config,
        catalogue,
        template_id,
        order,
        items,
        delivery_id=delivery_id,
        now=now,
        coupon=coupon,
        trigger=trigger,
        channel=only,
    )
    why = _fits(config, channel, rendered, links, order)
    keep = len(items)
    while why is not None and keep > 1:
        keep -= 1
        context = context_for(config, order, _cut_items(items, keep), links, coupon, trigger)
        rendered = catalogue.render(template_id, context, only)
        why = _fits(config, channel, rendered, links, order)
    if why is not None:
        raise OverLimit(f"{why}, even with the item list cut to one item; not sent")
    return replace(rendered, subject=cut_subject(rendered.subject)), links


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
