"""Residents' minds on real PostgreSQL: plans, conversations remembered, news passed on,
replies grounded in memory (offline and through the fake model), reflection."""

from __future__ import annotations

import pytest

from agents import budget, reflection
from agents.mind import Mind
from agents.models import Memory, MindState, ModelCall
from agents.residents import load_town

from .helpers import HOUR, human, next_request, reply_request, seen, talk

pytestmark = pytest.mark.django_db


def test_offline_next_follows_the_routine_and_plans_once_a_day(offline, mind, ada):
    t = 1 * HOUR  # 08:00 on day 1: Ada works at the cafe
    first = mind.decide(next_request(ada, t, 1, 1))
    assert first[0]["type"] == "move" and "cafe" in first[0]["activity"]
    cafe = mind.town.town_map.areas["cafe"]
    assert cafe.contains(first[0]["x"], first[0]["y"])
    assert first[0]["decision"] == "n1" and first[0]["actor"] == "ada"
    assert mind.decide(next_request(ada, t, 1, 1)) == first  # deterministic
    mind.decide(next_request(ada, t + 1000, 1, 1, rid="n2"))
    plans = Memory.objects.filter(agent=ada, kind="plan")
    assert plans.count() == 1 and "cafe" in plans.get().text
    assert MindState.objects.get(agent=ada).plan_day == 1


def test_conversation_end_writes_a_summary_for_every_resident(offline, mind, world, ada, bram):
    end = talk(world, "c1", [(ada, "Morning Bram!"), (bram, "The library roof is leaking!")])
    mind.observe([{"kind": "conversation_ended", "t": end, "conversation": "c1"}])
    for who, other_said in ((ada, "The library roof"), (bram, "Morning Bram")):
        memory = Memory.objects.get(agent=who, kind="conversation")
        assert other_said in memory.text
        assert memory.conversation.cid == "c1"


def test_resident_answers_a_human_from_memory_offline(offline, mind, world, ada):
    ana, user = human(world, "ana", "Ana")
    end = talk(world, "c1", [(ana, "I'm Ana and I'm opening a bakery on Friday!"), (ada, "Oh!")])
    mind.observe([{"kind": "conversation_ended", "t": end, "conversation": "c1"}])
    memory = Memory.objects.get(agent=ada, kind="conversation")
    assert memory.author_user == user and memory.author_name == "Ana"
    assert memory.importance >= 6
    t = end + 24 * HOUR  # the next day
    asked = [(ana, "Hi Ada"), (ada, "Hello Ana!"), (ana, "What do you remember about my bakery?")]
    answer = mind.decide(reply_request(ada, ana, "c2", asked, t))
    assert answer[0]["type"] == "say"
    assert "bakery on Friday" in answer[0]["text"] and "Ana" in answer[0]["text"]


def test_news_spreads_to_another_resident(offline, mind, world, ada, bram):
    ana, _ = human(world, "ana", "Ana")
    end = talk(world, "c1", [(ana, "I'm opening a bakery on Friday!"), (ada, "Wonderful!")])
    mind.observe([{"kind": "conversation_ended", "t": end, "conversation": "c1"}])
    cafe = mind.town.town_map.areas["cafe"]
    x, y = cafe.center
    wants = mind.decide(next_request(ada, end + 1000, int(x), int(y), [seen(bram)], "cafe"))
    assert wants[0] == {"type": "invite", "to": "bram", "actor": "ada", "decision": "n1"}
    said = mind.decide(reply_request(ada, bram, "c2", [], end + 2000))
    assert "bakery on Friday" in said[0]["text"]
    # told once: the next time they meet there is no news for Bram
    state = MindState.objects.get(agent=ada)
    assert mind.news_for(mind.town.residents["ada"], state, "bram", end + 3000) is None
    # and Bram now knows, with who said it
    end2 = talk(world, "c2", [(ada, said[0]["text"]), (bram, "Good to know.")], t0=end + 2000)
    mind.observe([{"kind": "conversation_ended", "t": end2, "conversation": "c2"}])
    assert "bakery" in Memory.objects.get(agent=bram, kind="conversation").text


def test_agreed_meeting_changes_the_plan(offline, mind, world, ada):
    ana, _ = human(world, "ana", "Ana")
    end = talk(world, "c1", [(ana, "Meet me at the library at 3pm?"), (ada, "Gladly!")])
    mind.observe([{"kind": "conversation_ended", "t": end, "conversation": "c1"}])
    schedule = MindState.objects.get(agent=ada).schedule
    assert {"hour": 15, "area": "library", "activity": "meeting Ana at the library"} in schedule
    at_three = mind.decide(next_request(ada, 8 * HOUR + 5000, 1, 1))  # 15:00
    assert "library" in at_three[0]["activity"]


def test_residents_end_conversations(offline, mind, world, ada, bram, settings):
    lines = []
    for n in range(settings.MIND_MAX_TURNS):
        lines += [(bram, f"Line {n} from Bram"), (ada, f"Line {n} from Ada")]
    answer = mind.decide(reply_request(ada, bram, "c9", lines, 2 * HOUR))
    assert answer[-1]["type"] == "leave_conversation"


def test_reflection_after_enough_importance_cites_evidence(
    offline, mind, world, ada, bram, settings
):
    settings.MIND_REFLECTION_THRESHOLD = 20
    t = 0
    for n in range(4):
        t = talk(
            world, f"c{n}", [(bram, f"Bram's news number {n}: the fair moved!"), (ada, "Oh")], t
        )
        mind.observe([{"kind": "conversation_ended", "t": t, "conversation": f"c{n}"}])
    assert mind.reflect_if_due("ada", t) >= 1
    insight = Memory.objects.filter(agent=ada, kind="reflection").first()
    assert "Bram" in insight.text
    assert insight.evidence.filter(kind="conversation").count() >= 2
    assert MindState.objects.get(agent=ada).unreflected == 0


def test_resident_answers_from_memory_through_the_model(fake_llm, world, ada):
    mind = Mind(load_town(world.pk))
    ana, _ = human(world, "ana", "Ana")
    # Given the model summarises the talk this way (scripted) …
    fake_llm.script("Summary", '{"summary": "Ana is opening a bakery on Friday.", "importance": 7}')
    end = talk(world, "c1", [(ana, "I'm opening a bakery on Friday"), (ada, "How exciting!")])
    mind.observe([{"kind": "conversation_ended", "t": end, "conversation": "c1"}])
    # … our code sent Ana's words to the summariser as hers, delimited as untrusted …
    [summarised] = fake_llm.chats("Summary")
    said = '<untrusted from="Ana">I\'m opening a bakery on Friday</untrusted>'
    assert said in summarised["messages"][-1]["content"]
    # … stored the summary as Ada's memory, embedded by the model, with Ana as its author …
    memory = Memory.objects.get(agent=ada, kind="conversation")
    assert memory.text.endswith("Ana is opening a bakery on Friday.")
    assert memory.importance == 7 and memory.author_user == ana.user
    assert memory.embedder.startswith("model:")
    # … and a day later retrieves it into the reply prompt when Ana asks about it.
    asked = [(ana, "Do you remember what I'm opening?")]
    answer = mind.decide(reply_request(ada, ana, "c2", asked, end + 24 * HOUR))
    prompt = fake_llm.chats("Reply")[-1]["messages"][-1]["content"]
    remembered = prompt.split("What you remember:")[1].split("The conversation so far:")[0]
    assert "Ana is opening a bakery on Friday." in remembered
    assert answer[0]["type"] == "say" and answer[0]["text"]
    purposes = set(ModelCall.objects.values_list("purpose", flat=True))
    assert {"summary", "reply", "embed"} <= purposes


def test_model_failure_falls_back_to_the_offline_mind(fake_llm, world, ada, bram, settings):
    settings.MIND_PROVIDER_FAILURES = 3
    fake_llm.mode = "hang"
    mind = Mind(load_town(world.pk))
    answer = mind.decide(reply_request(ada, bram, "c1", [(bram, "Hello Ada!")], 2 * HOUR))
    assert answer[0]["type"] == "say" and answer[0]["text"]
    moved = mind.decide(next_request(ada, 2 * HOUR, 1, 1, rid="n9"))
    assert moved[0]["type"] == "move"
    # A few timeouts in a row mark the provider down; then it is left alone.
    assert len(fake_llm.requests) == 3
    assert not budget.provider_up()


def test_model_plans_the_day_once(fake_llm, world, ada):
    mind = Mind(load_town(world.pk))
    for n in range(3):
        mind.decide(next_request(ada, 1 * HOUR + n * 1000, 1, 1, rid=f"n{n}"))
    assert len(fake_llm.chats("DayPlan")) == 1
    schedule = MindState.objects.get(agent=ada).schedule
    assert all(e["area"] in mind.town.town_map.areas for e in schedule)


def sightings_and_news(world, sightings: int) -> tuple[Mind, dict]:
    """Ada's mind with routine sightings of Bram (rated 2), then four pieces of his news (5)."""
    mind = Mind(load_town(world.pk))
    resident = mind.town.residents["ada"]
    for n in range(sightings):
        mind.remember(resident, "observation", f"Saw Bram at the cafe, sighting {n}", 2, n)
    for n in range(4):
        mind.remember(resident, "conversation", f"Bram told me news number {n}", 5, 10 + n)
    return mind, resident


def test_reflection_questions_are_about_what_mattered_not_routine_sightings(
    fake_llm, world, ada, bram, settings
):
    mind, resident = sightings_and_news(world, 6)
    reflection.reflect(mind, resident, 20)
    asked = fake_llm.chats("Questions")[0]["messages"][-1]["content"]
    assert asked.count("Bram told me news number") == 4 and "sighting" not in asked
    # With too little that mattered, the sightings are asked about after all.
    Memory.objects.filter(agent=ada, kind="conversation").delete()
    reflection.reflect(mind, resident, 30)
    assert "sighting 5" in fake_llm.chats("Questions")[1]["messages"][-1]["content"]


def test_the_days_look_back_is_one_model_call_on_what_mattered(fake_llm, world, ada, bram):
    mind, resident = sightings_and_news(world, 3)
    assert reflection.reflect(mind, resident, 20, end_of_day=True) >= 1
    assert fake_llm.chats("Questions") == []  # no questions first
    [asked] = fake_llm.chats("Insights")
    prompt = asked["messages"][-1]["content"]
    assert reflection.LOOK_BACK in prompt
    assert prompt.count("Bram told me news number") == 4 and "sighting" not in prompt
    insight = Memory.objects.filter(agent=ada, kind="reflection").first()
    assert insight.evidence.exists()
