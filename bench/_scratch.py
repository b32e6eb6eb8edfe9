"""A scratch database on the same PostgreSQL server, for benchmarks that fill tables."""

from __future__ import annotations

from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections

MAINTENANCE_DB = settings.DATABASES["default"]["NAME"]


def _point_at(name: str) -> None:
    connections.close_all()
    settings.DATABASES["default"]["NAME"] = name
    connections["default"].settings_dict["NAME"] = name


def use_scratch_database(name: str) -> None:
    """Point Django at a fresh scratch database on the same server, migrated."""
    _point_at(MAINTENANCE_DB)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone():
            cursor.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    _point_at(name)
    call_command("migrate", verbosity=0)


def drop_scratch_database(name: str) -> None:
    """Back to the maintenance database, and the scratch one dropped."""
    _point_at(MAINTENANCE_DB)
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
