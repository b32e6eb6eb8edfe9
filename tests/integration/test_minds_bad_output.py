"""The model says something wrong on purpose — another JSON shape, prose, places the map does
not have, 5000 characters, nothing at all — and the minds cope: they fall back to the
routine or offline mind, cut text to the protocol's limit, ignore unknown places, and the
worker and the world keep going. Real PostgreSQL, the fake provider in its `bad` modes."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async

from agents import offline
from agents import services as agents_services
from agents.mind import Mind
from agents.models import Memory, MindState, ModelCall
from agents.planning import entry_at
from agents.residents import load_town
from tests.fakes.openai_server import BAD_KINDS, FakeOpenAI
from tests.inbox import eventually
from tests.unit.agents.helpers import HOUR, human, next_request, reply_request, talk
from tests.wsclient import Socket
from town import services as town_services
from town.management.commands.runtown import run_roles
from town.models import Player
from town.protocol import MAX_TEXT

pytestmark = [pytest.mark.django_db(transaction=True)]

UNUSABLE = ["wrong_schema", "not_json", "empty"]


@pytest.fixture
def fake(settings):
    fake = FakeOpenAI().start()
    settings.LLM_BASE_URL, settings.LLM_API_KEY = fake.url, "sk-test"
    settings.LLM_TIMEOUT = 2.0
    settings.LLM_MAX_RETRIES = 1
    from agents import budget

    budget.reset()
    yield fake
    fake.stop()
    budget.reset()


@pytest.fixture
def world(fake):
    return town_services.create_world("Nonsenseville")


def ada_of(world) -> tuple[Mind, dict, Player]:
    mind = Mind(load_town(world.pk))
    return mind, mind.town.residents["ada"], Player.objects.get(world=world, pid="ada")


@pytest.mark.parametrize("kind", UNUSABLE)
def test_an_unusable_plan_falls_back_to_the_routine(fake, world, kind, settings):
    fake.bad = kind
    mind, resident, ada = ada_of(world)
    moved = mind.decide(next_request(ada, 1 * HOUR, 1, 1))
    assert moved and moved[0]["type"] == "move"
    assert len(fake.chats("DayPlan")) == settings.LLM_MAX_RETRIES + 1  # bounded retries
    assert MindState.objects.get(agent=ada).schedule == offline.day_plan(resident, [])
    assert ModelCall.objects.filter(purpose="plan").count() == settings.LLM_MAX_RETRIES + 1


def test_places_the_map_does_not_have_are_ignored(fake, world):
    fake.bad = "unknown_area"
    mind, resident, ada = ada_of(world)
    mind.decide(next_request(ada, 1 * HOUR, 1, 1))
    schedule = MindState.objects.get(agent=ada).schedule
    assert [e["hour"] for e in schedule] == [7, 10, 13, 16, 19]  # the model's hours are kept
    assert all(e["area"] in mind.town.town_map.areas for e in schedule)
    routine = offline.day_plan(resident, [])
    for entry in schedule:  # each unknown place became the routine's place for that hour
        assert entry["area"] == (entry_at(routine, entry["hour"]).get("area") or resident["home"])


def test_over_long_answers_are_cut_to_the_limits(fake, world):
    fake.bad = "too_long"
    mind, _resident, ada = ada_of(world)
    mind.decide(next_request(ada, 1 * HOUR, 1, 1))
    assert all(len(e["activity"]) <= 120 for e in MindState.objects.get(agent=ada).schedule)
    ana, _ = human(world, "ana", "Ana")
    said = mind.decide(reply_request(ada, ana, "c1", [(ana, "Tell me everything.")], 2 * HOUR))
    line = said[0]
    assert line["type"] == "say" and len(line["text"]) == MAX_TEXT  # the protocol's limit
    end = talk(world, "c2", [(ana, "Hello"), (ada, "Hi")], t0=3 * HOUR)
    mind.observe([{"kind": "conversation_ended", "t": end, "conversation": "c2"}])
    memory = Memory.objects.get(agent=ada, kind="conversation")
    summary = memory.text.split("). ", 1)[1]  # after "Talked with Ana (day …)."
    assert len(summary) <= 600 and summary.startswith("word word")
    answer = mind.interview("ada", "What happened?", end)
    assert answer  # an operator's interview may be long; it is not sent to pages


@pytest.mark.parametrize("kind", UNUSABLE)
def test_an_unusable_reply_falls_back_to_the_offline_mind(fake, world, kind, settings):
    fake.bad = kind
    mind, _resident, ada = ada_of(world)
    ana, _ = human(world, "ana", "Ana")
    said = mind.decide(reply_request(ada, ana, "c1", [(ana, "Hello Ada!")], 2 * HOUR))
    assert said[0]["type"] == "say" and 0 < len(said[0]["text"]) <= MAX_TEXT
    assert "answer" not in said[0]["text"] and "park today" not in said[0]["text"]
    assert len(fake.chats("Reply")) == settings.LLM_MAX_RETRIES + 1
    # The same words the offline mind says when there is no model at all.
    settings.LLM_BASE_URL = settings.LLM_API_KEY = ""
    offline_mind, _, _ = ada_of(world)
    again = offline_mind.decide(reply_request(ada, ana, "c1", [(ana, "Hello Ada!")], 2 * HOUR))
    assert again[0]["text"] == said[0]["text"]


def test_meetings_at_unknown_places_are_not_slotted_in(fake, world):
    fake.bad = "unknown_area"
    mind, _resident, ada = ada_of(world)
    mind.decide(next_request(ada, 1 * HOUR, 1, 1))
    before = MindState.objects.get(agent=ada).schedule
    ana, _ = human(world, "ana", "Ana")
    end = talk(world, "c1", [(ana, "Meet me on the moon at three?"), (ada, "Sure!")], 2 * HOUR)
    mind.observe([{"kind": "conversation_ended", "t": end, "conversation": "c1"}])
    assert Memory.objects.filter(agent=ada, kind="conversation").exists()
    after = MindState.objects.get(agent=ada).schedule
    assert after == before and not any("moon" in str(e) for e in after)


@pytest.mark.parametrize("kind", ["empty", "not_json"])
def test_interviews_survive_empty_or_plain_answers(fake, world, kind):
    fake.bad = kind
    mind, _, _ = ada_of(world)
    answer = mind.interview("ada", "How is the cafe?", 2 * HOUR)
    assert answer.strip()  # an empty model answer falls back to the offline mind
    if kind == "not_json":  # free text needs no JSON: the model's words stand
        assert "park today" in answer


async def test_the_world_keeps_running_while_the_model_talks_nonsense(fake, settings):
    fake.bad = "mixed"  # every kind of nonsense in turn, from the residents' first plans on
    world = await database_sync_to_async(town_services.create_world)("Babbleton")
    stop = asyncio.Event()
    roles = asyncio.ensure_future(run_roles(["engine", "worker"], stop))
    watcher = Socket(world.pk)
    try:
        await watcher.open()
        await eventually(lambda: set(fake.bad_given) == set(BAD_KINDS))
        moved: set[str] = set()
        while len(moved) < 3:  # residents keep going about their day
            event = await watcher.until(lambda e: e.get("kind") == "move", timeout=30)
            moved.add(event["player"])
        assert not roles.done(), "the engine or the worker stopped"
        # An operator's interview still gets an answer, and the page is told the truth.
        interview = database_sync_to_async(agents_services.interview)
        assert await interview(world, "ada", "What are you up to?")
        lines = [e["text"] for e in watcher.events if e.get("kind") == "message"]
        assert all(0 < len(text) <= MAX_TEXT for text in lines)

        def planned_places() -> tuple[set[str], set[str]]:
            schedules = MindState.objects.filter(agent__world=world).values_list(
                "schedule", flat=True
            )
            places = {e["area"] for schedule in schedules for e in schedule}
            return places, set(load_town(world.pk).town_map.areas)

        places, known = await database_sync_to_async(planned_places)()
        assert places and places <= known  # no moon, no Atlantis
    finally:
        await watcher.close()
        stop.set()
        await asyncio.wait_for(roles, 20)
