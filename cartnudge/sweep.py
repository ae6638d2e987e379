"""The sweep: the one place that sequences I/O.

Per page of candidates (a short keyset query on the shop): read the pages' delivery history and
suppressions (one query each), decide with the pure rules, claim what is due, re-check purchases,
read the items, render, and hand small batches to the channel, recording each answer right away.
Memory is bounded by the page size, not the shop's size.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cartnudge.app import App
from cartnudge.attribution import CompletedOrder, attribute
from cartnudge.channels.base import Channel, Result, SendResult
from cartnudge.compose import email_envelope, render_order
from cartnudge.errors import EXIT_DELIVERY_PROBLEMS, EXIT_OK, TemplateError, TokenError
from cartnudge.rules import (
    DeliveryStatus,
    Kind,
    SkipReason,
    decide,
    normalise_address,
)
from cartnudge.shopdb import AbandonedOrder, RowProblem
from cartnudge.state import MAX_ATTEMPTS, Claimed, ClaimRequest, Outcome, SkipRecord
from cartnudge.tokens import RECOVERY, verify_token

log = logging.getLogger("cartnudge.sweep")
RECOVERY_OVERLAP = timedelta(hours=1)
# Not skips in the report's sense: the flow is off, or the order was handled already.
UNRECORDED_SKIPS = frozenset({SkipReason.FLOW_DISABLED, SkipReason.ALREADY_DELIVERED})
FIRST_RECOVERY_LOOKBACK = timedelta(days=1)


@dataclass
class Summary:
    run_id: str
    now: datetime
    dry_run: bool
    candidates: int = 0
    due: int = 0
    sent: int = 0
    would_send: int = 0
    failed: int = 0
    retry_later: int = 0
    claimed_elsewhere: int = 0
    waiting: int = 0
    in_doubt_found: int = 0
    invalid_rows: int = 0
    recovered: int = 0
    recovered_amount: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    @property
    def exit_code(self) -> int:
        problems = self.failed or self.in_doubt_found or self.invalid_rows
        return EXIT_DELIVERY_PROBLEMS if problems else EXIT_OK

    @property
    def status(self) -> str:
        return "problems" if self.exit_code else "ok"

    def to_dict(self) -> dict:
        return {
            "run_id": self.run_id,
            "now": self.now.replace(tzinfo=UTC).isoformat(),
            "dry_run": self.dry_run,
            "candidates": self.candidates,
            "due": self.due,
            "sent": self.sent,
            "would_send": self.would_send,
            "failed": self.failed,
            "retry_later": self.retry_later,
            "claimed_elsewhere": self.claimed_elsewhere,
            "waiting": self.waiting,
            "in_doubt_found": self.in_doubt_found,
            "invalid_rows": self.invalid_rows,
            "recovered": self.recovered,
            "recovered_amount": self.recovered_amount,
            "skipped": dict(sorted(self.skipped.items())),
            "status": self.status,
        }


def _batches(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Sweep:
    """One run. ``channel`` is the e-mail channel (outbox or SMTP); ``on_progress`` is called
    with the number of candidates handled so far (the CLI draws a bar on a terminal)."""

    def __init__(
        self,
        app: App,
        channel: Channel,
        *,
        now: datetime,
        dry_run: bool = False,
        on_progress: Callable[[int], None] | None = None,
    ) -> None:
        self.app = app
        self.config = app.config
        self.channel = channel
        self.now = now
        self.dry_run = dry_run
        self.rules = app.confirm_rules()
        self.summary = Summary(run_id=str(uuid.uuid4()), now=now, dry_run=dry_run)
        self.on_progress = on_progress or (lambda _n: None)
        self._channel_open = False

    def run(self) -> Summary:
        store = self.app.store
        store.ensure_ready()
        if not self.dry_run:
            store.start_run(
                self.summary.run_id,
                "sweep",
                self.now,
                host=socket.gethostname(),
                pid=os.getpid(),
                dry_run=False,
                started_at=datetime.now(UTC).replace(tzinfo=None),
            )
            self.summary.in_doubt_found = store.mark_in_doubt(self.now)
            if self.summary.in_doubt_found:
                log.warning(
                    "%d deliveries are in doubt: a sweep died while sending them; "
                    "they will not be sent again (see 'cartnudge report')",
                    self.summary.in_doubt_found,
                )
        status = "error"
        try:
            if self.rules.enabled and self.rules.steps:
                try:
                    for page in self._pages():
                        self._handle_page(page)
                finally:
                    if self._channel_open:
                        self.channel.close()
            if not self.dry_run:
                self._attribute_recoveries()
            status = self.summary.status
        finally:
            if not self.dry_run:
                store.finish_run(
                    self.summary.run_id,
                    status,
                    json.dumps(self.summary.to_dict()),
                    datetime.now(UTC).replace(tzinfo=None),
                )
        return self.summary

    def _pages(self) -> Iterable[list[AbandonedOrder | RowProblem]]:
        shortest = min(s.delay for s in self.rules.steps)
        window = self.config.cart_ttl if self.config.cart_ttl is not None else self.config.lookback
        return self.app.reader.abandoned_orders(
            due_before=self.now - shortest,
            active_since=self.now - window,
            chunk_size=self.config.settings.sweep.chunk_size,
        )

    def _handle_page(self, page: list[AbandonedOrder | RowProblem]) -> None:
        s = self.summary
        orders: list[AbandonedOrder] = []
        for row in page:
            if isinstance(row, RowProblem):
                s.invalid_rows += 1
                log.warning(
                    "%s: %s (skipped)", self.app.contract.path("abandoned_orders"), row.message
                )
            else:
                orders.append(row)
        s.candidates += len(page)
        history = self.app.store.history([o.candidate.order_id for o in orders])
        suppressed = self.app.store.suppressed("email", (o.candidate.email or "" for o in orders))
        due: list[tuple[AbandonedOrder, object]] = []
        skipped: list[SkipRecord] = []
        for order in orders:
            c = order.candidate
            decision = decide(
                c,
                history.get(c.order_id, []),
                self.rules,
                self.now,
                suppressed=normalise_address(c.email or "") in suppressed,
            )
            if decision.kind is Kind.SEND:
                due.append((order, decision))
            elif decision.kind is Kind.WAIT:
                s.waiting += 1
            else:
                s.skipped[decision.reason.value] += 1
                if decision.reason not in UNRECORDED_SKIPS:
                    skipped.append(
                        SkipRecord(
                            c.order_id,
                            self.rules.flow,
                            decision.episode,
                            decision.reason.value,
                            c.customer_id,
                            c.abandoned_at,
                        )
                    )
        if not self.dry_run:
            self.app.store.record_skips(skipped, self.now)
        s.due += len(due)
        if due:
            if self.dry_run:
                self._dry_run(due)
            else:
                self._deliver(due)
        self.on_progress(s.candidates)

    def _attribute_recoveries(self) -> None:
        """Mark the orders completed since the last sweep that a reminder brought back."""
        store = self.app.store
        last = store.last_sweep_now()
        # An hour of overlap catches orders committed late; the table's key stops double counts.
        since = (last - RECOVERY_OVERLAP) if last else self.now - FIRST_RECOVERY_LOOKBACK
        window = self.config.attribution_window
        for page in self.app.reader.completed_orders(
            completed_from=since,
            completed_to=self.now,
            chunk_size=self.config.settings.sweep.chunk_size,
        ):
            orders = [self._completed(row) for row in page]
            by_id = store.sent_by_id(o.token_delivery_id for o in orders if o.token_delivery_id)
            by_customer = {}
            if window is not None:
                by_customer = store.sent_to_customers(
                    (o.customer_id for o in orders if o.customer_id), since - window
                )
            found = attribute(orders, by_id, by_customer, window=window)
            self.summary.recovered += store.record_recoveries(found, self.now)
            self.summary.recovered_amount += sum(r.amount for r in found)

    def _completed(self, row: dict) -> CompletedOrder:
        delivery_id = None
        if row["recovery_token"]:
            try:
                payload = verify_token(
                    row["recovery_token"],
                    self.config.token_keys,
                    now=self.now,
                    kind=RECOVERY,
                    check_expiry=False,
                )
                delivery_id = int(payload["d"])
            except (TokenError, KeyError, TypeError, ValueError):
                log.info("order %s: its recovery token is not ours or was altered", row["order_id"])
        return CompletedOrder(
            order_id=str(row["order_id"]),
            customer_id=None if row["customer_id"] is None else str(row["customer_id"]),
            completed_at=row["completed_at"],
            amount=int(row["total_amount"] or 0),
            token_delivery_id=delivery_id,
        )

    def _template_for(self, step: int) -> int:
        return self.config.confirm_steps[step].template_id

    def _dry_run(self, due: list) -> None:
        items = self.app.reader.order_items([o.raw_order_id for o, _ in due])
        for order, decision in due:
            render_order(
                self.config,
                self.app.catalogue,
                self._template_for(decision.step),
                order,
                items.get(order.candidate.order_id, []),
                delivery_id=0,
                flow=self.rules.flow,
                episode=decision.episode,
                now=self.now,
            )
            self.summary.would_send += 1

    def _deliver(self, due: list) -> None:
        s = self.summary
        store = self.app.store
        requests = {}
        for order, d in due:
            c = order.candidate
            req = ClaimRequest(
                order_id=c.order_id,
                flow=self.rules.flow,
                step=d.step,
                episode=d.episode,
                channel=d.channel,
                customer_id=c.customer_id,
                recipient=normalise_address(c.email or ""),
                template_id=self._template_for(d.step),
                amount=order.total_amount,
                abandoned_at=c.abandoned_at,
                episode_started_at=d.episode_started_at,
                due_at=d.due_at,
            )
            requests[req.key] = (req, order, d)
        claimed = store.claim([r for r, _, _ in requests.values()], self.now, self.config.lease)
        s.claimed_elsewhere += len(requests) - len(claimed)
        if not claimed:
            return

        # Re-check purchases now, not only at selection: the shopper may have just bought.
        owned = [(cl, *requests[cl.key][1:]) for cl in claimed]
        purchases = self.app.reader.purchases([o.candidate.customer_id for _, o, _ in owned])
        release, sendable, bought_skips = [], [], []
        for cl, order, d in owned:
            c = order.candidate
            bought = purchases.get(c.customer_id or "")
            if bought is not None and bought >= d.episode_started_at:
                release.append(cl.id)
                s.skipped[SkipReason.PURCHASED.value] += 1
                bought_skips.append(
                    SkipRecord(
                        c.order_id,
                        self.rules.flow,
                        d.episode,
                        SkipReason.PURCHASED.value,
                        c.customer_id,
                        c.abandoned_at,
                    )
                )
            else:
                sendable.append((cl, order, d))
        store.release(release)
        store.record_skips(bought_skips, self.now)

        items = self.app.reader.order_items([o.raw_order_id for _, o, _ in sendable])
        for batch in _batches(sendable, self.config.settings.sweep.send_batch):
            self._send_batch(batch, items)

    def _send_batch(self, batch: list[tuple[Claimed, AbandonedOrder, object]], items: dict) -> None:
        s = self.summary
        store = self.app.store
        outcomes: list[Outcome] = []
        envelopes = []
        for cl, order, d in batch:
            order_items = items.get(order.candidate.order_id, [])
            if cl.attempts >= MAX_ATTEMPTS:
                outcomes.append(
                    Outcome(
                        cl.id,
                        DeliveryStatus.FAILED,
                        f"gave up after {cl.attempts} temporary failures",
                    )
                )
                continue
            if not order_items:
                outcomes.append(
                    Outcome(
                        cl.id,
                        DeliveryStatus.FAILED,
                        f"order {order.candidate.order_id} has no items "
                        f"({self.app.contract.path('order_items')})",
                    )
                )
                continue
            try:
                rendered, links = render_order(
                    self.config,
                    self.app.catalogue,
                    self._template_for(d.step),
                    order,
                    order_items,
                    delivery_id=cl.id,
                    flow=self.rules.flow,
                    episode=d.episode,
                    now=self.now,
                )
            except TemplateError as exc:
                outcomes.append(Outcome(cl.id, DeliveryStatus.FAILED, f"render: {exc}"))
                continue
            envelopes.append(
                email_envelope(self.config, order, rendered, links, delivery_id=cl.id, now=self.now)
            )
        if envelopes:
            if not self._channel_open:
                # Opened on the first message (a sweep with nothing due never connects), and
                # before anything is marked sending: a server that is down leaves only claims,
                # which the next sweep takes over after the lease.
                self.channel.open()
                self._channel_open = True
            store.mark_sending([e.delivery_id for e in envelopes], self.now, self.config.lease)
            by_id = {e.delivery_id: e for e in envelopes}
            results = self.channel.send(envelopes)
            for r in results:
                outcomes.append(self._outcome(r, by_id[r.delivery_id].message_id))
                if r.hard_bounce:
                    store.add_suppression(
                        "email",
                        by_id[r.delivery_id].recipient,
                        "hard_bounce",
                        self.now,
                        detail=r.detail[:500],
                    )
        store.record(outcomes, self.now)
        for o in outcomes:
            if o.status is DeliveryStatus.SENT:
                s.sent += 1
            elif o.status is DeliveryStatus.RETRY:
                s.retry_later += 1
            elif o.status is DeliveryStatus.IN_DOUBT:
                s.in_doubt_found += 1
                log.warning("delivery %d is in doubt: %s", o.delivery_id, o.detail)
            else:
                s.failed += 1
                log.warning("delivery %d failed: %s", o.delivery_id, o.detail)

    @staticmethod
    def _outcome(r: SendResult, message_id: str) -> Outcome:
        status = {
            Result.SENT: DeliveryStatus.SENT,
            Result.TEMPORARY: DeliveryStatus.RETRY,
            Result.PERMANENT: DeliveryStatus.FAILED,
            Result.IN_DOUBT: DeliveryStatus.IN_DOUBT,
        }[r.result]
        return Outcome(r.delivery_id, status, r.detail, message_id)
