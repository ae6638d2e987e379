"""SMS and push throughput with 1 and N requests in flight, and rate-limit adherence, against a
local HTTP server (issue 14, point 5; not part of the test suite).

    .venv/bin/python bench/http_bench.py                         # 400 messages a run, 3 runs
    .venv/bin/python bench/http_bench.py --latency 0 --messages 2000 --rate-seconds 0

Starts an HTTP/1.1 keep-alive server (``http.server.ThreadingHTTPServer``, one thread per
connection) in a process of its own on a free port of 127.0.0.1, which answers every POST
``200 {"id": ...}`` after ``--latency`` milliseconds: a gateway's or FCM's own time to answer,
which is what concurrent requests hide. Measured, each --repeat times (the best run printed,
with the median and the worst):

    sms webhook, concurrency C     ``SmsChannel.send`` in batches of --batch, sms.concurrency C
    push webhook, concurrency C    ``PushChannel.send`` likewise, push.concurrency C

for each C of --concurrency (default 1, 4, 16). Printed: messages per second of wall time, CPU
seconds of this process, and each rate as a multiple of concurrency 1.

Then the rate limit: SMS with ``sms.rate_limit.per_second = --rate`` and the largest
concurrency sends for --rate-seconds; printed are the rate after the first second's burst and
the most messages that left in any 1-second and any 60-second window (target: within 5 % of the
limit over a minute). The load average is printed before and after. HTTP/2 is not measured
here: the local server speaks HTTP/1.1 only.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import benchlib
from benchlib import HOST

from cartnudge.channels.base import Channel, Envelope, Result
from cartnudge.channels.push import PushChannel, PushSettings, push_payload
from cartnudge.channels.ratelimit import Limiter
from cartnudge.channels.sms import SmsChannel, SmsSettings
from cartnudge.core.ratelimit import RateLimit


def serve(port: int, latency: float) -> None:
    """The server (run in its own process by ``--serve``): 200 after ``latency`` seconds."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if latency:
                time.sleep(latency)
            body = b'{"id": "bench"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer((HOST, port), Handler)
    server.daemon_threads = True
    server.request_queue_size = 128
    server.serve_forever()


def start_server(port: int, latency: float) -> subprocess.Popen[bytes]:
    argv = [sys.executable, __file__, "--serve", str(port), "--latency", str(latency * 1000)]
    return benchlib.start_listening(argv, port, "the HTTP server")


def sms_envelopes(n: int) -> list[Envelope]:
    text = (
        "カートに商品が残っています。テスト商店 https://shop.example.jp/r/abc\n配信停止:x"
    ).encode()
    return [Envelope(i, f"+8190{i:08d}", "", f"sms-{i}", text) for i in range(n)]


def push_envelopes(n: int) -> list[Envelope]:
    data = push_payload(
        "カートに商品が残っています", "スニーカー 1 点", "https://shop.example.jp/c"
    )
    return [Envelope(i, f"device-{i:08d}", "", f"push-{i}", data) for i in range(n)]


def sms_channel(port: int, concurrency: int, limiter: Limiter | None = None) -> Channel:
    settings = SmsSettings(
        enabled=True,
        url=f"http://{HOST}:{port}/sms",
        sender="SHOP",
        timeout=30,
        concurrency=concurrency,
    )
    return SmsChannel(settings, None, limiter=limiter)


def push_channel(port: int, concurrency: int, limiter: Limiter | None = None) -> Channel:
    settings = PushSettings(
        enabled=True,
        provider="webhook",
        url=f"http://{HOST}:{port}/push",
        timeout=30,
        concurrency=concurrency,
    )
    return PushChannel(settings, None, limiter=limiter)


def send_all(channel: Channel, items: Sequence[Envelope], batch_size: int) -> int:
    """Send ``items`` in batches; how many were sent (the first answer of each other kind is
    printed)."""
    sent = 0
    others: dict[Result, str] = {}
    with channel:
        for start in range(0, len(items), batch_size):
            for r in channel.send(items[start : start + batch_size]):
                if r.result is Result.SENT:
                    sent += 1
                else:
                    others.setdefault(r.result, r.detail)
    for kind, detail in others.items():
        print(f"  not sent: {kind}: {detail}")
    return sent


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=400, help="messages per run")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each sender")
    parser.add_argument("--batch", type=int, default=100, help="the sweep's send batch")
    parser.add_argument("--latency", type=float, default=20.0, help="server's ms per answer")
    parser.add_argument("--concurrency", default="1,4,16", help="comma-separated")
    parser.add_argument("--rate", type=float, default=50.0, help="rate limit, messages/s")
    parser.add_argument("--rate-seconds", type=float, default=70.0, help="0 skips it")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.latency / 1000)
        return

    import cartnudge

    levels = [int(c) for c in args.concurrency.split(",")]
    print(f"cartnudge from {Path(cartnudge.__file__).parent}; python {sys.version.split()[0]}")
    print(f"load before: {benchlib.load()}")
    port = benchlib.free_port()
    server = start_server(port, args.latency / 1000)
    try:
        print(
            f"HTTP/1.1 server on {HOST}:{port} answering after {args.latency:g} ms; "
            f"{args.messages} messages a run, batches of {args.batch}"
        )
        sms, push = sms_envelopes(args.messages), push_envelopes(args.messages)
        senders: list[tuple[str, Callable[[], int]]] = []
        for c in levels:
            senders.append(
                (
                    f"sms webhook, concurrency {c}",
                    lambda c=c: send_all(sms_channel(port, c), sms, args.batch),
                )
            )
            senders.append(
                (
                    f"push webhook, concurrency {c}",
                    lambda c=c: send_all(push_channel(port, c), push, args.batch),
                )
            )
        runs: dict[str, list[dict[str, float]]] = {name: [] for name, _ in senders}
        for _ in range(args.repeat):  # interleaved, so that a burst of load hits all alike
            for name, fn in senders:
                runs[name].append(benchlib.timed(fn))
        results = {name: benchlib.best(r) for name, r in runs.items()}
        print(f"\nbest of {args.repeat} (median and worst msgs/s in brackets)")
        print(f"{'sender':<30} {'msgs/s':>8} {'(med, worst)':>16} {'CPU s':>7} {'× conc. 1':>9}")
        for name, r in results.items():
            one = results[name.rsplit(" ", 1)[0] + f" {levels[0]}"]
            spread = f"({r['rate_med']:.0f}, {r['rate_min']:.0f})"
            ratio = r["rate"] / one["rate"]
            print(f"{name:<30} {r['rate']:8.0f} {spread:>16} {r['cpu']:7.2f} {ratio:9.2f}")
        if args.rate_seconds > 0:
            top = max(levels)
            limiter = benchlib.RecordingLimiter(RateLimit(per_second=args.rate))
            count = int(args.rate * args.rate_seconds + max(1.0, args.rate))
            result = benchlib.timed(
                lambda: send_all(sms_channel(port, top, limiter), sms_envelopes(count), args.batch)
            )
            print(
                f"\nrate limit {args.rate:g}/s, sms concurrency {top}, {count} messages "
                f"({result['sent']:.0f} accepted) in {result['wall']:.2f} s:"
            )
            benchlib.print_adherence(limiter.stamps, args.rate)
    finally:
        benchlib.stop(server)
    print(f"\nload after: {benchlib.load()}")
    print(json.dumps({name: round(r["rate"], 1) for name, r in results.items()}))


if __name__ == "__main__":
    main()
