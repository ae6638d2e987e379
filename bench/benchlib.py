"""What the channel benchmarks share (bench/smtp_bench.py, bench/http_bench.py): timing a sender,
the best of several runs, a limiter that records when each message left, the busiest window of
those times, and the load average."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import threading
import time
from collections.abc import Callable, Sequence

from cartnudge.channels.ratelimit import Limiter

HOST = "127.0.0.1"


def free_port() -> int:
    """A port of 127.0.0.1 nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def timed(fn: Callable[[], int]) -> dict[str, float]:
    """Run ``fn`` (which returns how many messages were accepted): wall s, CPU s, count."""
    wall0, cpu0 = time.perf_counter(), time.process_time()
    sent = fn()
    return {
        "wall": time.perf_counter() - wall0,
        "cpu": time.process_time() - cpu0,
        "sent": sent,
    }


def best(runs: list[dict[str, float]]) -> dict[str, float]:
    """The fastest of ``runs`` (:func:`timed` results) with its rate, the median and the worst
    rate, and messages per CPU second."""
    rates = [r["sent"] / r["wall"] for r in runs]
    top = max(range(len(runs)), key=lambda k: rates[k])
    out = dict(runs[top])
    out["rate"] = rates[top]
    out["rate_med"] = statistics.median(rates)
    out["rate_min"] = min(rates)
    out["per_cpu"] = out["sent"] / out["cpu"] if out["cpu"] else float("inf")
    return out


def window_max(times: Sequence[float], width: float) -> int:
    """The most timestamps (sorted) in any window of ``width`` seconds."""
    most, j = 0, 0
    for i in range(len(times)):
        while times[i] - times[j] >= width:
            j += 1
        most = max(most, i - j + 1)
    return most


class RecordingLimiter(Limiter):
    """A limiter that notes when each message was let go (``stamps``, monotonic seconds)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.stamps: list[float] = []
        self._stamps_lock = threading.Lock()

    def wait(self) -> float:
        waited = super().wait()
        with self._stamps_lock:
            self.stamps.append(time.monotonic())
        return waited


def print_adherence(stamps: list[float], rate: float) -> None:
    """The rate after the first second's burst and the busiest 1 s and 60 s windows of
    ``stamps``, against the limit of ``rate`` messages a second."""
    stamps = sorted(stamps)
    burst = max(1.0, rate)
    span = stamps[-1] - stamps[0]
    steady = (len(stamps) - burst) / span if span > 0 else float("inf")
    print(
        f"  after the first second's burst ({burst:g}): {steady:.1f}/s, {steady / rate:.3f} × limit"
    )
    one = window_max(stamps, 1.0)
    print(
        f"  most in any 1 s window:  {one} ({one / rate:.3f} × limit; a burst of {burst:g} allowed)"
    )
    if span >= 60:
        sixty = window_max(stamps, 60.0)
        print(
            f"  most in any 60 s window: {sixty} ({sixty / (60 * rate):.3f} × limit; "
            "target <= 1.05)"
        )
    else:
        whole = len(stamps) / (60 * rate) * (60 / max(span, 1e-9))
        print(f"  run shorter than 60 s: whole-run rate {whole:.3f} × limit")


def load() -> str:
    """The load average (1, 5, 15 minutes)."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def start_listening(argv: list[str], port: int, what: str) -> subprocess.Popen[bytes]:
    """Start the server ``argv`` and wait (5 s at most) until it accepts connections on
    ``port`` of 127.0.0.1; :class:`SystemExit` naming ``what`` if it does not."""
    server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(100):
        try:
            with socket.create_connection((HOST, port), timeout=0.2):
                return server
        except OSError:
            if server.poll() is not None:
                err = server.stderr.read().decode() if server.stderr else ""
                raise SystemExit(f"{what} did not start: {err.strip()}") from None
            time.sleep(0.05)
    server.kill()
    raise SystemExit(f"{what} did not listen within 5 s")


def stop(server: subprocess.Popen[bytes]) -> None:
    """Stop a server :func:`start_listening` started (killed if it takes over 5 s)."""
    server.terminate()
    try:
        server.wait(timeout=5)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    if server.stderr:
        server.stderr.close()
