"""Memory retrieval benchmark: latency and recall of the minds' retrieval at scale.

Run: .venv/bin/python bench/retrieval.py [--sizes 10000,100000] [--residents 25]
     [--queries 200] [--ef 40,100]

For each size it fills a scratch database on the embedded PostgreSQL (`bench_minds`) with
memories spread over the residents (clustered 512-d vectors, like real embeddings: topics
plus noise), builds the HNSW index, and measures per query:

* `retrieve()` end to end (the code the minds run: nearest + newest + most important
  candidates, scored and ranked) — p50/p95 ms;
* the filtered nearest-neighbour step alone with pgvector's iterative HNSW scan, and the
  exact alternative (the resident's rows by b-tree, distances computed for all) — p50/p95;
* recall@10 of the iterative HNSW scan against exact search, for the resident's memories;
* agreement@10 of `retrieve()` with exhaustive scoring of every memory of the resident.

1M rows take a long time to load and index on 2 cores; pass the sizes that fit.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, connections, transaction  # noqa: E402

from agents.embedding import Embedder  # noqa: E402
from agents.memory import GAME_HOUR_MS, _vector_literal, retrieve  # noqa: E402

DB = "bench_minds"
DIMS = settings.EMBEDDING_DIMENSIONS
TOPICS = 2000
DAYS = 30
WORLD_MS_PER_HOUR = GAME_HOUR_MS / 60  # time rate 60
MAINTENANCE_DB = settings.DATABASES["default"]["NAME"]


def use_scratch_database(name: str) -> None:
    """Point Django at a fresh scratch database on the same server, migrated."""
    connections.close_all()
    settings.DATABASES["default"]["NAME"] = MAINTENANCE_DB
    connections["default"].settings_dict["NAME"] = MAINTENANCE_DB
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone():
            cursor.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    connections.close_all()
    settings.DATABASES["default"]["NAME"] = name
    connections["default"].settings_dict["NAME"] = name
    call_command("migrate", verbosity=0)


class Planted(Embedder):
    """Queries are keys of vectors made by the benchmark."""

    name = "bench"

    def __init__(self) -> None:
        self.vectors: dict[str, list[float]] = {}

    def embed(self, texts):
        return [self.vectors[t] for t in texts]


def unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def fill(size: int, residents: int, rng: np.random.Generator) -> list[int]:
    """Residents and `size` memories; returns the residents' Player ids."""
    from town.models import Player, World

    world = World.objects.create(name="Bench")
    agents = [
        Player.objects.create(world=world, pid=f"r{i}", kind="agent", name=f"R{i}", character="ada")
        for i in range(residents)
    ]
    ids = [a.pk for a in agents]
    centers = unit(rng.standard_normal((TOPICS, DIMS)).astype(np.float32))
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX IF EXISTS memory_embedding_hnsw")
    started = time.monotonic()
    batch = 20_000
    raw = connection.connection if connection.connection else None
    connection.ensure_connection()
    raw = connection.connection
    for lo in range(0, size, batch):
        n = min(batch, size - lo)
        topic = rng.integers(0, TOPICS, n)
        vecs = unit(centers[topic] + 0.6 * unit(rng.standard_normal((n, DIMS))).astype(np.float32))
        owner = rng.integers(0, residents, n)
        importance = rng.integers(1, 11, n)
        t = rng.integers(0, int(DAYS * 24 * WORLD_MS_PER_HOUR), n)
        with (
            raw.cursor() as cur,
            cur.copy(
                "COPY agents_memory (agent_id, kind, text, importance, embedding, embedder,"
                " created_t, accessed_t, author_name, source, created) FROM STDIN"
            ) as copy,
        ):
            for i in range(n):
                copy.write_row(
                    (
                        ids[owner[i]],
                        "observation",
                        f"memory {lo + i} about topic {topic[i]}",
                        int(importance[i]),
                        _vector_literal(vecs[i].tolist()),
                        "bench",
                        int(t[i]),
                        int(t[i]),
                        "",
                        "bench",
                        "2026-01-01T00:00:00Z",
                    )
                )
        raw.commit()
    load_s = time.monotonic() - started
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '512MB'")
        cursor.execute("SET max_parallel_maintenance_workers = 1")
        cursor.execute(
            "CREATE INDEX memory_embedding_hnsw ON agents_memory USING hnsw "
            "(embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)"
        )
        cursor.execute("ANALYZE agents_memory")
    raw.commit() if not raw.autocommit else None
    print(
        f"  loaded {size} rows in {load_s:.1f} s, HNSW index built in "
        f"{time.monotonic() - started:.1f} s",
        flush=True,
    )
    return ids, centers


def nearest(agent: int, q: str, n: int, exact: bool, ef: int) -> list[int]:
    with transaction.atomic(), connection.cursor() as cursor:
        if exact:
            cursor.execute("SET LOCAL enable_indexscan = off")
        else:
            cursor.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
            cursor.execute(f"SET LOCAL hnsw.ef_search = {int(ef)}")
        cursor.execute(
            "SELECT id FROM (SELECT id, embedding <=> %s::vector AS d FROM agents_memory "
            "WHERE agent_id = %s AND embedder = 'bench' ORDER BY embedding <=> %s::vector "
            "LIMIT %s) s ORDER BY d",
            [q, agent, q, n],
        )
        return [r[0] for r in cursor.fetchall()]


def exhaustive(agent: int, qvec: np.ndarray, now: int, k: int) -> list[int]:
    """Score every memory of the resident exactly as retrieve() does; the top k ids."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, importance, accessed_t, embedding <=> %s::vector FROM agents_memory "
            "WHERE agent_id = %s",
            [_vector_literal(qvec.tolist()), agent],
        )
        rows = cursor.fetchall()
    ids = np.array([r[0] for r in rows])
    imp = np.array([r[1] for r in rows], dtype=float)
    hours = np.maximum(0, (now - np.array([r[2] for r in rows])) / WORLD_MS_PER_HOUR)
    rec = settings.MIND_RECENCY_DECAY**hours
    rel = 1 - np.array([r[3] for r in rows], dtype=float)

    def mm(v):
        return (v - v.min()) / (v.max() - v.min()) if v.max() > v.min() else np.full_like(v, 0.5)

    score = (
        settings.MIND_WEIGHT_RECENCY * mm(rec)
        + settings.MIND_WEIGHT_IMPORTANCE * mm(imp)
        + settings.MIND_WEIGHT_RELEVANCE * mm(rel)
    )
    return ids[np.argsort(-score, kind="stable")[:k]].tolist()


def pct(values: list[float], p: float) -> float:
    return float(np.percentile(values, p))


def run(size: int, residents: int, queries: int, efs: list[int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    print(f"\n== {size} memories, {residents} residents", flush=True)
    use_scratch_database(DB)
    ids, centers = fill(size, residents, rng)
    planted = Planted()
    now = int(DAYS * 24 * WORLD_MS_PER_HOUR)
    cases = []
    for n in range(queries):
        topic = rng.integers(0, TOPICS)
        qvec = unit((centers[topic] + 0.6 * unit(rng.standard_normal((1, DIMS)))[0])[None, :])[0]
        key = f"q{n}"
        planted.vectors[key] = qvec.tolist()
        cases.append((ids[rng.integers(0, residents)], key, qvec))
    for agent, key, _ in cases[:10]:  # warm the cache
        retrieve(agent, key, now, planted, k=10, touch=False)
    lat = []
    for agent, key, _ in cases:
        started = time.perf_counter()
        retrieve(agent, key, now, planted, k=10, touch=False)
        lat.append((time.perf_counter() - started) * 1000)
    print(f"  retrieve() k=10: p50 {pct(lat, 50):.1f} ms  p95 {pct(lat, 95):.1f} ms", flush=True)
    exact_lat, exact_ids = [], []
    for agent, key, _ in cases:
        q = _vector_literal(planted.vectors[key])
        started = time.perf_counter()
        exact_ids.append(nearest(agent, q, 10, True, 0))
        exact_lat.append((time.perf_counter() - started) * 1000)
    print(
        f"  exact filtered top-10:  p50 {pct(exact_lat, 50):.1f} ms  "
        f"p95 {pct(exact_lat, 95):.1f} ms",
        flush=True,
    )
    for ef in efs:
        ann_lat, hits = [], 0
        for (agent, key, _), truth in zip(cases, exact_ids, strict=True):
            q = _vector_literal(planted.vectors[key])
            started = time.perf_counter()
            found = nearest(agent, q, 10, False, ef)
            ann_lat.append((time.perf_counter() - started) * 1000)
            hits += len(set(found) & set(truth))
        recall = hits / (10 * len(cases))
        print(
            f"  HNSW iterative ef={ef}: p50 {pct(ann_lat, 50):.1f} ms  "
            f"p95 {pct(ann_lat, 95):.1f} ms  recall@10 {recall:.3f}",
            flush=True,
        )
    agree = 0
    sample = cases[: min(50, len(cases))]
    for agent, key, qvec in sample:
        got = [r.memory.pk for r in retrieve(agent, key, now, planted, k=10, touch=False)]
        agree += len(set(got) & set(exhaustive(agent, qvec, now, 10)))
    print(f"  retrieve() vs exhaustive scoring: agreement@10 {agree / (10 * len(sample)):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--residents", type=int, default=25)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--ef", default="40,100")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()
    print(
        f"pgvector HNSW (m=16, ef_construction=64), {DIMS} dims, MIND_CANDIDATES="
        f"{settings.MIND_CANDIDATES}, ef_search in retrieve()={settings.MIND_HNSW_EF_SEARCH}"
    )
    for size in (int(s) for s in args.sizes.split(",")):
        run(size, args.residents, args.queries, [int(e) for e in args.ef.split(",")], args.seed)
    if args.keep:
        return
    connections.close_all()
    settings.DATABASES["default"]["NAME"] = MAINTENANCE_DB
    connections["default"].settings_dict["NAME"] = MAINTENANCE_DB
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')


if __name__ == "__main__":
    main()
