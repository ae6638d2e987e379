"""Rendering a sweep's messages, in this process or in worker processes (``sweep.render_workers``).

A :class:`RenderJob` is everything one delivery's message needs once the sweep has claimed it:
the template, the order and its items, the delivery id, the channel, the recipient and the
coupon and trigger contexts. :func:`render_envelope` turns one job into the
:class:`~cartnudge.channels.base.Envelope` (template, links with their signed tokens, limits, MIME
or the channel's bytes); :func:`render_batch` does a batch, each message's template problem
becoming its one-line reason instead of an exception. The sweep calls the same function in
both modes, so a message rendered by a worker is byte for byte the one rendered in-process
(``tests/test_render_workers.py``).

:class:`RenderPool` runs :func:`render_batch` in ``workers`` forked processes while the sweep
claims, marks and records in its own: the workers only render. They never send, never open a
channel and never touch a database, so what a crash can leave behind is exactly what it was
with in-process rendering: a delivery is marked ``sending`` only after its bytes are back in the
sweep's process. Workers are forked (they inherit the loaded configuration and compiled
templates: no import or start-up cost, nothing pickled but the jobs and the envelopes) when the
first page with enough messages is rendered, before any channel is opened. Where ``fork`` is not
available the sweep renders in-process.

A worker that dies (killed, out of memory, a crash in a C extension) breaks the pool: every batch
still being rendered gets :class:`RenderFailed` from :meth:`PendingBatch.result`, never a hang,
and so does a batch not back within :data:`RENDER_TIMEOUT` seconds (the workers are then
terminated). The sweep records those deliveries as ``retry`` ("not tried": nothing was marked
sending, no attempt is charged) and renders the rest of the run in-process. A sweep that is
killed takes its workers with it: each exits within :data:`PARENT_CHECK_SECONDS` of its parent.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cartnudge.channels.base import Envelope
from cartnudge.config import Config
from cartnudge.errors import TemplateError
from cartnudge.messages.compose import (
    email_envelope,
    line_envelope,
    push_envelope,
    render_within_limits,
    sms_envelope,
)
from cartnudge.messages.templates import Catalogue
from cartnudge.shop.reader import AbandonedOrder, Item

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

# multiprocessing and concurrent.futures are imported when workers are first started: a sweep
# that renders in-process (or has nothing to render) does not pay for them at start-up.

# Seconds a batch may take in a worker before the pool is taken for stuck (a batch of 20 takes
# a few milliseconds; a template cannot loop for ever, but a worker can be stopped by a signal).
RENDER_TIMEOUT = 120.0
# A page with fewer messages than this renders in-process: forking workers for a handful of
# messages costs more than it saves (and a quiet sweep never forks).
MIN_MESSAGES_FOR_WORKERS = 100
# How often a worker checks that its sweep is still alive (seconds).
PARENT_CHECK_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class RenderJob:
    """One claimed delivery's message to render. ``order`` is the one the template sees (its
    total already that of the items left in ``items`` when out-of-stock ones were dropped);
    ``coupon`` and ``trigger`` the templates' ``coupon`` and ``trigger`` (or None);
    ``recipient`` the channel's address (unused for e-mail, which takes the order's)."""

    template_id: int
    order: AbandonedOrder
    items: Sequence[Item]
    delivery_id: int
    channel: str
    recipient: str
    coupon: Mapping[str, Any] | None = None
    trigger: Mapping[str, Any] | None = None


def render_envelope(
    config: Config, catalogue: Catalogue, now: datetime, job: RenderJob
) -> Envelope:
    """The job's message, checked against its channel's limits. Raises TemplateError or
    ValueError (OverLimit) when it cannot be made; pure apart from the templates' files."""
    rendered, links = render_within_limits(
        config,
        catalogue,
        job.template_id,
        job.order,
        job.items,
        delivery_id=job.delivery_id,
        now=now,
        channel=job.channel,
        coupon=job.coupon,
        trigger=job.trigger,
    )
    if job.channel == "sms":
        return sms_envelope(
            config, job.order, rendered, links, delivery_id=job.delivery_id, recipient=job.recipient
        )
    if job.channel == "line":
        return line_envelope(
            config, job.order, rendered, links, delivery_id=job.delivery_id, recipient=job.recipient
        )
    if job.channel == "push":
        return push_envelope(
            job.order, rendered, links, delivery_id=job.delivery_id, recipient=job.recipient
        )
    return email_envelope(config, job.order, rendered, links, delivery_id=job.delivery_id, now=now)


def render_batch(
    config: Config, catalogue: Catalogue, now: datetime, jobs: Sequence[RenderJob]
) -> list[Envelope | str]:
    """Per job, in order: its envelope, or why it could not be rendered ("render: ..." for the
    delivery row)."""
    out: list[Envelope | str] = []
    for job in jobs:
        try:
            out.append(render_envelope(config, catalogue, now, job))
        except (TemplateError, ValueError) as exc:
            out.append(f"render: {exc}")
    return out


class RenderFailed(Exception):
    """The workers could not render a batch (one died, or they stopped answering)."""


# What a worker renders with: set once when it is forked (inherited, never pickled).
_WORKER: tuple[Config, Catalogue, datetime] | None = None


def _init_worker(config: Config, catalogue: Catalogue, now: datetime, parent: int) -> None:
    global _WORKER
    _WORKER = (config, catalogue, now)
    import threading

    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()


def _exit_with(parent: int) -> None:
    """End this worker once the sweep that forked it is gone (killed, or died): an idle worker
    waits on a pipe it holds both ends of, and would otherwise outlive it for ever."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(0)


def _render_in_worker(jobs: Sequence[RenderJob]) -> list[Envelope | str]:
    assert _WORKER is not None, "not a render worker"
    return render_batch(*_WORKER, jobs)


def fork_available() -> bool:
    """Whether worker processes can be forked here (Linux, the BSDs and macOS can)."""
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()


class PendingBatch:
    """A batch handed to the workers; :meth:`result` waits for it."""

    def __init__(self, pool: RenderPool, future: Future) -> None:
        self._pool = pool
        self._future = future

    def result(self) -> list[Envelope | str]:
        """The batch's envelopes or reasons; raises RenderFailed when the workers failed (at
        once when they had already failed for an earlier batch)."""
        from concurrent.futures import CancelledError
        from concurrent.futures import TimeoutError as FutureTimeout
        from concurrent.futures.process import BrokenProcessPool

        if self._pool.broken is None:
            try:
                return self._future.result(timeout=RENDER_TIMEOUT)
            except (BrokenProcessPool, CancelledError) as exc:
                self._pool.broken = f"a render worker died ({exc or 'killed'})"
            except FutureTimeout:
                self._pool.broken = f"a render worker gave no answer in {RENDER_TIMEOUT:.0f} s"
                self._pool.terminate()
        raise RenderFailed(self._pool.broken)


class RenderPool:
    """``workers`` forked processes rendering batches for one sweep (``now`` is the sweep's
    time, the messages' Date). Started on the first :meth:`submit`; :meth:`close` ends it.
    ``broken`` says why it stopped working (None while it works)."""

    def __init__(self, config: Config, catalogue: Catalogue, now: datetime, workers: int) -> None:
        self.config = config
        self.catalogue = catalogue
        self.now = now
        self.workers = workers
        self.broken: str | None = None
        self._executor: ProcessPoolExecutor | None = None

    def submit(self, jobs: Sequence[RenderJob]) -> PendingBatch:
        """Hand ``jobs`` to a worker (forking the workers the first time)."""
        import multiprocessing
        from concurrent.futures import Future, ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool

        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("fork"),
                initializer=_init_worker,
                initargs=(self.config, self.catalogue, self.now, os.getpid()),
            )
        try:
            future = self._executor.submit(_render_in_worker, list(jobs))
        except BrokenProcessPool as exc:
            future = Future()
            future.set_exception(exc)
        return PendingBatch(self, future)

    def terminate(self) -> None:
        """Stop the workers now (a stuck one would otherwise keep the sweep from exiting)."""
        executor = self._executor
        if executor is None:
            return
        for process in list((getattr(executor, "_processes", None) or {}).values()):
            if process.pid != os.getpid() and process.is_alive():
                process.terminate()
        executor.shutdown(wait=True, cancel_futures=True)
        self._executor = None

    def close(self) -> None:
        """Wait for the workers to exit (they have nothing left to do)."""
        if self._executor is not None:
            if self.broken:
                self.terminate()
            else:
                self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
