"""Residents added, edited and retired while the world runs: a real engine and worker in this
loop, a watching WebSocket, real PostgreSQL and the fake model server."""

from __future__ import annotations

import asyncio
import io
import json

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from agents.models import Memory
from ops import services as levers
from tests.fakes.openai_server import FakeOpenAI
from tests.inbox import wait_for
from tests.wsclient import Socket
from town import persistence, residents, selectors, services
from town.management.commands.runtown import run_roles
from town.models import AuditEntry, Player, World

pytestmark = [pytest.mark.django_db(transaction=True)]

ZOE = {
    "id": "zoe",
    "name": "Zoe Marsh",
    "character": "gus",
    "identity": "Zoe feeds the pigeons on the plaza every day.",
    "home": "plaza",
    "routine": [{"hour": 0, "area": "plaza", "activity": "feeding the pigeons"}],
}


def empty_world() -> World:
    """A world with no residents yet, whose residents are asked to decide quickly."""
    world = services.create_world("Newtown")
    world.players.all().delete()
    world.settings = {"engine": {"agent_idle_ms": 300}}
    world.save(update_fields=["settings"])
    return world


@pytest.fixture
async def live_town(settings, fake_model):
    """Engine + worker in this loop; residents think through the fake model."""
    settings.LLM_TIMEOUT = 2.0
    world = await database_sync_to_async(empty_world)()
    stop = asyncio.Event()
    roles = asyncio.ensure_future(run_roles(["engine", "worker"], stop))
    yield world, fake_model
    stop.set()
    await asyncio.wait_for(roles, 20)


def plans_mentioning(fake: FakeOpenAI, text: str) -> list[dict]:
    return [
        c for c in fake.chats("DayPlan") if any(text in str(m["content"]) for m in c["messages"])
    ]


async def test_resident_added_edited_and_retired_while_the_world_runs(live_town):
    world, fake = live_town
    watcher = Socket(world.pk)
    await watcher.open()
    add = database_sync_to_async(residents.add_resident)
    await add(world.pk, ZOE, "tester")

    joined = await watcher.until(lambda e: e.get("kind") == "player_joined")
    assert joined["player"]["id"] == "zoe" and joined["player"]["character"] == "gus"
    # It thinks: the model plans its day from its routine, and it starts doing things.
    await watcher.until(lambda e: e.get("kind") in ("move", "activity") and e["player"] == "zoe")
    await wait_for(lambda: plans_mentioning(fake, "feeding the pigeons"), 10, "zoe's plan")

    edit = database_sync_to_async(residents.edit_resident)
    changes = {
        "name": "Zoe Quill",
        "character": "bram",
        "identity": "Zoe has become the town's new baker.",
        "routine": [{"hour": 6, "area": "cafe", "activity": "baking bread"}],
    }
    # Given the model plans the new baker's day at the cafe (scripted: the fake answers
    # neutrally otherwise), she walks there.
    fake.script("DayPlan", '{"schedule": [{"hour": 0, "area": "cafe", "activity": "baking"}]}')
    _row, changed = await edit(world.pk, "zoe", changes, "tester")
    assert changed == ["character", "identity", "name", "routine"]
    updated = await watcher.until(lambda e: e.get("kind") == "player_updated")
    assert (updated["player"]["name"], updated["player"]["character"]) == ("Zoe Quill", "bram")
    # The next decision uses the new identity and routine: a new plan, then off to the cafe.
    await wait_for(lambda: plans_mentioning(fake, "town's new baker"), 15, "the new plan")
    assert "baking bread" in str(plans_mentioning(fake, "town's new baker")[0]["messages"])
    area = selectors.town_map(world.map_name).areas["cafe"]
    to_cafe = await watcher.until(
        lambda e: e.get("kind") == "move" and e["player"] == "zoe" and area.contains(*e["path"][-1])
    )
    assert to_cafe["path"]

    retire = database_sync_to_async(residents.retire_resident)
    await retire(world.pk, "zoe", "tester")
    left = await watcher.until(lambda e: e.get("kind") == "player_left")
    assert left["player"] == "zoe"
    await watcher.close()

    def kept() -> tuple[bool, int, list[str]]:
        row = Player.objects.get(world=world, pid="zoe")
        actions = AuditEntry.objects.filter(world=world, action__startswith="resident_")
        return (
            row.present,
            Memory.objects.filter(agent=row).count(),
            sorted(actions.values_list("action", flat=True)),
        )

    present, memories, actions = await database_sync_to_async(kept)()
    assert not present and memories > 0
    assert actions == ["resident_add", "resident_edit", "resident_retire"]


def town(*args: str) -> str:
    out = io.StringIO()
    call_command("town", "resident", *args, stdout=out)
    return out.getvalue()


def test_cli_refuses_bad_residents_and_changes_nothing(tmp_path):
    world = services.create_world("Clitown")
    before = Player.objects.filter(world=world).count()
    base = ["add", "--world", str(world.pk), "--name", "Zed Noor", "--identity", "Zed fixes bikes."]
    refusals = {
        "unknown sprite": [*base, "--id", "zed", "--sprite", "dragon", "--home", "plaza"],
        "already in the world": [*base, "--id", "ada", "--sprite", "ada", "--home", "plaza"],
        "unknown home area": [*base, "--id", "zed", "--sprite", "ada", "--home", "moon"],
        "hour must be": [*base, "--id", "zed", "--sprite", "ada", "--routine", "25", "cafe", "x"],
        "unknown area": [*base, "--id", "zed", "--sprite", "ada", "--routine", "7", "moon", "x"],
        "appears twice": [
            *base, "--id", "zed", "--sprite", "ada",
            *("--routine", "7", "cafe", "a", "--routine", "7", "park", "b"),
        ],
        "id must be": [*base, "--id", "h12", "--sprite", "ada", "--home", "plaza"],
        "is taken by 'ada'": ["add", "--id", "zed", "--name", "ada byrne", "--sprite", "ada",
                              "--identity", "Twin.", "--home", "plaza"],
    }  # fmt: skip
    for reason, args in refusals.items():
        with pytest.raises(CommandError, match=reason):
            town(*args)
    with pytest.raises(CommandError, match="not found"):
        town("edit", "nobody", "--name", "X")
    assert Player.objects.filter(world=world).count() == before
    assert not AuditEntry.objects.filter(action="resident_add").exists()

    spec = tmp_path / "zed.toml"
    spec.write_text(
        'id = "zed"\nname = "Zed Noor"\ncharacter = "ivo"\nidentity = "Zed fixes bikes."\n'
        'home = "workshop"\nroutine = [{ hour = 8, area = "workshop", activity = "fixing" }]\n'
    )
    assert "Added Zed Noor (zed)" in town("add", "--from", str(spec))
    assert "Edited Zed Noor (zed): age" in town("edit", "zed", "--age", "41")
    assert "nothing changed" in town("edit", "zed", "--age", "41")
    assert Player.objects.get(world=world, pid="zed").data["age"] == 41
    assert "Retired Zed Noor" in town("retire", "zed")
    with pytest.raises(CommandError, match="already retired"):
        town("retire", "zed")


def test_a_frozen_world_catches_up_when_its_engine_loads_it():
    world = services.create_world("Sleepyville")
    levers.fast_forward(world.pk, 1, actor="test")  # every resident is in the engine now
    services.freeze_world(world.pk, actor="test")
    residents.retire_resident(world.pk, "ada", "test")
    residents.edit_resident(world.pk, "bram", {"name": "Bram the Elder"}, "test")
    residents.add_resident(world.pk, {**ZOE, "home": "park"}, "test")
    pending = persistence.load_world(world.pk).pending_joins
    assert {(p["type"], p["actor"]) for p in pending} == {
        ("leave", "ada"), ("update_player", "bram"), ("join", "zoe"),
    }  # fmt: skip
    levers.fast_forward(world.pk, 1, actor="test")
    engine = persistence.load_world(world.pk)
    assert engine.pending_joins == []
    assert "ada" not in engine.world.players and "zoe" in engine.world.players
    assert engine.world.players["bram"].name == "Bram the Elder"
    # Ada comes back by id with her memories and definition; a fresh join key is used.
    residents.add_resident(world.pk, {"id": "ada"}, "test")
    assert [p["type"] for p in persistence.load_world(world.pk).pending_joins] == ["join"]
    levers.fast_forward(world.pk, 1, actor="test")
    assert "ada" in persistence.load_world(world.pk).world.players


def test_staff_add_edit_and_retire_residents_in_the_admin(client):
    world = services.create_world("Admintown")
    client.force_login(User.objects.create_superuser("root", "r@example.com", "pw-for-tests-1"))
    data = {"home": "park", "routine": [{"hour": 8, "area": "park", "activity": "jogging"}]}
    form = {"world": world.pk, "pid": "zoe", "name": "Zoe Marsh", "character": "gus",
            "identity": "Zoe jogs.", "data": json.dumps(data)}  # fmt: skip
    bad = client.post("/admin/town/resident/add/", {**form, "character": "dragon"})
    assert bad.status_code == 200 and b"unknown sprite" in bad.content
    assert client.post("/admin/town/resident/add/", form).status_code == 302
    zoe = Player.objects.get(world=world, pid="zoe")
    assert zoe.present and zoe.data["routine"][0]["area"] == "park"
    change = f"/admin/town/resident/{zoe.pk}/change/"
    assert client.post(change, {**form, "name": "Zoe Quill"}).status_code == 302
    zoe.refresh_from_db()
    assert zoe.name == "Zoe Quill"
    client.post(
        "/admin/town/resident/", {"action": "retire_residents", "_selected_action": [zoe.pk]}
    )
    zoe.refresh_from_db()
    assert not zoe.present
    actions = AuditEntry.objects.filter(world=world, action__startswith="resident_")
    assert sorted(actions.values_list("action", flat=True)) == [
        "resident_add", "resident_edit", "resident_retire",
    ]  # fmt: skip
    assert all(a.actor is not None for a in actions)
