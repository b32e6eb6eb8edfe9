"""The memory stream: writing memories (embedded once) and retrieving them as the paper does.

Retrieval scores each candidate by recency (exponential decay per game hour since it was last
retrieved), importance and relevance (cosine), min–max normalises each over the candidates,
and weights them (settings MIND_WEIGHT_*). Candidates are the union of the nearest memories
(HNSW with pgvector's iterative scan, filtered to the resident), the most recently used and
the most important, so the scoring stays cheap at any size while keeping every memory that
could win on any one signal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction

from agents.embedding import HASH_EMBEDDER, Embedder, cosine, hash_embed
from agents.models import Memory

GAME_HOUR_MS = 3_600_000  # game milliseconds in a game hour


@dataclass
class Recalled:
    """A retrieved memory and why it won."""

    memory: Memory
    score: float
    recency: float
    importance: float
    relevance: float

    @property
    def text(self) -> str:
        return self.memory.text


def remember(
    agent_id: int,
    kind: str,
    text: str,
    importance: int,
    t: int,
    embedder: Embedder,
    *,
    conversation_id: int | None = None,
    author_user_id: int | None = None,
    author_name: str = "",
    source: str = "",
    evidence: list[int] | None = None,
) -> Memory:
    """Store one memory with its embedding (computed once, here)."""
    vector, used = embed_one(text, embedder)
    memory = Memory.objects.create(
        agent_id=agent_id,
        kind=kind,
        text=text[:2000],
        importance=max(1, min(10, int(importance))),
        embedding=vector,
        embedder=used,
        created_t=t,
        accessed_t=t,
        conversation_id=conversation_id,
        author_user_id=author_user_id,
        author_name=author_name[:40],
        source=source[:20],
    )
    if evidence:
        memory.evidence.set(evidence)
    return memory


def embed_one(text: str, embedder: Embedder) -> tuple[list[float], str]:
    """The text's vector and the embedder that made it (the hashing one if the model fails)."""
    from agents.llm import ModelUnavailable

    try:
        return embedder.embed([text])[0], embedder.name
    except ModelUnavailable:
        return hash_embed(text), HASH_EMBEDDER


def retrieve(
    agent_id: int,
    query: str,
    now_t: int,
    embedder: Embedder,
    *,
    time_rate: float = 60.0,
    k: int | None = None,
    kinds: tuple[str, ...] | None = None,
    touch: bool = True,
) -> list[Recalled]:
    """The top-k memories for `query` at world time `now_t`, best first."""
    k = k or settings.MIND_RETRIEVAL_K
    qvec, used = embed_one(query, embedder)
    rows = _candidates(agent_id, qvec, used, settings.MIND_CANDIDATES, kinds)
    if not rows:
        return []
    qhash = hash_embed(query) if used != HASH_EMBEDDER else qvec
    hours_per_ms = time_rate / GAME_HOUR_MS  # world ms → game hours
    recency, importance, relevance = [], [], []
    for mem, distance in rows:
        hours = max(0.0, (now_t - mem.accessed_t) * hours_per_ms)
        recency.append(settings.MIND_RECENCY_DECAY**hours)
        importance.append(float(mem.importance))
        if distance is not None:
            relevance.append(1.0 - distance)
        else:  # another embedder's vector: compare with the local embedder instead
            relevance.append(cosine(qhash, hash_embed(mem.text)))
    rec_n, imp_n, rel_n = _minmax(recency), _minmax(importance), _minmax(relevance)
    scored = [
        Recalled(
            memory=mem,
            score=settings.MIND_WEIGHT_RECENCY * rec_n[i]
            + settings.MIND_WEIGHT_IMPORTANCE * imp_n[i]
            + settings.MIND_WEIGHT_RELEVANCE * rel_n[i],
            recency=recency[i],
            importance=importance[i],
            relevance=relevance[i],
        )
        for i, (mem, _d) in enumerate(rows)
    ]
    scored.sort(key=lambda r: (-r.score, -r.memory.created_t, -r.memory.pk))
    top = scored[:k]
    if touch and top:
        Memory.objects.filter(pk__in=[r.memory.pk for r in top]).update(accessed_t=now_t)
    return top


def _minmax(values: list[float]) -> list[float]:
    lo, hi = min(values), max(values)
    if math.isclose(lo, hi):
        return [0.5] * len(values)  # a signal that does not discriminate adds the same to all
    return [(v - lo) / (hi - lo) for v in values]


def _candidates(
    agent_id: int, qvec: list[float], embedder: str, n: int, kinds: tuple[str, ...] | None
) -> list[tuple[Memory, float | None]]:
    """Memories that could win on any signal, with their cosine distance when comparable."""
    kind_sql = " AND kind = ANY(%(kinds)s)" if kinds else ""
    params = {"agent": agent_id, "q": _vector_literal(qvec), "emb": embedder, "n": n}
    if kinds:
        params["kinds"] = list(kinds)
    sql = f"""
        WITH nearest AS MATERIALIZED (
            SELECT id FROM agents_memory
            WHERE agent_id = %(agent)s AND embedder = %(emb)s{kind_sql}
            ORDER BY embedding <=> %(q)s::vector LIMIT %(n)s
        ), recent AS MATERIALIZED (
            SELECT id FROM agents_memory WHERE agent_id = %(agent)s{kind_sql}
            ORDER BY accessed_t DESC LIMIT %(n)s
        ), important AS MATERIALIZED (
            SELECT id FROM agents_memory WHERE agent_id = %(agent)s{kind_sql}
            ORDER BY importance DESC, created_t DESC LIMIT %(n)s
        )
        SELECT m.id, m.kind, m.text, m.importance, m.embedder, m.created_t, m.accessed_t,
               m.conversation_id, m.author_user_id, m.author_name, m.source, m.agent_id,
               CASE WHEN m.embedder = %(emb)s THEN m.embedding <=> %(q)s::vector END
        FROM agents_memory m
        WHERE m.agent_id = %(agent)s
          AND m.id IN (SELECT id FROM nearest UNION SELECT id FROM recent
                       UNION SELECT id FROM important)
    """
    with transaction.atomic(), connection.cursor() as cursor:
        # Transaction-local (like SET LOCAL), both in one round trip.
        cursor.execute(
            "SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true), "
            "set_config('hnsw.ef_search', %s, true)",
            [str(int(settings.MIND_HNSW_EF_SEARCH))],
        )
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    # One round trip, no vectors shipped back: build the rows without the embedding.
    return [(Memory(**dict(zip(_COLUMNS, row[:-1], strict=True))), row[-1]) for row in rows]


_COLUMNS = (
    "id",
    "kind",
    "text",
    "importance",
    "embedder",
    "created_t",
    "accessed_t",
    "conversation_id",
    "author_user_id",
    "author_name",
    "source",
    "agent_id",
)


def _vector_literal(vec: list[float]) -> str:
    return "[" + ",".join(f"{x:.6g}" for x in vec) + "]"


def recent(agent_id: int, n: int = 50, kinds: tuple[str, ...] | None = None) -> list[Memory]:
    """The newest memories, newest first."""
    qs = Memory.objects.filter(agent_id=agent_id).defer("embedding")
    if kinds:
        qs = qs.filter(kind__in=kinds)
    return list(qs.order_by("-created_t", "-id")[:n])
