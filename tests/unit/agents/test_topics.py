"""What a resident brings up: news chosen from what is on its mind, with no cut-off (a fact
rated 5 travels, later than one rated 9), never told twice to the same listener."""

from __future__ import annotations

import statistics

import pytest

from agents import topics
from agents.models import Memory, MindState
from town.models import Player

from .helpers import HOUR, human, reply_request

pytestmark = pytest.mark.django_db


def plant(mind, resident: dict, text: str, subject: str, importance: int, t: int) -> Memory:
    return mind.remember(
        resident, Memory.Kind.OBSERVATION, text, importance, t, author_name=subject, source="fact"
    )


def first_hours(mind, resident, memory, listeners, t0, hours=48) -> list[int | None]:
    """For each listener, the first game hour at which `memory` would be brought up."""
    out = []
    for pid in listeners:
        first = None
        for hour in range(0, hours, 3):
            chosen = topics.news_for(mind.town, resident, pid, t0 + hour * HOUR, {})
            if memory in chosen:
                first = hour
                break
        out.append(first)
    return out


def test_a_fact_rated_5_still_spreads_later_than_one_rated_9(offline, mind, world):
    human(world, "mara", "Mara")
    human(world, "nico", "Nico")
    ada = mind.town.residents["ada"]
    t0 = 2 * HOUR
    big = plant(mind, ada, "Nico is opening a bakery on Friday.", "Nico", 9, t0)
    small = plant(mind, ada, "Mara keeps bees up on the hill.", "Mara", 5, t0)
    # Forty listeners (ids the town does not know: only the choice is measured here).
    listeners = [f"listener{n}" for n in range(40)]
    big_first = first_hours(mind, ada, big, listeners, t0)
    small_first = first_hours(mind, ada, small, listeners, t0)
    told_big = [h for h in big_first if h is not None]
    told_small = [h for h in small_first if h is not None]
    assert len(told_small) >= 3  # the 5 travels (no cut-off) ...
    assert len(told_big) > 2 * len(told_small)  # ... to fewer people ...
    assert statistics.mean(told_small) > statistics.mean(told_big)  # ... and later
    # What is said is attributed and paraphrased.
    assert topics.telling(mind.town, small) == "Mara told me they keep bees up on the hill"


def first_told(mind, resident, memory, t0, skip=()) -> tuple[str, int]:
    """The first resident (by id) to whom `memory` comes up, and the game hour it does."""
    for pid in sorted(mind.town.residents):
        if pid == resident["id"] or pid in skip:
            continue
        for hour in range(24):
            chosen = topics.news_for(mind.town, resident, pid, t0 + hour * HOUR, {})
            if any(m.text == memory.text for m in chosen):  # this memory or the same news
                return pid, hour
    raise AssertionError("never brought up")


def test_news_is_not_told_twice_to_the_same_listener(offline, mind, world):
    mara, _ = human(world, "mara", "Mara")
    joined = {"kind": "player_joined", "t": 0, "player": {"id": mara.pid, "name": "Mara"}}
    mind.observe([joined])
    ada = mind.town.residents["ada"]
    t0 = 2 * HOUR
    fact = plant(mind, ada, "Mara keeps bees up on the hill.", "Mara", 9, t0)
    listener, hour = first_told(mind, ada, fact, t0)
    told = {str(fact.pk): [listener]}
    for h in range(hour, 48):
        assert fact not in topics.news_for(mind.town, ada, listener, t0 + h * HOUR, told)
    # The same fact kept again (from another conversation) is not news to them either.
    again = plant(mind, ada, "Mara keeps bees up on the hill.", "Mara", 9, t0 + HOUR)
    for h in range(hour, 48):
        assert again not in topics.news_for(mind.town, ada, listener, t0 + h * HOUR, told)
    # Someone else may still hear it; Mara is not told her own news.
    first_told(mind, ada, fact, t0, skip=(listener,))
    assert not any(topics.news_for(mind.town, ada, mara.pid, t0 + h * HOUR, {}) for h in range(24))


def test_the_mind_records_what_it_told_whom(offline, mind, world):
    human(world, "mara", "Mara")
    ada = mind.town.residents["ada"]
    fact = plant(mind, ada, "Mara keeps bees up on the hill.", "Mara", 9, 2 * HOUR)
    pid, hour = first_told(mind, ada, fact, 2 * HOUR)
    ada_p = Player.objects.get(world=world, pid="ada")
    other = Player.objects.get(world=world, pid=pid)
    t = 2 * HOUR + hour * HOUR
    out = mind.decide(reply_request(ada_p, other, "c1", [], t, rid="r1"))
    assert "Mara told me they keep bees up on the hill" in out[0]["text"]
    assert pid in MindState.objects.get(agent=ada_p).told[str(fact.pk)]
    for h in range(hour + 1, 48):
        request = reply_request(ada_p, other, f"d{h}", [], 2 * HOUR + h * HOUR, rid=f"s{h}")
        assert "bees" not in mind.decide(request)[0]["text"]
