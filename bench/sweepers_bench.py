"""Several sweepers dividing the work (issue 14, point 6; README, "Several sweepers").

    .venv/bin/python bench/sweepers_bench.py --url postgresql://postgres@127.0.0.1:5432/DB
    .venv/bin/python bench/sweepers_bench.py --url ... --orders 100000 --sweepers 1,2,4
    .venv/bin/python bench/sweepers_bench.py --url ... --reuse-shop     # skip loading the shop

Loads the synthetic shop of bench/sweep_bench.py into the --url database (its shop and
cartnudge tables are DROPPED first; shop and state in that one database): --orders abandoned
orders, about 100,000 of them in the window at NOW (~96 % due). Then, for each count in
--sweepers, with a fresh state: that many sweeper processes start together (a start gate) with
``sweep.buckets`` = --buckets and sweep at NOW into a null sink, as hosts sharing one state.

Printed per count: the reminders sent in total and per sweeper, the wall time from the gate to
the last exit and the throughput (sent / that wall time), the total CPU seconds of the sweeper
processes (``os.wait4`` rusage: user + system of each whole process, start-up included) and of
the sweeps alone (each process's getrusage around Sweep.run()), the CPU of the PostgreSQL
backends that served them (/proc/<pid>/stat of each backend, when readable), the shop queries
and rows each sweeper read, and the check that no delivery was sent twice (one sent row per
order/flow/step/episode/channel, and as many as with one sweeper). Then the ratio of total CPU
at 2 and 4 sweepers to 1 sweeper (the target: at most 1.2). On a shared machine the wall times
say little; the CPU seconds are the figure.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sweep_bench as sb  # noqa: E402  (the shop builder and the null sink)

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` (another user's too), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def write_config(path: Path, args: argparse.Namespace, outbox: Path) -> None:
    sb.write_config(path, args.chunk_size, args.send_batch, outbox, buckets=args.buckets)


# --- one sweeper, in a child process -------------------------------------------------------------


def child(args: argparse.Namespace) -> None:
    """Build the app, wait at the gate, sweep at NOW into the null sink, print one JSON line."""
    import logging

    from cartnudge.app import App
    from cartnudge.config import load_config
    from cartnudge.sweep import Sweep

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    app = App(load_config(args.child_config))
    backends: list[int] = []
    for engine in (app.shop_engine, app.state_engine):
        if engine.dialect.name == "postgresql":

            @event.listens_for(engine, "connect")
            def _pid(dbapi_conn: Any, _record: Any) -> None:
                with dbapi_conn.cursor() as cur:
                    cur.execute("SELECT pg_backend_pid()")
                    backends.append(cur.fetchone()[0])
                dbapi_conn.commit()

    reads = sb.ShopReads()
    reads.install(app)
    app.deliveries.ensure_ready()
    gate = Path(args.child_gate)
    (gate / f"{os.getpid()}.ready").touch()
    while not (gate / "go").exists():
        time.sleep(0.005)
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    summary = Sweep(app, sb.NullChannel(), now=sb.NOW).run()
    wall = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    server = [_proc_cpu(pid) for pid in backends]
    app.dispose()
    print(
        json.dumps(
            {
                "candidates": summary.candidates,
                "due": summary.due,
                "sent": summary.sent,
                "claimed_elsewhere": summary.claimed_elsewhere,
                "buckets": dict(summary.buckets),
                "sweep_wall_s": wall,
                "sweep_cpu_s": ru1.ru_utime - ru0.ru_utime + ru1.ru_stime - ru0.ru_stime,
                "server_cpu_s": None if None in server else sum(server),  # type: ignore[arg-type]
                "backends": len(backends),
                "shop_reads": reads.report(),
            }
        ),
        flush=True,
    )


# --- the driver ----------------------------------------------------------------------------------


def run_round(args: argparse.Namespace, url: str, k: int, work: Path) -> dict[str, Any]:
    """A fresh state, then ``k`` sweepers at once; their figures and the double-send check."""
    sb.reset_state(url)
    config = work / "config.yaml"
    write_config(config, args, work / "outbox")
    gate = Path(tempfile.mkdtemp(prefix="gate-", dir=work))
    env = {**os.environ, sb.SHOP_URL_ENV: url}
    procs = []
    for i in range(k):
        err = (work / f"sweeper-{k}-{i}.err").open("w")
        cmd = [sys.executable, __file__, "--child-config", str(config), "--child-gate", str(gate)]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True, env=env))
        err.close()
    while len(list(gate.glob("*.ready"))) < k:
        if any(p.poll() is not None for p in procs):
            raise SystemExit(f"a sweeper exited before the gate: see {work}/sweeper-{k}-*.err")
        time.sleep(0.01)
    load = Path("/proc/loadavg").read_text().strip()
    t0 = time.perf_counter()
    (gate / "go").touch()
    sweepers = []
    process_cpu = 0.0
    for i, proc in enumerate(procs):
        _pid, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out = proc.stdout.read() if proc.stdout else ""
        if proc.stdout:
            proc.stdout.close()
        if proc.returncode != 0:
            sys.stderr.write((work / f"sweeper-{k}-{i}.err").read_text()[-3000:])
            raise SystemExit(f"sweeper {i} of {k} failed (exit {proc.returncode})")
        process_cpu += usage.ru_utime + usage.ru_stime
        sweepers.append(json.loads(out.strip().splitlines()[-1]))
    wall = time.perf_counter() - t0
    load_after = Path("/proc/loadavg").read_text().strip()
    engine = sb.build_engine(url)
    try:
        with engine.connect() as conn:
            twice = conn.execute(
                text(
                    "SELECT COUNT(*) FROM (SELECT order_id FROM cartnudge_deliveries "
                    "WHERE status = 'sent' GROUP BY order_id, flow, step, episode, channel "
                    "HAVING COUNT(*) > 1) d"
                )
            ).scalar()
            sent_rows = conn.execute(
                text("SELECT COUNT(*) FROM cartnudge_deliveries WHERE status = 'sent'")
            ).scalar()
    finally:
        engine.dispose()
    sent = sum(s["sent"] for s in sweepers)
    server = [s["server_cpu_s"] for s in sweepers]
    return {
        "sweepers": k,
        "sent": sent,
        "sent_rows": sent_rows,
        "sent_twice": twice,
        "wall_s": wall,
        "throughput": sent / wall if wall else 0.0,
        "process_cpu_s": process_cpu,
        "sweep_cpu_s": sum(s["sweep_cpu_s"] for s in sweepers),
        "server_cpu_s": None if None in server else sum(server),
        "per_sweeper": sweepers,
        "load_before": load,
        "load_after": load_after,
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--url", help="the PostgreSQL (or MariaDB) database (its shop tables DROPPED)")
    p.add_argument("--orders", type=int, default=1_000_000, help="abandoned orders (1000000)")
    p.add_argument("--sweepers", default="1,2,4", help="sweeper counts to run (1,2,4)")
    p.add_argument("--buckets", type=int, default=16, help="sweep.buckets (16)")
    p.add_argument("--chunk-size", type=int, default=500, help="sweep.chunk_size (500)")
    p.add_argument("--send-batch", type=int, default=20, help="sweep.send_batch (20)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--reuse-shop", action="store_true", help="keep the shop already loaded")
    p.add_argument("--json", help="also write every figure to this JSON file")
    p.add_argument("--child-config", help=argparse.SUPPRESS)
    p.add_argument("--child-gate", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child_config:
        child(args)
        return
    if not args.url:
        p.error("--url is required (a PostgreSQL database the bench may fill)")
    counts = [int(c) for c in args.sweepers.split(",") if c.strip()]
    fraction = min(1.0, 100_000 / args.orders)
    shown = make_url(args.url).render_as_string(hide_password=True)
    print(
        f"cartnudge sweepers bench: {args.orders:,} orders, ~{round(args.orders * fraction):,} "
        f"in the window, buckets {args.buckets}, chunk {args.chunk_size}, sweepers {counts}, "
        f"{os.cpu_count()} CPUs; {shown}",
        flush=True,
    )
    if not args.reuse_shop:
        t0 = time.perf_counter()
        args.due_fraction = fraction
        info = sb.build_in_child(args, args.url, fraction, args.orders)
        print(f"shop loaded in {time.perf_counter() - t0:.0f} s: {json.dumps(info)}", flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="cartnudge-sweepers-") as tmp:
        for k in counts:
            r = run_round(args, args.url, k, Path(tmp))
            results.append(r)
            print(
                f"\n{k} sweeper(s): sent {r['sent']:,} ({r['sent_rows']:,} sent rows, "
                f"{r['sent_twice']} sent twice) in {r['wall_s']:.1f} s wall = "
                f"{r['throughput']:,.0f}/s; CPU s: processes {r['process_cpu_s']:.1f}, "
                f"sweeps {r['sweep_cpu_s']:.1f}, PostgreSQL backends "
                + (f"{r['server_cpu_s']:.1f}" if r["server_cpu_s"] is not None else "n/a")
                + f"; load {r['load_before']} -> {r['load_after']}",
                flush=True,
            )
            for i, s in enumerate(r["per_sweeper"]):
                reads = s["shop_reads"]
                print(
                    f"  sweeper {i}: buckets {s['buckets']}, {s['candidates']:,} candidates, "
                    f"{s['sent']:,} sent, {s['claimed_elsewhere']} claimed elsewhere, "
                    f"CPU {s['sweep_cpu_s']:.1f} s; shop {reads['queries']:,} queries / "
                    f"{reads['rows']:,} rows",
                    flush=True,
                )
    base = results[0]
    print(
        "\n| sweepers | sent | sent twice | wall s | sent/s | process CPU s | ratio to 1 "
        "| sweep CPU s | PostgreSQL CPU s | total CPU ratio (with PostgreSQL) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        ratio = r["process_cpu_s"] / base["process_cpu_s"]
        both = (
            (r["process_cpu_s"] + r["server_cpu_s"])
            / (base["process_cpu_s"] + base["server_cpu_s"])
            if r["server_cpu_s"] is not None and base["server_cpu_s"] is not None
            else float("nan")
        )
        server = f"{r['server_cpu_s']:.1f}" if r["server_cpu_s"] is not None else "n/a"
        print(
            f"| {r['sweepers']} | {r['sent']:,} | {r['sent_twice']} | {r['wall_s']:.1f} "
            f"| {r['throughput']:,.0f} | {r['process_cpu_s']:.1f} | {ratio:.2f} "
            f"| {r['sweep_cpu_s']:.1f} | {server} | {both:.2f} |"
        )
    problems = [
        f"{r['sweepers']} sweepers: {r['sent_twice']} sent twice"
        for r in results
        if r["sent_twice"]
    ] + [
        f"{r['sweepers']} sweepers sent {r['sent']:,}, one sent {base['sent']:,}"
        for r in results
        if r["sent"] != base["sent"]
    ]
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    if problems:
        raise SystemExit("; ".join(problems))
    print("\nno delivery sent twice; every count sent the same reminders")


if __name__ == "__main__":
    main()
