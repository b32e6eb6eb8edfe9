"""Idle pause and thaw, scheduled jobs run once per period, crashing jobs retried and recorded."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.db import connection

from tests.wsclient import Socket
from town import clock, services
from town.jobs import run_job_worker
from town.models import AuditEntry, World


@pytest.fixture(autouse=True)
def real_time_afterwards():
    yield
    clock.reset()


def make_world(name: str = "Idleton") -> World:
    world = services.create_world(name)
    services.record_heartbeat(world.pk)
    return world


@pytest.mark.django_db
def test_idle_world_freezes_after_five_minutes():
    world = make_world()
    clock.move(timedelta(minutes=4, seconds=50))
    assert services.freeze_idle_worlds() == []
    clock.move(timedelta(seconds=20))
    assert services.freeze_idle_worlds() == [world.pk]
    world.refresh_from_db()
    assert (world.status, world.frozen_reason) == ("frozen", "idle")
    entry = AuditEntry.objects.get(world=world, action="freeze")
    assert entry.actor_label == "idle-job"
    assert entry.detail == {"reason": "idle"}
    assert services.freeze_idle_worlds() == []  # already frozen: nothing more to do


@pytest.mark.django_db
def test_a_world_nobody_ever_watched_freezes_too(settings):
    settings.TOWN_IDLE_TIMEOUT = 60
    world = services.create_world("Unvisited")
    clock.move(timedelta(seconds=61))
    assert services.freeze_idle_worlds() == [world.pk]


@pytest.mark.django_db
def test_a_heartbeat_thaws_an_idle_world_but_not_an_operator_frozen_one():
    idle, held = make_world("Idle"), make_world("Held")
    clock.move(timedelta(minutes=6))
    services.record_heartbeat(held.pk)  # watched: stays running
    assert services.freeze_idle_worlds() == [idle.pk]
    services.freeze_world(held.pk, actor="cli")

    assert services.record_heartbeat(idle.pk) is True
    assert services.record_heartbeat(held.pk) is False
    idle.refresh_from_db()
    held.refresh_from_db()
    assert (idle.status, idle.frozen_reason) == ("running", "")
    assert (held.status, held.frozen_reason) == ("frozen", "operator")
    assert AuditEntry.objects.filter(world=idle, action="thaw", actor_label="visitor").exists()
    assert services.record_heartbeat(idle.pk) is False  # running: the cheap path


@pytest.mark.django_db
def test_resume_counts_as_watched():
    world = make_world()
    clock.move(timedelta(minutes=10))
    services.freeze_world(world.pk)
    services.resume_world(world.pk)
    assert services.freeze_idle_worlds() == []


async def wait_for(predicate, timeout: float = 10.0, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := await database_sync_to_async(predicate)():
            return value
        await asyncio.sleep(every)
    raise AssertionError("condition not met in time")


@pytest.mark.django_db(transaction=True)
async def test_opening_the_page_thaws_an_idle_world_within_seconds(town):
    await wait_for(lambda: town.pk in services.lease_holders())
    await database_sync_to_async(clock.move)(timedelta(minutes=6))
    frozen = await database_sync_to_async(services.freeze_idle_worlds)()
    assert frozen == [town.pk]
    await wait_for(lambda: town.pk not in services.lease_holders())  # the engine stopped

    started = time.monotonic()
    visitor = Socket(town.pk)
    await visitor.open()
    status = await visitor.until(lambda e: e.get("kind") == "world_status")
    assert status["status"] == "running"
    await wait_for(lambda: town.pk in services.lease_holders(), timeout=5)
    assert time.monotonic() - started < 4
    await visitor.close()


@pytest.fixture
def empty_queue(transactional_db):
    """No jobs left from earlier tests (the job tables are not flushed between tests)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE procrastinate_jobs, procrastinate_periodic_defers, procrastinate_events"
        )


def job_rows(task: str) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status, args, attempts FROM procrastinate_jobs WHERE task_name = %s",
            [task],
        )
        return [
            {"status": status, "args": json.loads(args), "attempts": attempts}
            for status, args, attempts in cursor.fetchall()
        ]


@pytest.mark.django_db(transaction=True)
async def test_periodic_jobs_run_once_per_period_with_two_workers(empty_queue):
    world = await database_sync_to_async(make_world)()
    stop = asyncio.Event()
    workers = [
        asyncio.ensure_future(run_job_worker(stop, name=f"w{n}", fetch_job_polling_interval=0.2))
        for n in (1, 2)
    ]
    try:
        await wait_for(
            lambda: any(j["status"] == "succeeded" for j in job_rows("town.jobs.idle_pause"))
        )
        await wait_for(
            lambda: any(j["status"] == "succeeded" for j in job_rows("music.jobs.daily_music"))
        )
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*workers), 30)
    idle_jobs = await database_sync_to_async(job_rows)("town.jobs.idle_pause")
    stamps = [j["args"]["timestamp"] for j in idle_jobs]
    assert len(stamps) == len(set(stamps)), "an idle-pause period was deferred twice"
    tracks = await database_sync_to_async(lambda: world.tracks.count())()
    assert tracks == 1  # both workers asked for today's music; it was made once


@pytest.mark.django_db(transaction=True)
async def test_a_crashing_job_is_retried_and_recorded(empty_queue):
    from music.jobs import make_music

    await database_sync_to_async(make_music.defer)(world_id=987654, actor="test")
    await run_job_worker(asyncio.Event(), name="once", wait=False)
    [job] = await database_sync_to_async(job_rows)("music.jobs.make_music")
    assert job["status"] == "todo"  # waiting for its retry
    assert job["attempts"] == 1
    entry = await database_sync_to_async(AuditEntry.objects.get)(action="job_failed")
    assert entry.detail["task"] == "music.jobs.make_music"
    assert "DoesNotExist" in entry.detail["error"]
