"""Start-up time of the ``cartnudge`` command (issue 14, point 2; not part of the test suite).

    .venv/bin/python bench/startup_bench.py              # 15 runs of each command
    .venv/bin/python bench/startup_bench.py --runs 31

Each command runs as cron runs it: a fresh process of the installed ``cartnudge`` script next
to this Python (``python -m cartnudge`` when there is none). Measured per run: wall time, the
child's CPU time (user + system, from ``os.wait4``: much less sensitive than wall time to the
other load on a shared machine) and its peak RSS. Printed: median and minimum of each, the
target, and the ratio to a bare ``python -c pass`` (the interpreter's own start).

The commands:

    --version                   cartnudge --version
    --help                      cartnudge --help
    sweep, nothing new          a sweep right after another one, on a small demo shop (the
                                carts in its window are read and all already decided)
    sweep, nothing in window    a sweep replayed 60 days before the shop's carts (--now)

The small shop is ``cartnudge demo --days 0 --customers 300`` in a temporary directory,
removed at the end. Then ``python -X importtime`` shows which packages each command imports
(the heavy ones: sqlalchemy, pydantic, jinja2, rich, httpx, alembic, ...).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

TARGETS = {"--version": 0.25, "--help": 0.25, "sweep": 0.5}
HEAVY = ("sqlalchemy", "pydantic", "jinja2", "rich", "httpx", "alembic", "cryptography", "yaml")


def cartnudge_argv() -> list[str]:
    """The ``cartnudge`` console script beside this interpreter, else ``python -m cartnudge``."""
    script = Path(sys.executable).parent / "cartnudge"
    return [str(script)] if script.exists() else [sys.executable, "-m", "cartnudge"]


def run_once(argv: Sequence[str], cwd: Path) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MiB) of one run of ``argv``; raises if it exits non-zero."""
    started = time.perf_counter()
    child = subprocess.Popen(
        argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_env()
    )
    _pid, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    err = child.stderr.read().decode() if child.stderr else ""
    if child.stderr:
        child.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{' '.join(argv)} exited {code}: {err.strip()[:500]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    env["NO_COLOR"] = "1"
    return env


def measure(argv: Sequence[str], cwd: Path, runs: int) -> dict[str, float]:
    """Medians and minima over ``runs`` runs, after one warm-up run (disk cache, .pyc)."""
    run_once(argv, cwd)
    samples = [run_once(argv, cwd) for _ in range(runs)]
    walls, cpus, rss = zip(*samples, strict=True)
    return {
        "wall_med": statistics.median(walls),
        "wall_min": min(walls),
        "cpu_med": statistics.median(cpus),
        "cpu_min": min(cpus),
        "rss_med": statistics.median(rss),
    }


def heavy_imports(argv: Sequence[str], cwd: Path) -> list[str]:
    """Which of :data:`HEAVY` the command imports (``python -X importtime``)."""
    if argv[0] == sys.executable:
        cmd = [sys.executable, "-X", "importtime", *argv[1:]]
    else:
        cmd = [sys.executable, "-X", "importtime", "-m", "cartnudge", *argv[1:]]
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=_env())
    found = set()
    for line in done.stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+\d+ \|\s*([\w.]+)", line)
        if m and m.group(1).split(".")[0] in HEAVY:
            found.add(m.group(1).split(".")[0])
    return sorted(found)


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="runs per command (default 15)")
    parser.add_argument("--customers", type=int, default=300, help="demo shop size")
    args = parser.parse_args(argv)

    import cartnudge

    base = cartnudge_argv()
    print(f"cartnudge from {Path(cartnudge.__file__).parent}; running {' '.join(base)}")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load before: {load()}")
    work = Path(tempfile.mkdtemp(prefix="cartnudge-startup-"))
    try:
        made = subprocess.run(
            [*base, "demo", "--dir", str(work / "demo"), "--days", "0"]
            + ["--customers", str(args.customers)],
            capture_output=True,
            text=True,
            env=_env(),
        )
        if made.returncode != 0:
            raise SystemExit(f"cartnudge demo failed: {made.stderr.strip()[:500]}")
        config = str(work / "demo" / "config.yaml")
        past = (datetime.now(UTC) - timedelta(days=60)).strftime("%Y-%m-%dT%H:%M")
        commands = [
            ("python -c pass", [sys.executable, "-c", "pass"], None),
            ("--version", [*base, "--version"], "--version"),
            ("--help", [*base, "--help"], "--help"),
            ("sweep, nothing new", [*base, "--config", config, "sweep", "--quiet"], "sweep"),
            (
                "sweep, nothing in window",
                [*base, "--config", config, "sweep", "--quiet", "--now", past],
                "sweep",
            ),
        ]
        rows = []
        for name, cmd, target in commands:
            rows.append((name, measure(cmd, work, args.runs), target, cmd))
        bare = rows[0][1]
        print(f"\n{args.runs} runs each (after one warm-up); wall and CPU in seconds")
        print(
            f"{'command':<26} {'wall med':>8} {'wall min':>8} {'CPU med':>8} {'CPU min':>8} "
            f"{'RSS MiB':>7} {'target':>6}  {'CPU - bare python':>17}  met"
        )
        for name, r, target, _cmd in rows:
            limit = TARGETS.get(target or "")
            met = "" if limit is None else ("yes" if r["wall_med"] <= limit else "NO")
            print(
                f"{name:<26} {r['wall_med']:8.3f} {r['wall_min']:8.3f} {r['cpu_med']:8.3f} "
                f"{r['cpu_min']:8.3f} {r['rss_med']:7.1f} {limit or '':>6}  "
                f"{r['cpu_med'] - bare['cpu_med']:17.3f}  {met}"
            )
        print("\nheavy packages imported:")
        for name, _r, _target, cmd in rows[1:]:
            print(f"  {name:<26} {', '.join(heavy_imports(cmd, work)) or '(none)'}")
        print(f"\nload after: {load()}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
