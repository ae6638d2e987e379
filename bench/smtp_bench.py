"""SMTP throughput and rate-limit adherence against Postfix's smtp-sink (issue 14, point 5; not
part of the test suite).

    .venv/bin/python bench/smtp_bench.py                      # 20,000 messages a run, 3 runs
    .venv/bin/python bench/smtp_bench.py --messages 5000 --repeat 1 --rate-seconds 10

Starts ``smtp-sink`` (Debian package postfix; --sink to name another path) on a free port of
127.0.0.1 for the run, stops it at the end. Every sender sends the same bytes: one
multipart/alternative reminder of about 5 kB, addressed to a different recipient each time.

Measured, each --repeat times (the best run is printed, with the spread):

    smtplib, 1 connection       plain ``smtplib.SMTP.sendmail`` in a loop: the reference
    smtplib, 4 threads          four threads, one connection each (for comparison)
    cartnudge, 1 connection     ``SmtpChannel.send`` in batches of --batch (sweep.send_batch)
    cartnudge, 4 connections    the same with ``connections=4``

Printed: messages per second of wall time, CPU seconds of this process (all threads; less
sensitive than wall time to other load on a shared machine), messages per CPU second, and the
ratios of cartnudge to smtplib on one connection (target >= 0.9) and cartnudge's rate on four
connections (target >= 5,000/s).

Then the rate limit: cartnudge on four connections with ``rate_limit.per_second = --rate`` sends
for --rate-seconds, and the bench prints the rate over the whole run and the most messages
that left in any 1-second and any 60-second window (target: within 5 % of the limit over a
minute). The load average is printed before and after.
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import smtplib
import statistics
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from benchlib import (
    HOST,
    RecordingLimiter,
    best,
    free_port,
    load,
    print_adherence,
    start_listening,
    stop,
    timed,
)

from cartnudge.channels.base import Envelope, Result
from cartnudge.channels.ratelimit import Limiter
from cartnudge.channels.smtp import SmtpChannel
from cartnudge.config import SmtpSettings
from cartnudge.core.ratelimit import RateLimit

SENDER = "shop@example.jp"


def message(i: int) -> tuple[str, bytes]:
    """(recipient, about 5 kB of RFC 5322 bytes) for message ``i``."""
    to = f"customer{i}@example.jp"
    text = ("カートに商品が残っています。" * 10 + "\n") * 4
    html = ("<p>カートに商品が残っています。</p>" * 10 + "\n") * 4

    def b64(s: str) -> str:
        return base64.encodebytes(s.encode("utf-8")).decode("ascii")

    data = (
        f"From: =?utf-8?b?44OG44K544OI?= <{SENDER}>\r\nTo: <{to}>\r\n"
        f"Subject: =?utf-8?b?44Kr44O844OI44Gu44GU56K66KqN?=\r\n"
        f"Message-ID: <cartnudge.{i}.bench@example.jp>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/alternative; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
        f"{b64(text)}\r\n"
        "--b\r\nContent-Type: text/html; charset=utf-8\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
        f"{b64(html)}\r\n--b--\r\n"
    )
    return to, data.replace("\r\n", "\n").replace("\n", "\r\n").encode("ascii")


def start_sink(path: str, port: int) -> subprocess.Popen[bytes]:
    argv = [path]
    if os.geteuid() == 0:
        argv += ["-u", "nobody"]  # smtp-sink refuses to keep root privileges
    argv += ["-m", "64", f"{HOST}:{port}", "256"]
    return start_listening(argv, port, "smtp-sink")


def plain_smtplib(port: int, messages: Sequence[tuple[str, bytes]], threads: int) -> int:
    """smtplib.sendmail over ``threads`` connections (one each), messages dealt round robin."""
    counts = [0] * threads

    def worker(k: int) -> None:
        with smtplib.SMTP(HOST, port, timeout=30) as conn:
            for to, data in messages[k::threads]:
                conn.sendmail(SENDER, [to], data)
                counts[k] += 1

    workers = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(counts)


def envelopes(messages: Sequence[tuple[str, bytes]]) -> list[Envelope]:
    return [
        Envelope(i, to, SENDER, f"<cartnudge.{i}.bench@example.jp>", data)
        for i, (to, data) in enumerate(messages)
    ]


def cartnudge_send(
    port: int, batch_size: int, connections: int, items: Sequence[Envelope], limiter: Limiter | None
) -> int:
    settings = SmtpSettings(host=HOST, port=port, timeout=30)
    channel = SmtpChannel(settings, None, connections=connections, limiter=limiter)
    sent = 0
    with channel:
        for start in range(0, len(items), batch_size):
            results = channel.send(items[start : start + batch_size])
            sent += sum(1 for r in results if r.result is Result.SENT)
    return sent


def rate_run(port: int, rate: float, seconds: float, batch_size: int) -> None:
    """Four connections at ``rate`` messages a second for ``seconds``; adherence printed."""
    limiter = RecordingLimiter(RateLimit(per_second=rate))
    burst = max(1.0, rate)
    count = int(rate * seconds + burst)
    items = envelopes([message(i) for i in range(count)])
    result = timed(lambda: cartnudge_send(port, batch_size, 4, items, limiter))
    print(
        f"\nrate limit {rate:g}/s on 4 connections, {count} messages "
        f"({result['sent']:.0f} accepted) in {result['wall']:.2f} s:"
    )
    print_adherence(limiter.stamps, rate)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=20_000, help="messages per run")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each sender")
    parser.add_argument("--batch", type=int, default=20, help="cartnudge's send batch")
    parser.add_argument("--rate", type=float, default=500.0, help="rate limit, messages/s")
    parser.add_argument("--rate-seconds", type=float, default=60.0, help="0 skips it")
    parser.add_argument("--sink", default=shutil.which("smtp-sink") or "/usr/sbin/smtp-sink")
    args = parser.parse_args(argv)
    if not Path(args.sink).exists():
        raise SystemExit(f"{args.sink}: not found (Debian: apt-get install postfix)")

    import cartnudge

    print(f"cartnudge from {Path(cartnudge.__file__).parent}; python {sys.version.split()[0]}")
    print(f"{os.cpu_count()} CPUs; load before: {load()}")
    port = free_port()
    sink = start_sink(args.sink, port)
    try:
        messages = [message(i) for i in range(args.messages)]
        items = envelopes(messages)
        size = statistics.mean(len(d) for _, d in messages)
        print(f"smtp-sink on {HOST}:{port}; {args.messages} messages of {size:.0f} bytes a run")
        senders: list[tuple[str, Callable[[], int]]] = [
            ("smtplib, 1 connection", lambda: plain_smtplib(port, messages, 1)),
            ("smtplib, 4 threads", lambda: plain_smtplib(port, messages, 4)),
            (
                "cartnudge, 1 connection",
                lambda: cartnudge_send(port, args.batch, 1, items, None),
            ),
            (
                "cartnudge, 4 connections",
                lambda: cartnudge_send(port, args.batch, 4, items, None),
            ),
        ]
        runs: dict[str, list[dict[str, float]]] = {name: [] for name, _ in senders}
        for _ in range(args.repeat):  # interleaved, so that a burst of load hits all alike
            for name, fn in senders:
                runs[name].append(timed(fn))
        results = {name: best(r) for name, r in runs.items()}
        print(f"\nbest of {args.repeat} (median and worst msgs/s in brackets)")
        print(f"{'sender':<26} {'msgs/s':>8} {'(med, worst)':>16} {'CPU s':>7} {'msgs/CPU s':>10}")
        for name, r in results.items():
            spread = f"({r['rate_med']:.0f}, {r['rate_min']:.0f})"
            print(f"{name:<26} {r['rate']:8.0f} {spread:>16} {r['cpu']:7.2f} {r['per_cpu']:10.0f}")
        base, one, four = (
            results["smtplib, 1 connection"],
            results["cartnudge, 1 connection"],
            results["cartnudge, 4 connections"],
        )
        print("\nratios:")
        print(
            "  cartnudge 1 connection / smtplib 1 connection: "
            f"wall {one['rate'] / base['rate']:.2f}"
            f" (median {one['rate_med'] / base['rate_med']:.2f}), per CPU second "
            f"{one['per_cpu'] / base['per_cpu']:.2f}   target >= 0.9"
        )
        print(
            f"  cartnudge 4 connections: {four['rate']:.0f} msgs/s (median {four['rate_med']:.0f})"
            f"   target >= 5,000; {four['rate'] / one['rate']:.2f} × its 1 connection"
        )
        if args.rate_seconds > 0:
            rate_run(port, args.rate, args.rate_seconds, args.batch)
    finally:
        stop(sink)
    print(f"\nload after: {load()}")


if __name__ == "__main__":
    main()
