"""Load benchmark: N people (spectators, walkers, talkers) against one `runtown` and against
the scale-out topology (Redis, two web, two engine, two worker processes).

For each topology and N it prints delivery latency p50/p99, errors, bytes per client per
second, and CPU / memory per server process; the first N of each topology is its baseline.

Run: .venv/bin/python bench/ws_load.py [--clients 100 300 500 800] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.fanout import BENCH_ENV, measure, print_header, print_row  # noqa: E402
from tests.conftest import TownProcess, free_port, start_redis  # noqa: E402
from tests.netclient import make_sessions  # noqa: E402


def single() -> tuple[list[TownProcess], list[str]]:
    town = TownProcess(Path(tempfile.mkdtemp(prefix="load-1-")), free_port(), BENCH_ENV)
    town.start().wait_ready()
    return [town], [town.url]


def topology(redis_url: str) -> tuple[list[TownProcess], list[str]]:
    var = Path(tempfile.mkdtemp(prefix="load-n-"))
    env = {**BENCH_ENV, "REDIS_URL": redis_url}
    web1 = TownProcess(var, free_port(), env).start("--role", "web")
    web1.wait_ready()
    web2 = TownProcess(var, free_port(), env).start("--role", "web", "--no-migrate")
    others = [TownProcess(var, free_port(), env).start("--role", r) for r in ("engine",) * 2]
    others += [TownProcess(var, free_port(), env).start("--role", "worker") for _ in range(2)]
    web2.wait_ready()
    time.sleep(3)  # an engine takes the world's lease
    return [web1, web2, *others], [web1.url, web2.url]


def run(name: str, procs: list[TownProcess], urls: list[str], args) -> None:
    pids = [p.proc.pid for p in procs]
    print(f"\n== {name}: {len(procs)} process(es), {args.seconds:.0f} s per run")
    print_header()
    base = None
    for n in args.clients:
        names = [f"load{n}-{i}" for i in range(args.players)]  # fresh people every run
        sessions = list(make_sessions(procs[0].env, names).values())
        r = asyncio.run(measure(urls, sessions, n, args.seconds, pids))
        base = base or r
        print_row(r, base)
        print(f"{'':>7} per process (cpu %, rss MB): {r['per_process']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[100, 300, 500])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--players", type=int, default=40)
    parser.add_argument("--only", choices=["single", "multi"])
    args = parser.parse_args()
    if args.only != "multi":
        procs, urls = single()
        try:
            run("one runtown (all roles)", procs, urls, args)
        finally:
            for p in procs:
                p.stop()
    if args.only != "single":
        if shutil.which("redis-server") is None:
            sys.exit(
                "redis-server is needed for the scale-out topology (apt-get install redis-server)"
            )
        redis, redis_url = start_redis(Path(tempfile.mkdtemp(prefix="load-redis-")))
        procs, urls = topology(redis_url)
        try:
            run("scale-out: redis + web x2 + engine x2 + worker x2", procs, urls, args)
        finally:
            for p in procs:
                p.stop()
            redis.kill()


if __name__ == "__main__":
    main()
