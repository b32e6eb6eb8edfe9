"""World leases: a PostgreSQL session advisory lock per world, held on one connection.

If the process dies, its connection closes and PostgreSQL frees the locks, so another
engine can take the world over. Two engines can never run the same world. Every lease
query of the town is here: the engine's holder, headless runs' lease, and who holds what.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import psycopg
from django.db import connection, connections

LEASE_NAMESPACE = 0x70776E  # first key of the two-int advisory lock: "town"

TAKE = "SELECT pg_try_advisory_lock(%s, %s)"
RELEASE = "SELECT pg_advisory_unlock(%s, %s)"
# Advisory locks are server-wide in pg_locks; other databases on the same server (other
# towns, test runs) must not count.
HELD = (
    "SELECT objid, pid FROM pg_locks WHERE locktype = 'advisory' AND classid = %s"
    " AND granted AND database = (SELECT oid FROM pg_database"
    " WHERE datname = current_database())"
)
HELD_ONE = HELD + " AND objid = %s"


def lease_connection_params() -> dict:
    """Django's own connection parameters (so tests lease in the test database)."""
    params = connections["default"].get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return {**params, "autocommit": True, "application_name": "town-engine-lease"}


class LeaseHolder:
    """One connection holding the leases of the worlds this engine runs."""

    def __init__(self) -> None:
        self.conn: psycopg.AsyncConnection | None = None

    async def open(self) -> None:
        self.conn = await psycopg.AsyncConnection.connect(**lease_connection_params())

    async def take(self, world_id: int) -> bool:
        """Try to take a world's lease without waiting."""
        cur = await self.conn.execute(TAKE, (LEASE_NAMESPACE, world_id))
        return bool((await cur.fetchone())[0])

    async def release(self, world_id: int) -> None:
        await self.conn.execute(RELEASE, (LEASE_NAMESPACE, world_id))

    async def alive(self) -> bool:
        try:
            await self.conn.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True

    async def close(self) -> None:
        if self.conn is not None:
            await self.conn.close()


@contextlib.contextmanager
def world_lease(world_id: int, application_name: str = "town-run") -> Iterator[bool]:
    """Hold a world's lease for the block (headless runs); yields False if someone else
    holds it."""
    params = {**lease_connection_params(), "application_name": application_name}
    with psycopg.connect(**params) as conn:
        taken = conn.execute(TAKE, (LEASE_NAMESPACE, world_id)).fetchone()[0]
        try:
            yield bool(taken)
        finally:
            if taken:
                conn.execute(RELEASE, (LEASE_NAMESPACE, world_id))


def lease_holders() -> dict[int, int]:
    """World id → backend pid of the engine connection holding its lease, in this database."""
    with connection.cursor() as cursor:
        cursor.execute(HELD, [LEASE_NAMESPACE])
        return {int(objid): pid for objid, pid in cursor.fetchall()}


async def engine_holds(conn: psycopg.AsyncConnection, world_id: int) -> bool:
    """Whether some engine holds a world's lease (asked on an async connection)."""
    cur = await conn.execute(HELD_ONE, (LEASE_NAMESPACE, world_id))
    return await cur.fetchone() is not None
