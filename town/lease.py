"""World leases: a PostgreSQL session advisory lock per world, held on one connection.

If the process dies, its connection closes and PostgreSQL frees the locks, so another
engine can take the world over. Two engines can never run the same world.
"""

from __future__ import annotations

import psycopg
from django.db import connections

LEASE_NAMESPACE = 0x70776E  # first key of the two-int advisory lock: "town"


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
        cur = await self.conn.execute(
            "SELECT pg_try_advisory_lock(%s, %s)", (LEASE_NAMESPACE, world_id)
        )
        return bool((await cur.fetchone())[0])

    async def release(self, world_id: int) -> None:
        await self.conn.execute("SELECT pg_advisory_unlock(%s, %s)", (LEASE_NAMESPACE, world_id))

    async def alive(self) -> bool:
        try:
            await self.conn.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True

    async def close(self) -> None:
        if self.conn is not None:
            await self.conn.close()


def lease_holders() -> dict[int, int]:
    """World id → backend pid of the engine connection holding its lease (for `town status`)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT objid, pid FROM pg_locks WHERE locktype = 'advisory' AND classid = %s "
            "AND granted AND database = (SELECT oid FROM pg_database "
            "WHERE datname = current_database())",
            [LEASE_NAMESPACE],
        )
        return {int(objid): pid for objid, pid in cursor.fetchall()}
