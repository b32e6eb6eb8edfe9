"""Stored embeddings against the configured embedder: the start-up check, and the guard
minds use while they differ.

The system check runs with every management command (`runtown`, `town …`, `migrate`), so a
changed EMBEDDING_DIMENSIONS or EMBEDDING_MODEL is reported when the town starts, not as
failing queries later. Warnings, not errors: the town keeps running meanwhile, and
`town reembed` itself must be able to start (docs/minds.md, "Changing the embedding model").
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.checks import CheckMessage, Warning, register
from django.db import DatabaseError, connection, transaction

from agents import budget
from agents.embedding import HASH_EMBEDDER, Embedder, hash_embed
from agents.models import Memory

MEMORY = Memory._meta.db_table
FIT_TRUSTED_SECONDS = 30.0


def column_dimensions(table: str = MEMORY) -> int | None:
    """The embedding column's dimensions from the catalog (None if the table is missing)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT atttypmod FROM pg_attribute WHERE attrelid = to_regclass(%s) "
            "AND attname = 'embedding' AND NOT attisdropped",
            [table],
        )
        row = cursor.fetchone()
    return row[0] if row and row[0] > 0 else None


def target_embedder() -> str:
    """The name stored with vectors made by the embedder configured now."""
    return f"model:{settings.EMBEDDING_MODEL}" if budget.configured() else HASH_EMBEDDER


_fit_seen: dict[int, float] = {}  # configured dims → when the column was last seen to fit


def vectors_fit() -> bool:
    """Whether the column has EMBEDDING_DIMENSIONS. A fit is trusted for a while; a misfit is
    re-read on every call, so minds switch back as soon as a reembed swaps the column."""
    dims, now = settings.EMBEDDING_DIMENSIONS, time.monotonic()
    seen = _fit_seen.get(dims)
    if seen is not None and now - seen < FIT_TRUSTED_SECONDS:
        return True
    stored = column_dimensions()
    if stored is None or stored == dims:
        _fit_seen[dims] = now
        return True
    return False


def forget_fit() -> None:
    """Re-read the column's size at the next call (after a swap, and in tests)."""
    _fit_seen.clear()


class ColumnSizedEmbedder(Embedder):
    """The hashing embedder at the column's size, for minds while a reembed is due."""

    def __init__(self, dims: int) -> None:
        self.dims = dims
        # A name of its own: retrieval judges other embedders' memories by hashing at the
        # configured size, which must not be mistaken for these vectors.
        self.name = f"{HASH_EMBEDDER}@{dims}"

    def embed(self, texts: list[str]) -> list[list[float]]:
        return [hash_embed(t, self.dims) for t in texts]


def fitting_embedder(embedder: Embedder) -> Embedder:
    """`embedder` when its vectors fit the column, else the hashing one at the column's size."""
    if vectors_fit():
        return embedder
    return ColumnSizedEmbedder(column_dimensions() or settings.EMBEDDING_DIMENSIONS)


@register()
def embeddings_match_settings(app_configs=None, **kwargs) -> list[CheckMessage]:
    """Warn when stored vectors have another size, or another embedder, than configured."""
    try:
        with transaction.atomic():  # a failed query must not spoil a caller's transaction
            return _check()
    except DatabaseError:  # no database yet (a build step), or not migrated: nothing to say
        return []


def _check() -> list[CheckMessage]:
    from agents import reembed  # it imports this module

    p = reembed.plan()
    if p.stored_dims is None:
        return []
    if p.switching:
        return [
            Warning(
                f"Memories are stored with {p.stored_dims} dimensions but "
                f"EMBEDDING_DIMENSIONS is {p.configured_dims}: run `python manage.py town "
                "reembed`. Until it finishes, residents embed new memories and questions with "
                f"the local hashing embedder at {p.stored_dims} dimensions and judge the "
                "relevance of older memories by hashing their text, so the world and chat keep "
                "running with somewhat rougher recall.",
                hint=f"{p.due} memories to re-embed; `town reembed --dry-run` shows the plan.",
                id="agents.W001",
            )
        ]
    if not p.due and not p.copy_pending:
        return []
    return [
        Warning(
            f"{p.due + p.copy_pending} memories have no vector or one made by another "
            f"embedder ({_stale_embedders(p.target)}) than the one configured now "
            f"({p.target}): run `python manage.py town reembed` to re-embed them. Meanwhile "
            "their relevance is judged by hashing their text, which works but recalls less well.",
            id="agents.W002",
        )
    ]


def _stale_embedders(target: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT CASE WHEN embedding IS NULL THEN 'no vector' ELSE embedder END, count(*) "
            f"FROM {MEMORY} WHERE embedding IS NULL OR embedder <> %s GROUP BY 1 ORDER BY 2 DESC",
            [target],
        )
        return ", ".join(f"{n} {name or 'unnamed'}" for name, n in cursor.fetchall())
