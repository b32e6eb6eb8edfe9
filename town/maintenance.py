"""Housekeeping: prune old movement history and inputs, vacuum, expire stale engine leases.

Run hourly by the maintenance job (town/jobs.py) and by `town vacuum`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import connection
from django.db.models import Min

from town import clock, replay
from town.lease import LEASE_NAMESPACE
from town.models import HistoryEvent, Input, World, WorldSnapshot

DAY_MS = 86_400_000
# The events that only say where someone walked; conversations, chat and activities stay.
MOVEMENT_KINDS = ("move", "arrived")
VACUUMED_TABLES = (
    "town_historyevent",
    "town_input",
    "town_worldsnapshot",
    "town_message",
    "town_world",
    "procrastinate_jobs",
    "procrastinate_events",
)


def prune_history(world: World) -> int:
    """Drop movement events older than TOWN_HISTORY_KEEP_DAYS of the world's running time.

    Replay still knows where everyone stood at the cut: one `arrived` per player marks it.
    """
    cutoff = world.clock_ms - settings.TOWN_HISTORY_KEEP_DAYS * DAY_MS
    old = HistoryEvent.objects.filter(world=world, t__lt=cutoff, kind__in=MOVEMENT_KINDS)
    if not old.exists():
        return 0
    state: dict = {"players": {}, "conversations": {}, "messages": []}
    rows = HistoryEvent.objects.filter(world=world, t__lt=cutoff).order_by("t", "id")
    for data in rows.values_list("data", flat=True).iterator():
        replay.fold(state, data)
    removed = old.delete()[0]
    mark = cutoff - 1  # just before anything kept, so a move at the cut still wins
    HistoryEvent.objects.bulk_create(
        HistoryEvent(world=world, t=mark, kind="arrived", data=_standing(pid, p, mark))
        for pid, p in state["players"].items()
    )
    return removed


def _standing(pid: str, player: dict, t: int) -> dict:
    x, y = player["path"][-1] if player.get("path") else (player["x"], player["y"])
    return {"kind": "arrived", "t": t, "player": pid, "x": x, "y": y}


def prune_inputs(world: World) -> int:
    """Drop logged inputs older than TOWN_INPUT_KEEP_DAYS that every kept snapshot already holds.

    Inputs after a snapshot rebuild the world after a crash, so they are never pruned.
    """
    folded = WorldSnapshot.objects.filter(world=world).aggregate(m=Min("last_input"))["m"]
    if not folded:
        return 0
    cutoff = clock.now() - timedelta(days=settings.TOWN_INPUT_KEEP_DAYS)
    return Input.objects.filter(world=world, id__lte=folded, created__lt=cutoff).delete()[0]


def vacuum() -> list[str]:
    """VACUUM ANALYZE the busy tables (outside any transaction)."""
    if connection.in_atomic_block:
        raise RuntimeError("VACUUM cannot run inside a transaction")
    done = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            " AND tablename = ANY(%s)",
            [list(VACUUMED_TABLES)],
        )
        for (table,) in cursor.fetchall():
            cursor.execute(f'VACUUM (ANALYZE) "{table}"')
            done.append(table)
    return done


def expire_stale_leases(max_idle: float | None = None) -> list[int]:
    """Close lease connections that have not spoken for TOWN_LEASE_STALE_AFTER seconds.

    A live engine checks its lease connection every couple of seconds; one that stays silent
    belongs to a hung or cut-off process, and closing it lets another engine take its worlds.
    """
    max_idle = settings.TOWN_LEASE_STALE_AFTER if max_idle is None else max_idle
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT a.pid FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid"
            " WHERE l.locktype = 'advisory' AND l.classid = %s AND l.granted"
            " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND a.pid <> pg_backend_pid() AND a.state = 'idle'"
            " AND a.state_change < now() - make_interval(secs => %s)",
            [LEASE_NAMESPACE, max_idle],
        )
        stale = [pid for (pid,) in cursor.fetchall()]
        for pid in stale:
            cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])
    return stale


def delete_old_jobs() -> int:
    """Forget finished jobs older than TOWN_JOBS_KEEP_DAYS (failed ones too), through
    procrastinate's own clean-up (what its builtin `remove_old_jobs` task runs)."""
    from procrastinate.contrib.django import app
    from procrastinate.contrib.django.models import ProcrastinateJob

    before = ProcrastinateJob.objects.count()
    async_to_sync(app.job_manager.delete_old_jobs)(
        nb_hours=settings.TOWN_JOBS_KEEP_DAYS * 24,
        include_failed=True,
        include_cancelled=True,
        include_aborted=True,
    )
    return max(0, before - ProcrastinateJob.objects.count())


def run_maintenance(*, vacuum_tables: bool = True) -> dict[str, Any]:
    """The hourly housekeeping, for every world."""
    report: dict[str, Any] = {"history": 0, "inputs": 0}
    for world in World.objects.all():
        report["history"] += prune_history(world)
        report["inputs"] += prune_inputs(world)
    report["stale_leases"] = expire_stale_leases()
    report["old_jobs"] = delete_old_jobs()
    if vacuum_tables and not connection.in_atomic_block:
        report["vacuumed"] = vacuum()
    return report
