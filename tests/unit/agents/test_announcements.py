"""World events: an operator's notice reaches every resident's memory and their plans."""

from __future__ import annotations

import json

import pytest

from agents.mind import Mind
from agents.models import Memory, MindState
from agents.residents import load_town
from ops import services
from town import services as world_services
from town.models import HistoryEvent, Player

from .helpers import HOUR, next_request

pytestmark = pytest.mark.django_db


def test_announcement_is_in_the_planning_prompt_and_changes_the_plan(fake_llm, world, ada):
    mind = Mind(load_town(world.pk))
    mind.decide(next_request(ada, 1 * HOUR, 1, 1, rid="n0"))
    heard = services.announce(world.pk, "A storm is coming tonight", actor="test")
    assert heard == Player.objects.filter(world=world, kind="agent").count()
    notice = Memory.objects.get(agent=ada, source="announcement")
    assert notice.importance == 9 and notice.text == "Town notice: A storm is coming tonight"
    # Given the model, asked again, plans the evening at home (scripted: what a model might
    # make of it), our code asks it again, with the notice, and follows that plan.
    evening = {"hour": 18, "area": "home_ada", "activity": "staying in because of the storm"}
    fake_llm.script("DayPlan", json.dumps({"schedule": [evening]}))
    mind.decide(next_request(ada, 1 * HOUR + 5000, 1, 1, rid="n1"))
    plans = fake_llm.chats("DayPlan")
    assert len(plans) == 2  # planned again because of the notice
    asked = plans[-1]["messages"][-1]["content"]
    assert '<untrusted from="memory">Town notice: A storm is coming tonight</untrusted>' in asked
    assert "storm" not in plans[0]["messages"][-1]["content"]
    assert MindState.objects.get(agent=ada).schedule == [evening]


def test_every_resident_remembers_the_notice_and_replay_keeps_it(offline, world):
    services.announce(world.pk, "  The fair   moves to Sunday ", actor="test")
    residents = Player.objects.filter(world=world, kind="agent")
    for resident in residents:
        assert Memory.objects.filter(
            agent=resident, source="announcement", text="Town notice: The fair moves to Sunday"
        ).exists()
    event = HistoryEvent.objects.get(world=world, kind="announcement")
    assert event.data["text"] == "The fair moves to Sunday"


def test_empty_or_overlong_notices_and_archived_worlds_are_refused(offline, world):
    for bad in ("   ", "x" * 301):
        with pytest.raises(world_services.WrongState):
            services.announce(world.pk, bad)
    world_services.archive_world(world.pk, actor="test")
    with pytest.raises(world_services.WrongState):
        services.announce(world.pk, "Anyone there?")
    assert not Memory.objects.filter(source="announcement").exists()
