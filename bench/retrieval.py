"""Memory retrieval benchmark: latency and recall of the minds' retrieval at scale.

Run: .venv/bin/python bench/retrieval.py [--sizes 10000,100000] [--residents 25]
     [--queries 200] [--ef 100,200] [--repeat 2]

Unless DATABASE_URL is set it runs its own embedded PostgreSQL in /tmp/town-bench-pg
(TOWN_PGDATA overrides), with the app's server settings (config/embedded_db.py), so the
development database is never filled. For each size it fills a scratch database
(`bench_minds`) with memories spread over the residents (clustered 512-d vectors, like real
embeddings: topics plus noise) by binary COPY, builds the HNSW index(es) after loading,
and measures per query (each measurement `--repeat` times, the machine is shared):

* `retrieve()` end to end (the code the minds run: nearest + newest + most important
  candidates, scored and ranked) — p50/p95 ms;
* the filtered nearest-neighbour step alone with pgvector's iterative HNSW scan, and the
  exact alternative (the resident's rows by b-tree, distances computed for all) — p50/p95;
* recall@10 of the iterative HNSW scan against exact search, for the resident's memories,
  and its latency as a ratio of the exact search's (the baseline measured in the same run);
* agreement@10 of `retrieve()` with exhaustive scoring of every memory of the resident.

Loading is fast (~1 s per 10k rows); the HNSW build dominates (~1 min per 100k on 2 cores).
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
if not os.environ.get("DATABASE_URL"):
    os.environ.setdefault("TOWN_PGDATA", "/tmp/town-bench-pg")  # not the development database

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from agents.embedding import Embedder  # noqa: E402
from agents.memory import GAME_HOUR_MS, _vector_literal, retrieve  # noqa: E402
from bench._scratch import drop_scratch_database, use_scratch_database  # noqa: E402

DB = "bench_minds"
DIMS = settings.EMBEDDING_DIMENSIONS
TOPICS = 2000
DAYS = 30
WORLD_MS_PER_HOUR = GAME_HOUR_MS / 60  # time rate 60


class Planted(Embedder):
    """Queries are keys of vectors made by the benchmark."""

    name = "bench"

    def __init__(self) -> None:
        self.vectors: dict[str, list[float]] = {}

    def embed(self, texts):
        return [self.vectors[t] for t in texts]


def unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


COPY_COLUMNS = (
    # (column, numpy big-endian type of the value, or None for text)
    ("agent_id", ">i8"),
    ("kind", None),
    ("text", None),
    ("importance", ">i2"),
    ("embedding", None),
    ("embedder", None),
    ("created_t", ">i8"),
    ("accessed_t", ">i8"),
    ("author_name", None),
    ("source", None),
    ("created", ">i8"),  # timestamptz: µs since 2000-01-01
)


def copy_block(
    owner: np.ndarray, texts: np.ndarray, importance: np.ndarray, t: np.ndarray, vecs: np.ndarray
) -> bytes:
    """Rows for binary COPY, built with numpy (no per-row Python): ~1 s per 10k rows → ~0.1 s."""
    n = len(owner)
    fields: list[tuple[str, object]] = [("nfields", ">i2")]
    values: dict[str, object] = {"nfields": len(COPY_COLUMNS)}
    texts_by_col = {
        "kind": b"observation",
        "text": texts,
        "embedder": b"bench",
        "author_name": b"",
        "source": b"bench",
    }
    ints = {"agent_id": owner, "importance": importance, "created_t": t, "accessed_t": t}
    ints["created"] = np.full(n, 820_454_400_000_000)  # 2026-01-01
    for col, kind in COPY_COLUMNS:
        if col == "embedding":  # pgvector binary: int16 dim, int16 unused, float4[dim]
            fields += [(f"{col}_len", ">i4"), ("dim", ">i2"), ("unused", ">i2")]
            fields.append((col, ">f4", (DIMS,)))
            values.update({f"{col}_len": 4 + 4 * DIMS, "dim": DIMS, "unused": 0, col: vecs})
        elif kind is None:
            value = texts_by_col[col]
            width = value.dtype.itemsize if isinstance(value, np.ndarray) else len(value)
            fields.append((f"{col}_len", ">i4"))
            if width:
                fields.append((col, f"S{width}"))
                values[col] = value
            values[f"{col}_len"] = width
        else:
            fields += [(f"{col}_len", ">i4"), (col, kind)]
            values.update({f"{col}_len": np.dtype(kind).itemsize, col: ints[col]})
    rows = np.zeros(n, dtype=np.dtype(fields))
    for name, value in values.items():
        rows[name] = value
    return rows.tobytes()


def fill(size: int, residents: int, rng: np.random.Generator) -> tuple[list[int], np.ndarray]:
    """Residents and `size` memories; returns the residents' Player ids and the topics."""
    from town.models import Player, World

    world = World.objects.create(name="Bench")
    agents = [
        Player.objects.create(world=world, pid=f"r{i}", kind="agent", name=f"R{i}", character="ada")
        for i in range(residents)
    ]
    ids = np.array([a.pk for a in agents])
    centers = unit(rng.standard_normal((TOPICS, DIMS)).astype(np.float32))
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX IF EXISTS memory_embedding_hnsw")  # built after loading
    started = time.monotonic()
    batch = 50_000
    connection.ensure_connection()
    raw = connection.connection
    columns = ", ".join(col for col, _ in COPY_COLUMNS)
    for lo in range(0, size, batch):
        n = min(batch, size - lo)
        topic = rng.integers(0, TOPICS, n)
        vecs = unit(centers[topic] + 0.6 * unit(rng.standard_normal((n, DIMS))).astype(np.float32))
        owner = ids[rng.integers(0, residents, n)]
        importance = rng.integers(1, 11, n)
        t = rng.integers(0, int(DAYS * 24 * WORLD_MS_PER_HOUR), n)
        texts = np.array(
            [f"memory {lo + i:08d} about topic {topic[i]:05d}".encode() for i in range(n)]
        )
        with (
            raw.cursor() as cur,
            cur.copy(f"COPY agents_memory ({columns}) FROM STDIN WITH (FORMAT BINARY)") as copy,
        ):
            copy.write(b"PGCOPY\n\xff\r\n\x00" + bytes(8))  # signature, flags, extension
            copy.write(copy_block(owner, texts, importance, t, vecs))
            copy.write(b"\xff\xff")
        raw.commit()
    load_s = time.monotonic() - started
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '1GB'")  # the build fits in memory
        cursor.execute(
            "CREATE INDEX memory_embedding_hnsw ON agents_memory USING hnsw "
            "(embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)"
        )
        cursor.execute("VACUUM ANALYZE agents_memory")
    print(
        f"  loaded {size} rows in {load_s:.1f} s, HNSW index built in "
        f"{time.monotonic() - started:.1f} s",
        flush=True,
    )
    return ids.tolist(), centers


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


def run(
    size: int,
    residents: int,
    queries: int,
    efs: list[int],
    seed: int,
    repeat: int,
    candidates: list[int],
) -> None:
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
    for agent, key, _ in cases[:20]:  # warm the cache
        retrieve(agent, key, now, planted, k=10, touch=False)
        nearest(agent, _vector_literal(planted.vectors[key]), 10, True, 0)
    for rep in range(1, repeat + 1):
        print(f"  -- pass {rep}/{repeat}", flush=True)
        lats = {}
        for n in candidates:
            settings.MIND_CANDIDATES = n
            lats[n] = []
            for agent, key, _ in cases:
                started = time.perf_counter()
                retrieve(agent, key, now, planted, k=10, touch=False)
                lats[n].append((time.perf_counter() - started) * 1000)
        exact_lat, exact_ids = [], []
        for agent, key, _ in cases:
            q = _vector_literal(planted.vectors[key])
            started = time.perf_counter()
            exact_ids.append(nearest(agent, q, 10, True, 0))
            exact_lat.append((time.perf_counter() - started) * 1000)
        base = pct(exact_lat, 50)
        print(
            f"  exact filtered top-10 (baseline): p50 {base:.1f} ms  "
            f"p95 {pct(exact_lat, 95):.1f} ms",
            flush=True,
        )
        for n, lat in lats.items():
            print(
                f"  retrieve() k=10, {n} candidates per signal: p50 {pct(lat, 50):.1f} ms  "
                f"p95 {pct(lat, 95):.1f} ms  (p50 {pct(lat, 50) / base:.2f}x exact)",
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
                f"p95 {pct(ann_lat, 95):.1f} ms  recall@10 {recall:.3f}  "
                f"(p50 {pct(ann_lat, 50) / base:.2f}x exact)",
                flush=True,
            )
    sample = cases[: min(50, len(cases))]
    truth = [set(exhaustive(agent, qvec, now, 10)) for agent, _, qvec in sample]
    for n in candidates:
        settings.MIND_CANDIDATES = n
        agree = 0
        for (agent, key, _), best in zip(sample, truth, strict=True):
            got = [r.memory.pk for r in retrieve(agent, key, now, planted, k=10, touch=False)]
            agree += len(set(got) & best)
        print(
            f"  retrieve() vs exhaustive scoring, {n} candidates per signal: "
            f"agreement@10 {agree / (10 * len(sample)):.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--residents", type=int, default=25)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--ef", default="100,200")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument(
        "--candidates",
        default=str(settings.MIND_CANDIDATES),
        help="MIND_CANDIDATES values to measure retrieve() with, e.g. 40,80",
    )
    args = parser.parse_args()
    print(
        f"pgvector HNSW (m=16, ef_construction=64) per partition of agents_memory, {DIMS} dims, MIND_CANDIDATES="
        f"{settings.MIND_CANDIDATES}, ef_search in retrieve()={settings.MIND_HNSW_EF_SEARCH}"
    )
    with connection.cursor() as cursor:
        cursor.execute("SHOW shared_buffers")
        print(
            f"server: {os.environ.get('TOWN_PGDATA') or 'DATABASE_URL'}, "
            f"shared_buffers {cursor.fetchone()[0]}"
        )
    for size in (int(s) for s in args.sizes.split(",")):
        efs = [int(e) for e in args.ef.split(",")]
        candidates = [int(c) for c in args.candidates.split(",")]
        run(size, args.residents, args.queries, efs, args.seed, args.repeat, candidates)
    if args.keep:
        return
    drop_scratch_database(DB)


if __name__ == "__main__":
    main()
