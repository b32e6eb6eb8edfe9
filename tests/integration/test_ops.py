"""`manage.py town …`: every command's success and refusal, and the audit record each leaves."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from io import StringIO

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.conftest import ROOT
from town import clock, headless, services
from town.models import AuditEntry, Conversation, Input, Message, Player, World, WorldSnapshot

HISTORY = 'Name,Whisper\nAda Byrne,"Ada hid the spare cafe key under the blue flowerpot"\n'


@pytest.fixture(autouse=True)
def quiet_music(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.REPLICATE_API_TOKEN = ""
    settings.MUSIC_DURATION = 4
    yield
    clock.reset()


def town(*args: str) -> str:
    out = StringIO()
    call_command("town", *args, stdout=out)
    return out.getvalue()


def refused(*args: str) -> str:
    with pytest.raises(CommandError) as err:
        town(*args)
    return str(err.value)


def last_audit(action: str) -> AuditEntry:
    entry = AuditEntry.objects.filter(action=action).order_by("-id").first()
    assert entry is not None, f"no audit record for {action}"
    assert entry.actor_label.startswith("cli:")
    return entry


@pytest.fixture
def world(db) -> World:
    return services.init_world("Opsville")


@pytest.mark.django_db
def test_init_creates_a_current_world_with_residents():
    World.objects.create(name="Old", is_current=True)
    out = town("init", "--name", "Freshford")
    world = World.objects.get(is_current=True)
    assert world.name == "Freshford"
    assert world.players.filter(kind="agent").count() >= 8
    assert f"Created world #{world.pk} Freshford" in out
    assert last_audit("init").world == world


@pytest.mark.django_db
def test_commands_without_a_world_say_how_to_make_one():
    assert "town init" in refused("freeze")
    assert "there is no world 4242" in refused("status", "--world", "4242")


def test_status_shows_worlds_heartbeats_spending_and_jobs(world):
    services.record_heartbeat(world.pk)
    out = town("status")
    assert f"#{world.pk} Opsville [current]" in out
    assert "running" in out
    assert "players online  0 (and" in out
    assert "engine          none" in out
    assert "last heartbeat  just now" in out
    assert "tokens today" in out
    assert "jobs: 0 todo, 0 doing, 0 failed" in out


def test_freeze_and_resume_with_refusals(world):
    assert "Froze Opsville" in town("freeze")
    assert last_audit("freeze").detail == {"reason": "operator"}
    assert "not running" in refused("freeze")
    assert "Resumed Opsville" in town("resume", "--world", str(world.pk))
    assert last_audit("resume").world == world
    assert "not frozen" in refused("resume")


def test_kick_without_an_engine_and_refused_when_frozen(world):
    assert "no engine was running it" in town("kick")
    assert last_audit("kick").world == world
    services.freeze_world(world.pk)
    assert "resume it instead" in refused("kick")


def test_archive_keeps_the_world_but_stops_it_for_good(world):
    assert "Archived Opsville" in town("archive")
    world.refresh_from_db()
    assert world.status == "archived"
    assert last_audit("archive").detail == {"was": "running"}
    assert "already archived" in refused("archive")
    assert "not frozen" in refused("resume")
    assert "archived" in refused("run", "--steps", "5")
    assert "archived" in refused("music", "--now")


def test_wipe_refuses_without_yes_and_in_production_without_the_extra_flag(world, settings):
    assert "--yes" in refused("wipe")
    settings.DEBUG = False
    assert "--i-know-this-is-production" in refused("wipe", "--yes")
    assert World.objects.count() == 1
    out = town("wipe", "--yes", "--i-know-this-is-production")
    assert "Wiped the town: 1 worlds" in out
    assert World.objects.count() == 0
    assert Player.objects.count() == 0
    [entry] = AuditEntry.objects.all()  # the log starts again with the wipe itself
    assert entry.action == "wipe"
    assert entry.detail["worlds"] == 1


def subprocess_database_url() -> str:
    """DATABASE_URL pointing at the test database, for `manage.py` subprocesses."""
    from urllib.parse import urlsplit, urlunsplit

    from django.conf import settings
    from django.db import connection

    url = urlsplit(settings.DATABASE_URL)  # the server the test database lives on
    return urlunsplit(url._replace(path="/" + connection.settings_dict["NAME"]))


@pytest.mark.django_db(transaction=True)  # committed, so the subprocess sees the world
def test_wipe_exits_with_status_1_and_a_reason(tmp_path):
    services.init_world("Opsville")
    # The subprocess works on the test database and a throw-away var dir, never on the
    # developer's own town under ./var.
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "TOWN_VAR_DIR": str(tmp_path),
        "DATABASE_URL": subprocess_database_url(),
    }
    env.pop("TOWN_PGDATA", None)
    done = subprocess.run(
        [sys.executable, "manage.py", "town", "wipe"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    assert "add --yes" in done.stderr
    assert World.objects.filter(name="Opsville").count() == 1  # refused: nothing deleted


def test_run_fast_forwards_a_world_headless(world):
    out = town("run", "--steps", "120")
    assert "for 120 steps (120 s of world time)" in out
    snap = WorldSnapshot.objects.filter(world=world).latest("id")
    assert snap.t >= 120_000
    residents = world.players.filter(kind="agent").count()
    assert len(snap.data["players"]) == residents
    assert Input.objects.filter(world=world, payload__type="move").exists()  # minds decided
    world.refresh_from_db()
    assert world.clock_ms == snap.t
    assert last_audit("run").detail["steps"] == 120
    # and it carries on from there
    town("run", "--steps", "10")
    assert WorldSnapshot.objects.filter(world=world).latest("id").t >= snap.t + 10_000


def test_run_refuses_while_an_engine_holds_the_world(world):
    with headless.world_lease(world.pk) as taken:
        assert taken
        assert "an engine is running Opsville" in refused("run", "--steps", "3")
    assert "at least 1" in refused("run", "--steps", "0")


def test_fork_copies_the_world_with_its_memories(world):
    from agents.models import Memory

    town("run", "--steps", "30")
    ada = world.players.get(pid="ada")
    conv = Conversation.objects.create(world=world, cid="c1", participants=["ada", "bram"])
    Message.objects.create(
        world=world, conversation=conv, mid="m1", author="ada", author_name="Ada", text="Hi", t=1
    )
    seen = Memory.objects.create(agent=ada, kind="observation", text="Bram looked tired")
    thought = Memory.objects.create(agent=ada, kind="reflection", text="Bram works too hard")
    thought.evidence.add(seen)

    out = town("fork", str(world.pk), "Opsville Two")
    fork = World.objects.get(name="Opsville Two")
    assert f"into #{fork.pk}" in out
    assert (fork.status, fork.frozen_reason, fork.is_current) == ("frozen", "idle", False)
    assert fork.players.count() == world.players.count()
    assert fork.messages.get().conversation.world == fork
    fork_ada = fork.players.get(pid="ada")
    copied = Memory.objects.get(agent=fork_ada, kind="reflection")
    assert [m.text for m in copied.evidence.all()] == ["Bram looked tired"]
    assert Memory.objects.filter(agent=ada).count() == 2  # the source keeps its own
    assert fork.snapshots.get().t == world.snapshots.latest("id").t
    assert last_audit("fork").detail["source"] == world.pk
    assert "there is no world 999999" in refused("fork", "999999", "Nowhere")


def test_load_history_and_interview_reach_the_minds(world, tmp_path):
    path = tmp_path / "history.csv"
    path.write_text(HISTORY)
    assert "Loaded 1 memories into Opsville" in town("load-history", str(path))
    assert last_audit("load_history").detail["memories"] == 1
    answer = town("interview", "Ada", "Where is the spare key?")
    assert "flowerpot" in answer
    assert last_audit("interview").detail["resident"] == "Ada"
    assert "not found" in refused("interview", "Nobody", "Hello?")
    assert "cannot read" in refused("load-history", str(tmp_path / "missing.csv"))


def test_export_writes_json_lines(world, tmp_path):
    town("run", "--steps", "20")
    path = tmp_path / "world.jsonl"
    out = town("export", "--output", str(path))
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert f"{len(lines)} lines" in out
    assert lines[0]["type"] == "world" and lines[0]["name"] == "Opsville"
    kinds = {line["type"] for line in lines}
    assert {"player", "input", "history", "snapshot"} <= kinds
    assert last_audit("export").world == world
    assert json.loads(town("export").splitlines()[0])["type"] == "world"  # to stdout


def test_forget_removes_what_a_person_said(world):
    from agents.models import Memory

    user = User.objects.create_user("nosy", "n@example.com", "pw-for-tests-1")
    conv = Conversation.objects.create(world=world, cid="c9", participants=[f"h{user.pk}", "ada"])
    Message.objects.create(
        world=world,
        conversation=conv,
        mid="m9",
        author=f"h{user.pk}",
        author_name="Nosy",
        author_user=user,
        text="my secret",
        t=5,
    )
    Input.objects.create(
        world=world, key="u:1", t=5, user=user, payload={"type": "say", "text": "my secret"}
    )
    Memory.objects.create(
        agent=world.players.get(pid="ada"),
        kind="conversation",
        text="Nosy said: my secret",
        author_user=user,
        conversation=conv,
    )
    out = town("forget", "--user", "nosy")
    assert "1 messages removed" in out
    assert not Message.objects.filter(author_user=user).exists()
    assert Input.objects.get(key="u:1").payload["text"] == "[forgotten]"
    assert not Memory.objects.filter(text__contains="my secret").exists()
    entry = last_audit("forget")
    assert entry.detail["user"] == "nosy" and "my secret" not in json.dumps(entry.detail)
    assert "no user 'ghost'" in refused("forget", "--user", "ghost")


def test_music_now_makes_a_track(world):
    out = town("music", "--now")
    track = world.tracks.get()
    assert f"New procedural track for Opsville (#{world.pk}): {track.file.url}" in out
    assert last_audit("music").detail["source"] == "procedural"


@pytest.mark.django_db(transaction=True)
def test_vacuum_prunes_old_inputs_but_never_those_after_the_snapshot(settings):
    world = services.init_world("Dusty")
    town("run", "--steps", "60")
    snap = world.snapshots.latest("id")
    WorldSnapshot.objects.filter(world=world).exclude(pk=snap.pk).delete()
    after = Input.objects.create(world=world, key="late", t=snap.t + 1, payload={"type": "x"})
    settings.TOWN_INPUT_KEEP_DAYS = 0
    settings.TOWN_HISTORY_KEEP_DAYS = 0
    before = Input.objects.filter(world=world, id__lte=snap.last_input).count()
    assert before > 0
    out = town("vacuum")
    assert f"and {before} inputs" in out
    assert "vacuumed" in out
    assert list(Input.objects.filter(world=world)) == [after]  # needed to recover: kept
    # the replay still knows where every resident stood when the old moves went
    world.refresh_from_db()
    arrived = world.history.filter(kind="arrived", t=world.clock_ms - 1)
    assert arrived.count() == world.players.filter(kind="agent").count()
    assert not world.history.filter(kind="move", t__lt=world.clock_ms).exists()
    assert last_audit("vacuum").detail["inputs"] == before


@pytest.mark.django_db(transaction=True)
def test_stale_engine_leases_are_expired():
    import psycopg

    from town.lease import LEASE_NAMESPACE, lease_connection_params
    from town.maintenance import expire_stale_leases

    world = services.create_world("Hung")
    hung = psycopg.connect(**lease_connection_params())
    hung.execute("SELECT pg_try_advisory_lock(%s, %s)", (LEASE_NAMESPACE, world.pk))
    assert world.pk in services.lease_holders()
    assert expire_stale_leases(max_idle=3600) == []  # recent enough: left alone
    assert expire_stale_leases(max_idle=0) == [hung.info.backend_pid]
    assert world.pk not in services.lease_holders()
    hung.close()


@pytest.mark.django_db(transaction=True)
async def test_kick_restarts_a_running_engine(town_engine):
    world = town_engine
    # running: the residents have walked in (the engine listens for orders by then)
    await wait_until(lambda: world.history.filter(kind="player_joined").exists())
    out = await database_sync_to_async(town)("kick", "--world", str(world.pk))
    assert "its engine stopped and starts again" in out
    entry = await database_sync_to_async(last_audit)("kick")
    assert entry.detail["outcome"].startswith("its engine stopped")
    await wait_until(lambda: world.pk in services.lease_holders())


@pytest.fixture
async def town_engine():
    from town.management.commands.runtown import run_roles

    world = await database_sync_to_async(services.create_world)("Kicked")
    stop = asyncio.Event()
    roles = asyncio.ensure_future(run_roles(["engine"], stop))
    yield world
    stop.set()
    await asyncio.wait_for(roles, 20)


async def wait_until(predicate, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if await database_sync_to_async(predicate)():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_admin_actions_call_the_same_services(world, client):
    admin = User.objects.create_superuser("root", "r@example.com", "pw-for-tests-1")
    client.force_login(admin)
    response = client.post(
        "/admin/town/world/",
        {"action": "freeze", "_selected_action": [world.pk]},
        follow=True,
    )
    assert response.status_code == 200
    world.refresh_from_db()
    assert world.status == "frozen"
    entry = AuditEntry.objects.get(action="freeze")
    assert entry.actor == admin
    client.post("/admin/town/world/", {"action": "freeze", "_selected_action": [world.pk]})
    assert AuditEntry.objects.filter(action="freeze").count() == 1  # refused, not repeated
    response = client.post(
        "/admin/town/world/", {"action": "export", "_selected_action": [world.pk]}
    )
    first = json.loads(b"".join(response.streaming_content).splitlines()[0])
    assert first["type"] == "world"
    for page in (
        "town/world",
        "town/person",
        "town/resident",
        "town/conversation",
        "town/message",
        "town/auditentry",
        "music/track",
        "procrastinate/procrastinatejob",
    ):
        assert client.get(f"/admin/{page}/").status_code == 200, page
