"""``cartnudge send-bulk``: a manual mailing to the result of a search (SPEC 3).

A mailing is a template (category ``cart_abandonment`` or ``remarketing``) sent once per customer
under a campaign name. Each recipient is one delivery row with flow ``bulk:<campaign>``, step 0,
episode 0, channel ``email`` and order id ``customer:<customer id>``, so the delivery table's
unique key makes one delivery per customer per campaign, and the sweep's protocol applies
unchanged (DESIGN.md, "Own state and idempotency"): claim, mark ``sending``, hand to the channel,
record the answer. Re-running a campaign claims nothing for a customer who already has it
(sent, failed for good, or in doubt); a temporary failure (``retry``) is taken again.

Both :func:`plan` and :func:`send` stream the search in pages and decide per page (consent,
suppression list, address, earlier delivery of the campaign): nothing grows with the number of
customers, and ``send`` re-decides rather than trusting a plan that may be minutes old.
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from cartnudge.app import App
from cartnudge.channels.base import Channel
from cartnudge.core.rules import (
    DONE_STATUSES,
    AbandonedStep,
    Candidate,
    CustomerStatus,
    DeliveryStatus,
    Storefront,
    normalise_address,
    valid_email,
)
from cartnudge.errors import EXIT_DELIVERY_PROBLEMS, EXIT_OK, ConfigError, TemplateError
from cartnudge.messages.compose import Links, email_envelope, render_order
from cartnudge.messages.templates import Rendered, TemplateInfo
from cartnudge.operator.search import Filters, customers
from cartnudge.shop.reader import AbandonedOrder, Item
from cartnudge.state.deliveries import Claimed, ClaimLost, ClaimRequest, Outcome
from cartnudge.sweep import outcome_of

CATEGORIES = ("cart_abandonment", "remarketing")
CAMPAIGN_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,50}")
FLOW_PREFIX = "bulk:"
CHANNEL = "email"
_STEPS = frozenset(s.value for s in AbandonedStep)
log = logging.getLogger("cartnudge.operator.bulk")


class Exclusion(StrEnum):
    """Why a customer the search found does not receive the mailing (in the order checked)."""

    ALREADY_SENT = "already_sent"  # has this campaign already (sent, failed for good, in doubt)
    NO_CONSENT = "no_consent"  # no e-mail opt-in, while consent.required (SPEC 2.7)
    INVALID_ADDRESS = "invalid_address"  # no address, or not a deliverable-looking one
    SUPPRESSED = "suppressed"  # on the suppression list: opt-out, hard bounce (SPEC 2.7)


# The order the CLI prints them in.
EXCLUSION_ORDER = (
    Exclusion.NO_CONSENT,
    Exclusion.SUPPRESSED,
    Exclusion.INVALID_ADDRESS,
    Exclusion.ALREADY_SENT,
)


def campaign_problem(name: str) -> str | None:
    """Why ``name`` cannot be a campaign name, or None when it can."""
    if CAMPAIGN_PATTERN.fullmatch(name):
        return None
    if len(name) > 50:
        return f"{name[:20]!r}... is {len(name)} characters long; at most 50"
    return f"{name!r} may contain only letters, digits, '-' and '_'"


def flow_for(campaign: str) -> str:
    """The delivery table's flow for a campaign: ``bulk:<campaign>``."""
    problem = campaign_problem(campaign)
    if problem:
        raise ValueError(f"campaign {problem}")
    return FLOW_PREFIX + campaign


def delivery_order_id(customer_id: Any) -> str:
    return f"customer:{customer_id}"


def check_template(app: App, template_id: int) -> TemplateInfo:
    """The mailing's template, refused as configuration (exit 3) when missing or of another
    category than the abandoned-cart ones."""
    info = app.catalogue.templates.get(template_id)
    if info is None:
        raise ConfigError(
            f"--template: template {template_id} not found in {app.catalogue.directory}"
        )
    if info.category not in CATEGORIES:
        raise ConfigError(
            f"--template: template {template_id} is of category {info.category!r}; "
            f"send-bulk needs {' or '.join(CATEGORIES)}"
        )
    return info


@dataclass(frozen=True)
class Mailing:
    campaign: str
    template_id: int
    filters: Filters

    @property
    def flow(self) -> str:
        return flow_for(self.campaign)


@dataclass(frozen=True)
class Recipient:
    """One customer who gets the mailing, with what the message shows."""

    order: AbandonedOrder  # the latest abandoned order, or a stand-in without items
    has_order: bool

    @property
    def customer_id(self) -> str:
        return self.order.candidate.customer_id or ""

    @property
    def delivery_order_id(self) -> str:
        return delivery_order_id(self.customer_id)


@dataclass(frozen=True)
class Sample:
    customer_id: str
    recipient: str
    subject: str
    text: str


@dataclass
class Plan:
    """What a mailing would do now: counts only (and the first recipient's message)."""

    matched: int = 0
    recipients: int = 0
    excluded: Counter[str] = field(default_factory=Counter)
    sample: Sample | None = None

    def exclusions(self) -> list[tuple[str, int]]:
        return [(e.value, self.excluded.get(e.value, 0)) for e in EXCLUSION_ORDER]


@dataclass
class BulkSummary:
    sent: int = 0
    failed: int = 0
    retry_later: int = 0
    in_doubt: int = 0
    claimed_elsewhere: int = 0  # another send-bulk of the same campaign has them right now
    excluded: Counter[str] = field(default_factory=Counter)

    @property
    def exit_code(self) -> int:
        return EXIT_DELIVERY_PROBLEMS if (self.failed or self.in_doubt) else EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "failed": self.failed,
            "retry_later": self.retry_later,
            "in_doubt": self.in_doubt,
            "claimed_elsewhere": self.claimed_elsewhere,
            "excluded": dict(sorted(self.excluded.items())),
        }


# -- deciding, per page ------------------------------------------------------------------------


def _pages(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    page: list[dict[str, Any]] = []
    for row in rows:
        page.append(row)
        if len(page) >= size:
            yield page
            page = []
    if page:
        yield page


def _recipient(row: dict[str, Any], now: datetime) -> Recipient:
    """The search row as the AbandonedOrder that compose.py renders. A customer without an
    abandoned order gets a stand-in: no items, amount 0, ``abandoned_at`` now."""
    raw = row["_row"]
    has_order = raw["order_id"] is not None
    customer_id = str(raw["customer_id"])
    abandoned_at = (raw["abandoned_at"] if has_order else None) or now
    storefront = str(raw.get("storefront") or "").strip().lower()
    status = str(raw.get("customer_status") or "").strip().lower()
    step = str(raw.get("abandoned_step") or "").strip().lower()
    candidate = Candidate(
        order_id=str(raw["order_id"]) if has_order else delivery_order_id(customer_id),
        customer_id=customer_id,
        customer_status=CustomerStatus.VISITOR if status == "visitor" else CustomerStatus.MEMBER,
        storefront=Storefront.LP if storefront == "lp" else Storefront.SHOP,
        abandoned_step=(AbandonedStep(step) if step in _STEPS else AbandonedStep.CART),
        abandoned_at=abandoned_at,
        last_activity_at=abandoned_at,
        email=raw["email"],
        email_consent=bool(raw["email_consent"]),
    )
    return Recipient(
        AbandonedOrder(
            candidate=candidate,
            raw_order_id=raw["order_id"],
            customer_name=str(raw["customer_name"] or ""),
            lp_id=raw.get("lp_id") if has_order else None,
            total_amount=int(raw["total_amount"] or 0) if has_order else 0,
        ),
        has_order,
    )


def _decide_page(
    app: App, mailing: Mailing, page: list[dict[str, Any]], now: datetime
) -> tuple[list[Recipient], Counter[str]]:
    """Who on this page gets the mailing, and how many are left out for which reason."""
    consent_required = app.config.settings.consent.required
    people = [_recipient(row, now) for row in page]
    history = app.deliveries.history([p.delivery_order_id for p in people])
    suppressed = app.suppressions.suppressed(
        CHANNEL, (p.order.candidate.email or "" for p in people)
    )
    flow = mailing.flow
    out: list[Recipient] = []
    excluded: Counter[str] = Counter()
    for p in people:
        c = p.order.candidate
        address = (c.email or "").strip()
        done = any(
            d.flow == flow and d.status in DONE_STATUSES
            for d in history.get(p.delivery_order_id, ())
        )
        if done:
            excluded[Exclusion.ALREADY_SENT.value] += 1
        elif consent_required and not c.email_consent:
            excluded[Exclusion.NO_CONSENT.value] += 1
        elif not address or not valid_email(address):
            excluded[Exclusion.INVALID_ADDRESS.value] += 1
        elif normalise_address(address) in suppressed:
            excluded[Exclusion.SUPPRESSED.value] += 1
        else:
            out.append(p)
    return out, excluded


def _decided_pages(
    app: App, mailing: Mailing, now: datetime
) -> Iterator[tuple[list[Recipient], Counter[str], int]]:
    size = app.config.settings.sweep.chunk_size
    for page in _pages(customers(app, mailing.filters), size):
        recipients, excluded = _decide_page(app, mailing, page, now)
        yield recipients, excluded, len(page)


def _items(app: App, recipients: list[Recipient]) -> dict[str, list[Item]]:
    return app.reader.order_items([r.order.raw_order_id for r in recipients if r.has_order])


def _render(
    app: App,
    mailing: Mailing,
    recipient: Recipient,
    items: dict[str, list[Item]],
    *,
    delivery_id: int,
    now: datetime,
) -> tuple[Rendered, Links]:
    order = recipient.order
    if recipient.has_order:
        order_items = items.get(order.candidate.order_id, [])
    else:
        # The recovery token then names no order ("o": null): the shop's restore page finds
        # nothing to restore, on every database (an id like "customer:7" would make
        # PostgreSQL refuse the shop query that looks the order up).
        order_items = []
        order = replace(order, candidate=replace(order.candidate, order_id=None))
    return render_order(
        app.config,
        app.catalogue,
        mailing.template_id,
        order,
        order_items,
        delivery_id=delivery_id,
        now=now,
    )


# -- the two library calls -----------------------------------------------------------------------


def plan(app: App, mailing: Mailing, *, now: datetime) -> Plan:
    """Count recipients and exclusions by reason, and render the first recipient's message.
    Reads only: nothing is written or sent."""
    check_template(app, mailing.template_id)
    app.deliveries.ensure_ready()
    result = Plan()
    for recipients, excluded, matched in _decided_pages(app, mailing, now):
        result.matched += matched
        result.recipients += len(recipients)
        result.excluded.update(excluded)
        if result.sample is None and recipients:
            first = recipients[0]
            rendered, _links = _render(
                app, mailing, first, _items(app, [first]), delivery_id=0, now=now
            )
            result.sample = Sample(
                customer_id=first.customer_id,
                recipient=(first.order.candidate.email or "").strip(),
                subject=rendered.subject,
                text=rendered.text,
            )
    return result


def send(
    app: App,
    mailing: Mailing,
    channel: Channel,
    *,
    now: datetime,
    on_progress: Callable[[BulkSummary], None] | None = None,
) -> BulkSummary:
    """Send the mailing: per page of the search, re-decide, then per batch of
    ``sweep.send_batch`` claim, render, mark sending, hand to ``channel`` and record each answer.

    The channel is opened before the first batch is marked sending and closed at the end, even
    after an error. Claims are taken per batch, so an interruption leaves at most one batch in
    the channel's hands (``sending``: in doubt, never sent again) and nothing else held."""
    check_template(app, mailing.template_id)
    app.deliveries.ensure_ready()
    summary = BulkSummary()
    batch_size = app.config.settings.sweep.send_batch
    state = {"open": False}
    run_id = str(uuid.uuid4())
    app.runs.start_run(
        run_id,
        "send-bulk",
        now,
        host=socket.gethostname(),
        pid=os.getpid(),
        dry_run=False,
        started_at=datetime.now(UTC).replace(tzinfo=None),
    )
    status = "error"
    started = time.monotonic()  # leases count from when each claim is made, as in the sweep
    try:
        try:
            for recipients, excluded, _matched in _decided_pages(app, mailing, now):
                summary.excluded.update(excluded)
                for start in range(0, len(recipients), batch_size):
                    _send_batch(
                        app,
                        mailing,
                        channel,
                        recipients[start : start + batch_size],
                        summary,
                        state,
                        now=now,
                        lease_clock=lambda: now + timedelta(seconds=time.monotonic() - started),
                    )
                if on_progress is not None:
                    on_progress(summary)
        finally:
            if state["open"]:
                channel.close()
        status = "problems" if summary.exit_code else "ok"
    finally:
        details = dict(
            summary.to_dict(),
            campaign=mailing.campaign,
            flow=mailing.flow,
            template_id=mailing.template_id,
            status=status,
        )
        app.runs.finish_run(
            run_id, status, json.dumps(details), datetime.now(UTC).replace(tzinfo=None)
        )
    return summary


def _send_batch(
    app: App,
    mailing: Mailing,
    channel: Channel,
    batch: list[Recipient],
    summary: BulkSummary,
    state: dict[str, bool],
    *,
    now: datetime,
    lease_clock: Callable[[], datetime],
) -> None:
    config = app.config
    by_key: dict[tuple[str, str, int, int, str], Recipient] = {}
    requests = []
    for r in batch:
        c = r.order.candidate
        req = ClaimRequest(
            order_id=r.delivery_order_id,
            flow=mailing.flow,
            step=0,
            episode=0,
            channel=CHANNEL,
            customer_id=r.customer_id,
            recipient=normalise_address(c.email or ""),
            template_id=mailing.template_id,
            amount=r.order.total_amount,
            abandoned_at=c.abandoned_at,
            episode_started_at=c.abandoned_at,
            due_at=now,
        )
        requests.append(req)
        by_key[req.key] = r
    claimed: list[Claimed] = app.deliveries.claim(requests, lease_clock(), config.lease)
    summary.claimed_elsewhere += len(requests) - len(claimed)
    if not claimed:
        return
    owned = [(cl, by_key[cl.key]) for cl in claimed]
    items = _items(app, [r for _, r in owned])
    outcomes: list[Outcome] = []
    envelopes = []
    for cl, r in owned:
        worn_out = cl.worn_out()
        if worn_out is not None:
            outcomes.append(worn_out)
            continue
        try:
            rendered, links = _render(app, mailing, r, items, delivery_id=cl.id, now=now)
            envelopes.append(
                email_envelope(config, r.order, rendered, links, delivery_id=cl.id, now=now)
            )
        except (TemplateError, ValueError) as exc:
            outcomes.append(Outcome(cl.id, DeliveryStatus.FAILED, f"render: {exc}"))
    answers: list = []
    if envelopes:
        if not state["open"]:
            # As in the sweep: opened before anything is marked sending, so a server that is
            # down leaves only claims, which a re-run takes over after the lease.
            channel.open()
            state["open"] = True
        try:
            app.deliveries.mark_sending(
                [e.delivery_id for e in envelopes], lease_clock(), config.lease
            )
        except ClaimLost as exc:
            # Another run took these over after our lease ran out: it sends them, not us.
            log.warning("%s", exc)
            envelopes = []
        by_id = {e.delivery_id: e for e in envelopes}
        answers = channel.send(envelopes) if envelopes else []
        outcomes += [outcome_of(res, by_id[res.delivery_id].message_id) for res in answers]
    app.deliveries.record(outcomes, now)
    # After recording: a failure to write a suppression must not leave sent rows "sending".
    for res in answers:
        if res.hard_bounce:
            app.suppressions.add_suppression(
                CHANNEL, by_id[res.delivery_id].recipient, "hard_bounce", now
            )
    for o in outcomes:
        if o.status is DeliveryStatus.SENT:
            summary.sent += 1
        elif o.status is DeliveryStatus.RETRY:
            summary.retry_later += 1
        elif o.status is DeliveryStatus.IN_DOUBT:
            summary.in_doubt += 1
            log.warning("delivery %d is in doubt: %s", o.delivery_id, o.detail)
        else:
            summary.failed += 1
            log.warning("delivery %d failed: %s", o.delivery_id, o.detail)
