"""Re-embedding the memory stream with the configured embedder (`manage.py town reembed`).

A memory is due when its vector is missing or was made by another embedder than the one
configured now (`model:<EMBEDDING_MODEL>`, or `hash-v1` with no model). Work goes in small
batches, each its own short transaction, so the running world is never blocked and a killed
run resumes where it stopped. When EMBEDDING_DIMENSIONS differs from the column's size, the
vectors are built in a shadow table, the column is swapped in one short transaction (its
per-partition HNSW indexes rebuilt, empty), and the vectors are copied in, again in batches.
See docs/minds.md, "Changing the embedding model".
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import OperationalError, connection, transaction

from agents import budget, checks
from agents.checks import MEMORY, column_dimensions, target_embedder
from agents.embedding import Embedder
from town.models import Player, World
from town.services import WrongState, audit

PLAYER = Player._meta.db_table
SHADOW = "agents_memory_reembed"  # vectors of the new size, waiting for the column swap
LOCK = (0x52454D42, 0)  # two-int advisory lock ("REMB"): one reembed at a time
SWAP_TRIES = 10


class ReembedRefused(WrongState):
    """Re-embedding cannot start or go on now; the message says why and what to do."""


@dataclass
class Progress:
    """Where a stage of a run is: `stage` is "embed" or "copy"."""

    stage: str
    done: int
    total: int
    elapsed: float
    final: bool = False

    @property
    def rate(self) -> float:
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        return (self.total - self.done) / self.rate if self.rate > 0 else None


@dataclass
class Plan:
    """What a run would do: the column's and the configured size, and the work left."""

    stored_dims: int | None
    configured_dims: int
    target: str
    due: int  # memories to embed (in place, or into the shadow table during a switch)
    copy_pending: int = 0  # vectors in the shadow table after the swap, not yet copied in

    @property
    def switching(self) -> bool:
        return self.stored_dims is not None and self.stored_dims != self.configured_dims


@dataclass
class Report:
    """What a run did."""

    embedded: int = 0
    copied: int = 0
    switched: str = ""  # "1536 → 768" when the column changed size


ProgressCallback = Callable[[Progress], None]


# -- planning -------------------------------------------------------------------------------


def plan(world_id: int | None = None) -> Plan:
    """The work a run would do now (read only)."""
    stored, dims, target = column_dimensions(), settings.EMBEDDING_DIMENSIONS, target_embedder()
    shadow = column_dimensions(SHADOW)
    params = {"target": target, "world": world_id}
    if stored is not None and stored != dims:
        # Every memory needs a vector of the new size, unless the shadow already holds it.
        mode = "shadow" if shadow == dims else "all"
        return Plan(stored, dims, target, _count(_due_sql(world_id, mode, count=True), params))
    copy_pending = _count(f"SELECT count(*) FROM {SHADOW}") if shadow else 0
    mode = "in_place_after_copy" if copy_pending else "in_place"
    return Plan(
        stored, dims, target, _count(_due_sql(world_id, mode, count=True), params), copy_pending
    )


def describe(p: Plan, world_id: int | None = None) -> str:
    """One paragraph for an operator: what a run would do."""
    where = f"world #{world_id}" if world_id is not None else "all worlds"
    text = f"{p.due} memories ({where}) to embed with {p.target} at {p.configured_dims} dimensions"
    if p.switching:
        text += (
            f"; the column holds {p.stored_dims} dimensions, so the vectors go to a shadow "
            "table and the column is swapped when all are ready"
        )
    if p.copy_pending:
        text += f"; {p.copy_pending} vectors of an interrupted switch still to copy in"
    return text + "."


def summary(report: Report) -> str:
    """One line for an operator: what a run did."""
    target, dims = target_embedder(), settings.EMBEDDING_DIMENSIONS
    if not (report.embedded or report.copied or report.switched):
        return f"Nothing to re-embed: every memory has a vector from {target} at {dims} dimensions."
    text = f"Re-embedded {report.embedded} memories with {target} at {dims} dimensions"
    if report.switched:
        text += f"; the embedding column was switched ({report.switched})"
    if report.copied:
        text += f"; {report.copied} vectors copied into it"
    return text + "."


# -- running --------------------------------------------------------------------------------


def reembed(
    *,
    batch: int = 64,
    world_id: int | None = None,
    progress: ProgressCallback | None = None,
    actor: object = "system",
) -> Report:
    """Re-embed every due memory; resumable, one short transaction per batch."""
    if batch < 1:
        raise ReembedRefused("the batch size must be at least 1")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", LOCK)
        if not cursor.fetchone()[0]:
            raise ReembedRefused("another `town reembed` is running; wait for it to finish")
    report = Report()
    try:
        _run(report, batch, world_id, progress or (lambda p: None))
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", LOCK)
        if report.embedded or report.copied or report.switched:
            world = World.objects.filter(pk=world_id).first() if world_id else None
            detail = {"embedded": report.embedded, "copied": report.copied}
            audit(world, "reembed", actor, switched=report.switched, **detail)
    return report


def _run(report: Report, batch: int, world_id: int | None, callback: ProgressCallback) -> None:
    def progress(p: Progress) -> None:
        if p.total or p.done:  # nothing to do is not worth a bar
            callback(p)

    dims, target = settings.EMBEDDING_DIMENSIONS, target_embedder()
    stored, shadow = column_dimensions(), column_dimensions(SHADOW)
    if stored is None:
        raise ReembedRefused("the memory table does not exist yet: run `manage.py migrate`")
    if shadow is not None and shadow == stored:  # swapped, but the copy was interrupted
        report.copied += _copy_in(batch, progress)
        shadow = None
    elif shadow is not None and shadow != dims:  # a switch to a size no longer wanted
        _execute(f"DROP TABLE {SHADOW}")
        shadow = None
    if stored != dims:
        if world_id is not None:
            raise ReembedRefused(
                f"the embedding column changes from {stored} to {dims} dimensions for every "
                "world at once: run `town reembed` without --world"
            )
        if shadow is None:
            _execute(
                f"CREATE TABLE {SHADOW} (id bigint PRIMARY KEY, agent_id bigint NOT NULL, "
                f"embedder varchar(80) NOT NULL, embedding vector({dims}) NOT NULL)"
            )
        report.embedded += _embed_all(batch, None, target, progress, into_shadow=True)
        _swap(dims)
        report.switched = f"{stored} → {dims}"
        checks.forget_fit()
        report.copied += _copy_in(batch, progress)
    report.embedded += _embed_all(batch, world_id, target, progress, into_shadow=False)


def _embed_all(
    batch: int, world_id: int | None, target: str, progress: ProgressCallback, into_shadow: bool
) -> int:
    """Embed due memories in id order (keyset), committing batch by batch."""
    params = {"target": target, "world": world_id}
    mode = "shadow" if into_shadow else "in_place"
    total = _count(_due_sql(world_id, mode, count=True), params)
    started, done, last = time.monotonic(), 0, 0
    progress(Progress("embed", 0, total, 0.0))
    while True:
        with connection.cursor() as cursor:
            cursor.execute(_due_sql(world_id, mode), {**params, "last": last, "n": batch})
            rows = cursor.fetchall()
        if not rows:
            break
        vectors = _embed(rows)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                _WRITE_SHADOW if into_shadow else _WRITE_IN_PLACE,
                {
                    "ids": [r[0] for r in rows],
                    "agents": [r[1] for r in rows],
                    "olds": [r[4] for r in rows],
                    "vecs": [_literal(v) for v in vectors],
                    "target": target,
                },
            )
        done, last = done + len(rows), rows[-1][0]
        total = max(total, done)
        progress(Progress("embed", done, total, time.monotonic() - started))
    progress(Progress("embed", done, max(total, done), time.monotonic() - started, final=True))
    return done


def _embed(rows: list[tuple]) -> list[list[float]]:
    """Vectors for a batch's texts, one model call per world (recorded and budgeted)."""
    from agents.llm import ModelUnavailable, get_client

    if not budget.configured():
        return Embedder().embed([r[3] for r in rows])
    out: dict[int, list[float]] = {}
    for world_id in dict.fromkeys(r[2] for r in rows):
        mine = [r for r in rows if r[2] == world_id]
        try:
            vectors = get_client().embed([r[3] for r in mine], world_id=world_id)
        except ModelUnavailable as exc:
            raise ReembedRefused(
                f"the model could not embed for world #{world_id} ({exc}); what is done is "
                "kept: run `town reembed` again later to go on"
            ) from None
        out.update({r[0]: v for r, v in zip(mine, vectors, strict=True)})
    return [out[r[0]] for r in rows]


def _swap(dims: int) -> None:
    """Swap the shadow size into agents_memory in one short transaction, HNSW rebuilt empty."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_attribute a "
            "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
            "WHERE i.indrelid = %s::regclass AND a.attname = 'embedding'",
            [MEMORY],
        )
        # The parent's definition says ON ONLY; without it every partition gets its index.
        indexes = [row[0].replace(" ON ONLY ", " ON ") for row in cursor.fetchall()]
    for attempt in range(SWAP_TRIES):
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                # Never queue long behind the world's queries (it would block them all).
                cursor.execute("SET LOCAL lock_timeout = '2s'")
                # Inside a caller's transaction (tests), deferred foreign-key checks of rows
                # inserted earlier would forbid ALTER TABLE; run them now.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute(f"ALTER TABLE {MEMORY} DROP COLUMN embedding")
                cursor.execute(f"ALTER TABLE {MEMORY} ADD COLUMN embedding vector({dims})")
                cursor.execute(f"ALTER TABLE {MEMORY} ALTER COLUMN embedding SET STORAGE PLAIN")
                for sql in indexes:
                    cursor.execute(sql)
            return
        except OperationalError as exc:
            if "lock timeout" not in str(exc) or attempt + 1 == SWAP_TRIES:
                raise ReembedRefused(
                    f"could not swap the embedding column ({exc}); the new vectors are kept: "
                    "run `town reembed` again"
                ) from None
            time.sleep(1)


def _copy_in(batch: int, progress: ProgressCallback) -> int:
    """Copy the shadow table's vectors into the swapped column, batch by batch, then drop it."""
    total = _count(f"SELECT count(*) FROM {SHADOW}")
    started, done = time.monotonic(), 0
    progress(Progress("copy", 0, total, 0.0))
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_COPY_BATCH, {"n": batch})
            moved = cursor.fetchone()[0]
        if not moved:
            break
        done += moved
        progress(Progress("copy", done, max(total, done), time.monotonic() - started))
    progress(Progress("copy", done, max(total, done), time.monotonic() - started, final=True))
    _execute(f"DROP TABLE {SHADOW}")
    return done


_COPY_BATCH = f"""
    WITH b AS (SELECT id, agent_id, embedder, embedding FROM {SHADOW} ORDER BY id LIMIT %(n)s),
    u AS (UPDATE {MEMORY} m SET embedding = b.embedding, embedder = b.embedder FROM b
          WHERE m.id = b.id AND m.agent_id = b.agent_id AND m.embedding IS NULL RETURNING m.id),
    d AS (DELETE FROM {SHADOW} s USING b WHERE s.id = b.id RETURNING s.id)
    SELECT count(*) FROM d
"""

_WRITE_IN_PLACE = f"""
    UPDATE {MEMORY} m SET embedding = v.e::vector, embedder = %(target)s
    FROM unnest(%(ids)s::bigint[], %(agents)s::bigint[], %(olds)s::text[], %(vecs)s::text[])
         AS v(id, agent_id, old, e)
    WHERE m.id = v.id AND m.agent_id = v.agent_id AND m.embedder = v.old
"""

_WRITE_SHADOW = f"""
    INSERT INTO {SHADOW} (id, agent_id, embedder, embedding)
    SELECT v.id, v.agent_id, %(target)s, v.e::vector
    FROM unnest(%(ids)s::bigint[], %(agents)s::bigint[], %(olds)s::text[], %(vecs)s::text[])
         AS v(id, agent_id, old, e)
    ON CONFLICT (id) DO UPDATE SET embedder = EXCLUDED.embedder, embedding = EXCLUDED.embedding
"""


def _due_sql(world_id: int | None, mode: str, *, count: bool = False) -> str:
    """Memories still to embed. Modes: "in_place" (vector missing or another embedder's),
    "shadow" (no vector of the target embedder in the shadow table yet), "all", and
    "in_place_after_copy" (in place, less those the pending copy will fill)."""
    in_shadow = f"SELECT 1 FROM {SHADOW} s WHERE s.id = m.id AND s.embedder = %(target)s"
    due = {
        "in_place": "(m.embedding IS NULL OR m.embedder <> %(target)s)",
        "shadow": f"NOT EXISTS ({in_shadow})",
        "all": "TRUE",
        "in_place_after_copy": "(m.embedding IS NULL OR m.embedder <> %(target)s) "
        f"AND NOT EXISTS ({in_shadow})",
    }[mode]
    world = " AND p.world_id = %(world)s" if world_id is not None else ""
    head = "SELECT count(*)" if count else "SELECT m.id, m.agent_id, p.world_id, m.text, m.embedder"
    tail = "" if count else " AND m.id > %(last)s ORDER BY m.id LIMIT %(n)s"
    return f"{head} FROM {MEMORY} m JOIN {PLAYER} p ON p.id = m.agent_id WHERE {due}{world}{tail}"


def _count(sql: str, params: dict | None = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def _execute(sql: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql)


def _literal(vec: list[float]) -> str:
    return "[" + ",".join(f"{x:.9g}" for x in vec) + "]"


# -- the command line's progress bar -------------------------------------------------------


class ProgressBar:
    """A text bar for a terminal (redrawn in place), or a line every few seconds for logs."""

    WIDTH = 28
    LABELS = {"embed": "embedding", "copy": "copying in"}

    def __init__(self, write: Callable[[str], None], tty: bool, every: float = 2.0) -> None:
        self.write, self.tty, self.every, self.shown = write, tty, every, -1e9

    def __call__(self, p: Progress) -> None:
        now = time.monotonic()
        if not (self.tty or p.final or p.done == 0 or now - self.shown >= self.every):
            return
        self.shown = now
        filled = self.WIDTH * p.done // p.total if p.total else self.WIDTH
        eta = "--:--" if p.eta is None else _clock(p.eta)
        line = (
            f"{self.LABELS.get(p.stage, p.stage):<10} [{'#' * filled}{'-' * (self.WIDTH - filled)}]"
            f" {p.done}/{p.total}  {p.rate:.1f}/s  ETA {eta}"
        )
        if self.tty:
            self.write("\r" + line + ("\n" if p.final else ""))
        else:
            self.write(line + "\n")


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
