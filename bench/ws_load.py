"""Load benchmark: N people (spectators, walkers, talkers) against one `runtown` and against
the scale-out topology (Redis, two web, two engine, two worker processes).

For each topology, variant and N it prints delivery latency p50/p99 over every socket,
errors, sockets lost, bytes per client per second on the wire, and CPU / memory per server
process; the first row of each topology is its baseline (bench/fanout.py says what each
variant changes: `before` is the old 100 ms engine window without views).

Run: .venv/bin/python bench/ws_load.py [--clients 1000] [--seconds 30] [--only single|multi]
     [--variants before view] [--soak 300] [--generators 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.fanout import (  # noqa: E402
    BENCH_ENV,
    VARIANTS,
    bytes_by_kind,
    measure,
    print_header,
    print_row,
)
from tests.conftest import TownProcess, free_port, start_redis  # noqa: E402
from tests.netclient import make_sessions  # noqa: E402


def single(extra: dict) -> tuple[list[TownProcess], list[str]]:
    env = {**BENCH_ENV, **extra}
    town = TownProcess(Path(tempfile.mkdtemp(prefix="load-1-")), free_port(), env)
    town.start().wait_ready()
    return [town], [town.url]


def topology(redis_url: str, extra: dict) -> tuple[list[TownProcess], list[str]]:
    var = Path(tempfile.mkdtemp(prefix="load-n-"))
    env = {**BENCH_ENV, **extra, "REDIS_URL": redis_url}
    web1 = TownProcess(var, free_port(), env).start("--role", "web")
    web1.wait_ready()
    web2 = TownProcess(var, free_port(), env).start("--role", "web", "--no-migrate")
    others = [TownProcess(var, free_port(), env).start("--role", r) for r in ("engine",) * 2]
    others += [TownProcess(var, free_port(), env).start("--role", "worker") for _ in range(2)]
    web2.wait_ready()
    time.sleep(3)  # an engine takes the world's lease
    return [web1, web2, *others], [web1.url, web2.url]


def run(name: str, procs: list[TownProcess], urls: list[str], args, variant: str, base) -> dict:
    pids = [p.proc.pid for p in procs]
    seconds = args.soak or args.seconds
    print(f"\n== {name}, {variant}: {len(procs)} process(es), {seconds:.0f} s per run", flush=True)
    print_header()
    for n in args.clients:
        names = [f"load{variant}{n}-{i}" for i in range(args.players)]  # fresh people
        sessions = list(make_sessions(procs[0].env, names).values())
        views = VARIANTS[variant][1]
        window = 30 if args.soak else None
        r = asyncio.run(measure(urls, sessions, n, seconds, pids, views, window, args.generators))
        base = base or r
        print_row(r, base, variant)
        print(f"{'':>7} per process (cpu %, rss MB): {r['per_process']}")
        if len(r["generator_cpu_each"]) > 1:
            print(f"{'':>7} generator processes (cpu %): {r['generator_cpu_each']}")
        print(f"{'':>7} {bytes_by_kind(r['samples'])}")
        if args.soak and r["windows"]:
            first = r["windows"][0]["rss_mb"]
            growth = 100 * (r["server_rss_mb"] - first) / first
            print(
                f"{'':>7} soak: rss {r['rss_growth_pct']:+.1f} % over the run, {growth:+.1f} % "
                f"after the first 30 s; worst window p99 "
                f"{max(w['p99_ms'] for w in r['windows']):.0f} ms"
            )
    return base


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1000])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--players", type=int, default=40)
    parser.add_argument("--only", choices=["single", "multi"])
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=["before", "view"])
    parser.add_argument("--soak", type=float, help="one long run of this many seconds")
    parser.add_argument(
        "--generators",
        type=int,
        default=1,
        help="load-generator processes (one holds the players; the others spectators)",
    )
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()}")
    if args.only != "multi":
        base = None
        for variant in args.variants:
            procs, urls = single(VARIANTS[variant][0])
            try:
                base = run("one runtown (all roles)", procs, urls, args, variant, base)
            finally:
                for p in procs:
                    p.stop()
    if args.only != "single":
        if shutil.which("redis-server") is None:
            sys.exit(
                "redis-server is needed for the scale-out topology (apt-get install redis-server)"
            )
        base = None
        for variant in args.variants:
            redis, redis_url = start_redis(Path(tempfile.mkdtemp(prefix="load-redis-")))
            procs, urls = topology(redis_url, VARIANTS[variant][0])
            try:
                base = run(
                    "scale-out: redis + web x2 + engine x2 + worker x2",
                    procs,
                    urls,
                    args,
                    variant,
                    base,
                )
            finally:
                for p in procs:
                    p.stop()
                redis.kill()


if __name__ == "__main__":
    main()
