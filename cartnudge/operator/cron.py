"""Being a good cron citizen: healthcheck pings and a Prometheus textfile for each sweep.

Healthcheck pings follow the healthchecks.io / Cronitor convention: ``URL/start`` when the run
starts, ``URL`` on success, ``URL/<exit code>`` on failure with the run's last log lines as the
body. A ping has a short timeout and never fails the job: a monitoring outage must not stop
the reminders (it is logged at warning level instead).

The metrics file is the node_exporter textfile collector's format, rewritten atomically at the
end of every run (also a failed one) through :func:`cartnudge.files.write_file`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cartnudge.files import write_file

log = logging.getLogger("cartnudge.cron")
PING_TIMEOUT = 10.0  # seconds: a slow monitor must not hold the job
TAIL_BYTES = 10_000  # healthchecks.io keeps the first 10 kB of a ping's body


class Healthcheck:
    """Pings ``url`` (None: does nothing). Every method swallows its own errors."""

    def __init__(
        self, url: str | None, *, timeout: float = PING_TIMEOUT, client: Any = None
    ) -> None:
        self.url = url.rstrip("/") if url else None
        self.timeout = timeout
        self._client = client

    def _ping(self, suffix: str, body: str = "") -> None:
        if not self.url:
            return
        import httpx  # here: a sweep without a healthcheck URL never loads the HTTP client

        target = self.url + suffix
        try:
            if self._client is not None:
                response = self._client.post(target, content=body.encode("utf-8"))
            else:
                response = httpx.post(
                    target, content=body.encode("utf-8")[:TAIL_BYTES], timeout=self.timeout
                )
            if response.status_code >= 400:
                log.warning("healthcheck ping %s: HTTP %d", suffix or "/", response.status_code)
        except httpx.HTTPError as exc:
            log.warning("healthcheck ping %s failed: %s", suffix or "/", type(exc).__name__)

    def start(self) -> None:
        """The run has started."""
        self._ping("/start")

    def finish(self, exit_code: int, log_tail: list[str]) -> None:
        """The run ended with ``exit_code``: success (0) or failure, with the log's last lines."""
        if exit_code == 0:
            self._ping("", "\n".join(log_tail[-5:]))
        else:
            self._ping(f"/{exit_code}", "\n".join(log_tail))


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def metrics_text(
    summary: Mapping[str, Any] | None, *, exit_code: int, duration: float, finished_at: float
) -> str:
    """The textfile for one sweep: its summary's counters (``summary`` None when it failed
    before counting), its exit code, duration (seconds) and end time (Unix seconds)."""
    lines = [
        "# HELP cartnudge_sweep_exit_code Exit code of the last sweep (0 success).",
        "# TYPE cartnudge_sweep_exit_code gauge",
        f"cartnudge_sweep_exit_code {exit_code}",
        "# HELP cartnudge_sweep_duration_seconds Wall time of the last sweep.",
        "# TYPE cartnudge_sweep_duration_seconds gauge",
        f"cartnudge_sweep_duration_seconds {duration:.3f}",
        "# HELP cartnudge_sweep_last_run_timestamp_seconds When the last sweep ended.",
        "# TYPE cartnudge_sweep_last_run_timestamp_seconds gauge",
        f"cartnudge_sweep_last_run_timestamp_seconds {finished_at:.0f}",
    ]
    if summary is not None:
        for key, value in summary.items():
            if isinstance(value, bool) or not isinstance(value, int):
                continue
            name = f"cartnudge_sweep_{key}"
            lines += [
                f"# HELP {name} The last sweep's {key.replace('_', ' ')}.",
                f"# TYPE {name} gauge",
                f"{name} {value}",
            ]
        for group in ("skipped", "deferred"):
            name = f"cartnudge_sweep_{group}"
            lines += [f"# HELP {name} The last sweep's {group} reminders by reason."]
            lines += [f"# TYPE {name} gauge"]
            for reason, n in sorted(summary.get(group, {}).items()):
                lines.append(f'{name}{{reason="{_label(reason)}"}} {n}')
        name = "cartnudge_sweep_flow"
        lines += [f"# HELP {name} The last sweep's counts per flow.", f"# TYPE {name} gauge"]
        for flow, counts in sorted(summary.get("flows", {}).items()):
            for what, n in sorted(counts.items()):
                lines.append(f'{name}{{flow="{_label(flow)}",what="{_label(what)}"}} {n}')
    return "\n".join(lines) + "\n"


def write_metrics(path: Path | str, text: str) -> None:
    """Replace the textfile atomically (never through a symlink); FileWriteError otherwise."""
    write_file(path, text, what="--metrics-file")
