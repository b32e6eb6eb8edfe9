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
import weakref
from dataclasses import dataclass

from django.conf import settings
from django.db import connection

from agents.embedding import HASH_EMBEDDER, Embedder, cosine, hash_embed
from agents.models import Memory

GAME_HOUR_MS = 3_600_000  # game milliseconds in a game hour
SIGHTING_IMPORTANCE = 2  # "Saw Bram at the cafe": a routine sighting of someone nearby
# More than a routine sighting: what a reflection's questions, a script and an offline
# resident's "as I recall" draw on.
SALIENT_IMPORTANCE = SIGHTING_IMPORTANCE + 1
_TUNED: weakref.WeakSet = weakref.WeakSet()  # database connections with the HNSW settings


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
    vector: tuple[list[float], str] | None = None,
) -> Memory:
    """Store one memory with its embedding (computed here, or given as (vector, embedder)
    when several memories share one)."""
    vector, used = vector or embed_one(text, embedder)
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
    min_importance: int = 0,
) -> list[Recalled]:
    """The top-k memories for `query` at world time `now_t`, best first (of those rated at
    least `min_importance`)."""
    k = k or settings.MIND_RETRIEVAL_K
    qvec, used = embed_one(query, embedder)
    rows = _candidates(agent_id, qvec, used, settings.MIND_CANDIDATES, kinds)
    rows = [row for row in rows if row[_IMPORTANCE] >= min_importance]
    if not rows:
        return []
    qhash = hash_embed(query) if used != HASH_EMBEDDER else qvec
    hours_per_ms = time_rate / GAME_HOUR_MS  # world ms → game hours
    decay = settings.MIND_RECENCY_DECAY
    recency, importance, relevance = [], [], []
    for row in rows:
        hours = max(0.0, (now_t - row[_ACCESSED]) * hours_per_ms)
        recency.append(decay**hours)
        importance.append(float(row[_IMPORTANCE]))
        if row[_DISTANCE] is not None:
            relevance.append(1.0 - row[_DISTANCE])
        else:  # another embedder's vector: compare with the local embedder instead
            relevance.append(cosine(qhash, hash_embed(row[_TEXT])))
    rec_n, imp_n, rel_n = _minmax(recency), _minmax(importance), _minmax(relevance)
    w_rec, w_imp = settings.MIND_WEIGHT_RECENCY, settings.MIND_WEIGHT_IMPORTANCE
    w_rel = settings.MIND_WEIGHT_RELEVANCE
    scores = [w_rec * rec_n[i] + w_imp * imp_n[i] + w_rel * rel_n[i] for i in range(len(rows))]
    # Ties: the newer memory first, then the later id.
    order = sorted(
        range(len(rows)),
        key=lambda i: (-scores[i], -rows[i][_CREATED], -rows[i][_ID]),
    )
    # Model objects only for the winners: building one per candidate cost more than the
    # scoring itself.
    top = [
        Recalled(
            memory=Memory(**dict(zip(_COLUMNS, rows[i][:_DISTANCE], strict=True))),
            score=scores[i],
            recency=recency[i],
            importance=importance[i],
            relevance=relevance[i],
        )
        for i in _distinct(order, rows, k)
    ]
    if touch and top:
        Memory.objects.filter(agent_id=agent_id, pk__in=[r.memory.pk for r in top]).update(
            accessed_t=now_t
        )
    return top


def _distinct(order: list[int], rows: list, k: int) -> list[int]:
    """The first k of `order` with distinct texts: the same observation stored twice ("Saw
    Bram at the cafe." an hour apart) fills one place in a prompt, not two (issue #17)."""
    seen: set[str] = set()
    out: list[int] = []
    for i in order:
        text = rows[i][_TEXT]
        if text in seen:
            continue
        seen.add(text)
        out.append(i)
        if len(out) == k:
            break
    return out


def _minmax(values: list[float]) -> list[float]:
    lo, hi = min(values), max(values)
    if math.isclose(lo, hi):
        return [0.5] * len(values)  # a signal that does not discriminate adds the same to all
    return [(v - lo) / (hi - lo) for v in values]


def _candidates(
    agent_id: int, qvec: list[float], embedder: str, n: int, kinds: tuple[str, ...] | None
) -> list[tuple]:
    """Memories that could win on any signal (rows of _COLUMNS), each followed by its cosine
    distance when comparable."""
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
    with connection.cursor() as cursor:  # connects, so connection.connection is set below
        # The iterative scan keeps the filtered search complete; ef_search sets its recall.
        # Outside a transaction they are set once per connection (every distance-ordered
        # query on agents_memory is a filtered one), so retrieval is one round trip, not
        # four (BEGIN, SET LOCAL, query, COMMIT). Inside one, a rollback would undo a
        # session-wide setting, so they are set for that transaction only.
        local = connection.in_atomic_block
        if local or connection.connection not in _TUNED:
            cursor.execute(
                "SELECT set_config('hnsw.iterative_scan', 'relaxed_order', %s), "
                "set_config('hnsw.ef_search', %s, %s)",
                [local, str(int(settings.MIND_HNSW_EF_SEARCH)), local],
            )
            if not local:
                _TUNED.add(connection.connection)
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return rows  # no vectors shipped back; the distance is the last column


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
_ID, _TEXT, _IMPORTANCE, _CREATED, _ACCESSED = (
    _COLUMNS.index(c) for c in ("id", "text", "importance", "created_t", "accessed_t")
)
_DISTANCE = len(_COLUMNS)


def _vector_literal(vec: list[float]) -> str:
    return "[" + ",".join(f"{x:.6g}" for x in vec) + "]"


def recent(agent_id: int, n: int = 50, kinds: tuple[str, ...] | None = None) -> list[Memory]:
    """The newest memories, newest first."""
    qs = Memory.objects.filter(agent_id=agent_id).defer("embedding")
    if kinds:
        qs = qs.filter(kind__in=kinds)
    return list(qs.order_by("-created_t", "-id")[:n])
