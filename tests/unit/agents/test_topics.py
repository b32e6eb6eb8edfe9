"""What a resident brings up: news chosen from what is on its mind, with no cut-off (a fact
rated 5 travels, later than one rated 9), never told twice to the same listener."""

from __future__ import annotations

import statistics

import pytest

from agents import topics
from agents.models import Memory, MindState

from .helpers import HOUR, human

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
        for hour in range(hours):
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
    listeners = [pid for pid in mind.town.residents if pid != "ada"]
    big_first = first_hours(mind, ada, big, listeners, t0)
    small_first = first_hours(mind, ada, small, listeners, t0)
    assert all(h is not None for h in big_first)
    told_small = [h for h in small_first if h is not None]
    assert len(told_small) >= len(listeners) - 1  # the 5 travels too (no cut-off) ...
    assert statistics.mean(told_small) > statistics.mean(big_first)  # ... more slowly
    # What is said is attributed and paraphrased.
    assert topics.telling(mind.town, small) == "Mara told me they keep bees up on the hill"


def test_news_is_not_told_twice_to_the_same_listener(offline, mind, world):
    mara, _ = human(world, "mara", "Mara")
    joined = {"kind": "player_joined", "t": 0, "player": {"id": mara.pid, "name": "Mara"}}
    mind.observe([joined])
    ada = mind.town.residents["ada"]
    t0 = 2 * HOUR
    fact = plant(mind, ada, "Mara keeps bees up on the hill.", "Mara", 9, t0)
    hour = next(
        h for h in range(24) if fact in topics.news_for(mind.town, ada, "bram", t0 + h * HOUR, {})
    )
    told = {str(fact.pk): ["bram"]}
    for h in range(hour, 48):
        assert fact not in topics.news_for(mind.town, ada, "bram", t0 + h * HOUR, told)
    # The same fact kept again (from another conversation) is not news to Bram either.
    again = plant(mind, ada, "Mara keeps bees up on the hill.", "Mara", 9, t0 + HOUR)
    for h in range(hour, 48):
        assert again not in topics.news_for(mind.town, ada, "bram", t0 + h * HOUR, told)
    # Cora has not heard it; Mara is not told her own news.
    assert any(
        fact in topics.news_for(mind.town, ada, "cora", t0 + h * HOUR, {}) for h in range(24)
    )
    mara = next(pid for pid, name in mind.town.names.items() if name == "Mara")
    assert not any(topics.news_for(mind.town, ada, mara, t0 + h * HOUR, {}) for h in range(24))


def test_the_mind_records_what_it_told_whom(offline, mind, world):
    human(world, "mara", "Mara")
    ada = mind.town.residents["ada"]
    fact = plant(mind, ada, "Mara keeps bees up on the hill.", "Mara", 9, 2 * HOUR)
    from town.models import Player

    from .helpers import reply_request

    ada_p = Player.objects.get(world=world, pid="ada")
    bram = Player.objects.get(world=world, pid="bram")
    said = None
    for h in range(24):
        out = mind.decide(reply_request(ada_p, bram, f"c{h}", [], 2 * HOUR + h * HOUR, rid=f"r{h}"))
        if "bees" in out[0]["text"]:
            said = h
            break
    assert said is not None
    assert "bram" in MindState.objects.get(agent=ada_p).told[str(fact.pk)]
    for h in range(said + 1, 48):
        out = mind.decide(reply_request(ada_p, bram, f"d{h}", [], 2 * HOUR + h * HOUR, rid=f"s{h}"))
        assert "bees" not in out[0]["text"]
