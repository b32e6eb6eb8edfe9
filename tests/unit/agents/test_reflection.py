"""Reflection fires as in the paper: a few times per active game day (the threshold fitted to
this memory stream) and once at the end of the day, and every insight cites its evidence."""

from __future__ import annotations

import json
import re

import pytest

from agents.mind import Mind
from agents.models import Memory
from agents.residents import load_town
from town.models import Player

from .helpers import HOUR, next_request, seen, talk

pytestmark = pytest.mark.django_db


def insights_of(player: Player) -> list[Memory]:
    return list(Memory.objects.filter(agent=player, kind="reflection").order_by("created_t", "id"))


def live_a_day(mind: Mind, world, ada, friends, until_hour: int = 23) -> None:
    """One active game day from 07:00 as the worker drives it: a look around every game hour
    (people nearby are noted), a conversation every other hour, and the reflection check after
    every decision and every conversation."""
    cafe = mind.town.town_map.areas["cafe"]
    x, y = (int(v) for v in cafe.center)
    topics = ["the fair moved to Friday", "the bakery is hiring", "a new baby at the school"]
    for hour in range(until_hour - 7):
        t = hour * HOUR + 1000
        nearby = [seen(f) for f in friends]
        mind.decide(next_request(ada, t, x, y, nearby, "cafe", rid=f"n{hour}"))
        mind.reflect_if_due("ada", t)
        if hour % 2 == 0:
            friend = friends[hour // 2 % len(friends)]
            lines = [(friend, f"Did you hear? {topics[hour % 3]}!"), (ada, "Really? Tell me.")]
            end = talk(world, f"c{hour}", lines, t + 2000)
            mind.observe([{"kind": "conversation_ended", "t": end, "conversation": f"c{hour}"}])
            mind.reflect_if_due("ada", end)


def test_an_active_day_brings_a_few_reflections_citing_their_evidence(
    offline, mind, world, ada, bram, cora
):
    live_a_day(mind, world, ada, [bram, cora])
    insights = insights_of(ada)
    reflections = {m.created_t for m in insights}  # one reflection can draw several insights
    assert 2 <= len(reflections) <= 6
    assert 2 <= len(insights) <= 15
    for insight in insights:
        cited = list(insight.evidence.all())
        assert cited, insight.text
        assert all(m.agent_id == ada.pk and m.kind != "reflection" for m in cited)
    assert any("Bram" in m.text or "Cora" in m.text for m in insights)


def test_the_day_ends_with_a_reflection_once(offline, mind, world, ada, bram):
    resident = mind.town.residents["ada"]
    for n in range(5):  # 10, and the conversation: at least END_OF_DAY_MIN_IMPORTANCE
        mind.remember(resident, "observation", f"Saw {bram.name} at the cafe.", 2, n * HOUR // 3)
    end = talk(world, "c1", [(bram, "The fair moved!"), (ada, "Oh!")], 2 * HOUR)
    mind.observe([{"kind": "conversation_ended", "t": end, "conversation": "c1"}])
    assert mind.reflect_if_due("ada", 14 * HOUR) == 0  # 21:00: below the threshold, not late
    assert insights_of(ada) == []
    assert mind.reflect_if_due("ada", 15 * HOUR + 500) >= 1  # 22:00 on day 1
    texts = [m.text for m in insights_of(ada)]
    assert any(t.startswith("Looking back on day 1") for t in texts)
    assert all(m.evidence.exists() for m in insights_of(ada))
    mind.remember(resident, "observation", f"Saw {bram.name} at the park.", 2, 15 * HOUR + 600)
    assert mind.reflect_if_due("ada", 16 * HOUR) == 0  # once per day


def test_a_quiet_day_leaves_nothing_to_look_back_on(offline, mind, world, ada, bram):
    assert mind.reflect_if_due("ada", 15 * HOUR + 500) == 0
    assert insights_of(ada) == []
    # A day with little new since the last reflection (five sightings: 10) adds nothing.
    resident = mind.town.residents["ada"]
    for n in range(5):
        mind.remember(resident, "observation", f"Saw {bram.name} at the park.", 2, 16 * HOUR + n)
    assert mind.reflect_if_due("ada", 39 * HOUR + 500) == 0  # 22:00 on day 2
    assert insights_of(ada) == []


def test_model_insights_cite_the_statements_they_were_drawn_from(fake_llm, world, ada, settings):
    settings.MIND_REFLECTION_THRESHOLD = 10
    mind = Mind(load_town(world.pk))
    resident = mind.town.residents["ada"]
    for n, text in enumerate(
        ["Bram fixed the cafe roof.", "Bram stayed late to help.", "The fair moved to Friday."]
    ):
        mind.remember(resident, "observation", text, 4, n * 1000)
    fake_llm.script("Questions", json.dumps({"questions": ["What is Bram like?"]}))
    fake_llm.script(
        "Insights",
        json.dumps({"insights": [{"text": "Bram is generous.", "evidence": [0, 1, 9]}]}),
    )
    assert mind.reflect_if_due("ada", 5000) == 1
    prompt = fake_llm.chats("Insights")[-1]["messages"][-1]["content"]
    statements = dict(re.findall(r"^(\d+)\. (.*)$", prompt, re.M))
    [insight] = insights_of(ada)
    assert insight.text == "Bram is generous."
    cited = {m.text for m in insight.evidence.all()}
    assert cited == {statements["0"], statements["1"]}  # 9 was no statement: not cited
    assert "<untrusted" not in prompt.split("Statements:")[1]  # Ada's own observations
