"""Resident-to-resident conversations written in one model call and revealed line by line; a
person joining switches to turn by turn; bad scripts fall back; a conversation keeps the mind
mode it started with; past their allowance (MIND_BUDGET_PEOPLE_SHARE, paced over the day)
residents talk among themselves offline."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from agents import budget, scripts
from agents import services as minds
from agents.mind import Mind
from agents.models import ConversationMind, Memory, MindState, ModelCall
from agents.residents import load_town
from town.models import World
from town.protocol import MAX_TEXT

from .helpers import HOUR, human, next_request, reply_request, talk

pytestmark = pytest.mark.django_db

T = 3 * HOUR


def say(inputs: list[dict]) -> str:
    return next(i["text"] for i in inputs if i["type"] == "say")


def leaves(inputs: list[dict]) -> bool:
    return any(i["type"] == "leave_conversation" for i in inputs)


def run_pair(mind, a, b, cid="c1", turns=20):
    """Ask the two residents in turn, as the engine does, until one leaves; the lines said."""
    said: list[tuple] = []
    for n in range(turns):
        me, other = (a, b) if n % 2 == 0 else (b, a)
        inputs = mind.decide(reply_request(me, other, cid, said, T + n * 1000, rid=f"r{n}"))
        if any(i["type"] == "say" for i in inputs):
            said.append((me, say(inputs)))
        if leaves(inputs) or not inputs:
            break
    return said


def spend(world, tokens: int) -> None:
    ModelCall.objects.create(world=world, purpose="reply", model="m", tokens_in=tokens)
    budget.forget(world.pk)


def test_two_residents_talk_from_one_model_call(fake_llm, world, ada, bram):
    mind = Mind(load_town(world.pk))
    said = run_pair(mind, ada, bram)
    assert len(fake_llm.chats("Script")) == 1
    assert fake_llm.chats("Reply") == []  # no call per line
    assert [p.pid for p, _ in said] == ["ada", "bram", "ada", "bram"]  # the fake's 4 lines
    assert all(text for _, text in said)
    # The conversation ran as written: its end needs no summary call, and the shared summary
    # is embedded once for both residents.
    end = talk(world, "c1", said, t0=T)
    embeds_before = len([r for r in fake_llm.requests if r["path"].endswith("/embeddings")])
    mind.observe([{"kind": "conversation_ended", "t": end, "conversation": "c1"}])
    assert fake_llm.chats("Summary") == []
    memories = Memory.objects.filter(kind="conversation")
    assert {m.agent.pid for m in memories} == {"ada", "bram"}
    assert all("They talked for a while." in m.text for m in memories)
    embeds = [r for r in fake_llm.requests if r["path"].endswith("/embeddings")]
    assert len(embeds) - embeds_before == 1
    assert not ConversationMind.objects.filter(cid="c1").exists()


def test_a_script_draws_on_what_mattered_not_routine_sightings(fake_llm, world, ada, bram):
    mind = Mind(load_town(world.pk))
    resident = mind.town.residents["ada"]
    mind.remember(resident, "observation", "Saw Bram Stone at the cafe this morning.", 2, 1)
    mind.remember(resident, "conversation", "Cora told me the fair moved to Friday.", 6, 2)
    mind.decide(reply_request(ada, bram, "c1", [], T))
    [script] = fake_llm.chats("Script")
    prompt = script["messages"][-1]["content"]
    assert "the fair moved to Friday" in prompt and "at the cafe this morning" not in prompt


def test_a_person_joining_switches_to_turn_by_turn(fake_llm, world, ada, bram):
    mind = Mind(load_town(world.pk))
    ana, _ = human(world, "ana", "Ana")
    first = mind.decide(reply_request(ada, bram, "c1", [], T))
    assert len(fake_llm.chats("Script")) == 1 and fake_llm.chats("Reply") == []
    request = reply_request(bram, ada, "c1", [(ada, say(first)), (ana, "Hello both!")], T + 1000)
    request["context"]["others"].append({"id": ana.pid, "name": "Ana", "kind": "human"})
    answer = mind.decide(request)
    assert say(answer)
    assert len(fake_llm.chats("Reply")) == 1  # from the person's line on: one call per line
    assert ConversationMind.objects.get(cid="c1").script == []


@pytest.mark.parametrize(
    "content",
    [
        "not json at all",
        "",
        json.dumps({"answer": "yes"}),
        json.dumps({"lines": [], "summary": "x", "importance": 3}),
        json.dumps(
            {
                "lines": [
                    {"speaker": "Nobody Known", "text": "Hi."},
                    {"speaker": "Ada Byrne", "text": "Hello."},
                ],
                "summary": "x",
                "importance": 3,
            }
        ),
        json.dumps(
            {
                "lines": [{"speaker": "Ada Byrne", "text": "Hi."}],
                "summary": "x",
                "importance": 3,
            }
        ),
    ],
    ids=["not_json", "empty", "wrong_schema", "no_lines", "wrong_speakers", "one_line"],
)
def test_an_unusable_script_falls_back_to_turn_by_turn(fake_llm, world, ada, bram, content):
    fake_llm.script("Script", content)
    fake_llm.script("Reply", json.dumps({"text": "Nice weather today.", "end": False}))
    mind = Mind(load_town(world.pk))
    said = run_pair(mind, ada, bram, turns=4)
    assert len(said) == 4 and all(text.strip() for _, text in said)
    assert len(fake_llm.chats("Script")) >= 1
    assert len(fake_llm.chats("Reply")) == 4  # every line asked for on its own


def test_a_script_too_long_is_cut_to_the_limits(fake_llm, world, ada, bram, settings):
    fake_llm.bad = "too_long"
    mind = Mind(load_town(world.pk))
    said = run_pair(mind, ada, bram, turns=40)
    assert len(said) == scripts.most_lines() == 2 * settings.MIND_MAX_TURNS
    assert all(0 < len(text) <= MAX_TEXT for _, text in said)
    assert fake_llm.chats("Reply") == []


def test_with_the_model_unreachable_a_pair_talks_offline(fake_llm, world, ada, bram):
    fake_llm.mode = "error"
    mind = Mind(load_town(world.pk))
    said = run_pair(mind, ada, bram, turns=4)
    assert len(said) >= 2 and all(text.strip() for _, text in said)


def test_past_the_people_share_residents_talk_offline_and_people_keep_the_model(
    fake_llm, world, ada, bram, settings
):
    settings.MIND_DAILY_TOKENS = 10_000
    settings.MIND_BUDGET_PEOPLE_SHARE = 0.8
    spend(world, 8_500)
    mind = Mind(load_town(world.pk))
    asked = len(fake_llm.chats())
    said = run_pair(mind, ada, bram, turns=4)
    assert len(said) >= 2 and all(text for _, text in said)
    assert len(fake_llm.chats()) == asked  # no chat call for residents among themselves
    assert ConversationMind.objects.get(cid="c1").mode == "offline"
    status = budget.mind_status(world.pk)
    assert status["mode"] == "llm" and set(status["offline"]) == {"ada", "bram"}
    # A person still gets the model.
    ana, _ = human(world, "ana", "Ana")
    mind.decide(reply_request(ada, ana, "c2", [(ana, "Hello Ada!")], T))
    assert len(fake_llm.chats("Reply")) == 1
    assert ConversationMind.objects.get(cid="c2").mode == "llm"


def test_residents_kept_offline_pay_no_embedding_per_line(fake_llm, world, ada, bram, settings):
    """Their recall asks by who they talk with (embedded once, then cached), not by each line."""
    settings.MIND_DAILY_TOKENS = 10_000
    spend(world, 8_500)
    mind = Mind(load_town(world.pk))
    before = fake_llm.count()["embeddings"]
    said = run_pair(mind, ada, bram, turns=8)
    assert len(said) >= 4 and ConversationMind.objects.get(cid="c1").mode == "offline"
    assert fake_llm.count()["embeddings"] - before <= 2  # one query for each of the two


def test_raising_the_budget_takes_effect_at_once_but_not_mid_conversation(
    fake_llm, world, ada, bram, cora, settings
):
    settings.MIND_DAILY_TOKENS = 10_000
    spend(world, 10_000)
    mind = Mind(load_town(world.pk))
    first = mind.decide(reply_request(ada, bram, "c1", [], T))
    assert say(first) and fake_llm.chats() == []
    assert budget.mind_status(world.pk)["mode"] == "offline"
    minds.set_daily_tokens(world, 1_000_000)
    assert budget.mind_status(world.pk) == {"mode": "llm", "offline": ["ada", "bram"]}
    # The conversation begun offline stays offline to its end …
    mind.decide(reply_request(bram, ada, "c1", [(ada, say(first))], T + 1000))
    assert fake_llm.chats() == []
    # … a new one starts with the model.
    mind.decide(reply_request(cora, ada, "c2", [], T + 2000))
    assert len(fake_llm.chats("Script")) == 1


def test_a_conversation_begun_with_the_model_keeps_it_when_the_budget_runs_out(
    fake_llm, world, ada, settings
):
    settings.MIND_DAILY_TOKENS = 1_000_000
    mind = Mind(load_town(world.pk))
    ana, _ = human(world, "ana", "Ana")
    mind.decide(reply_request(ada, ana, "c1", [(ana, "Hello Ada!")], T))
    assert len(fake_llm.chats("Reply")) == 1
    spend(world, 2_000_000)
    assert not budget.budget_left(world.pk)
    lines = [(ana, "Hello Ada!"), (ada, "Hi."), (ana, "How are you?")]
    mind.decide(reply_request(ada, ana, "c1", lines, T + 2000, rid="r2"))
    assert len(fake_llm.chats("Reply")) == 2  # the same conversation, still the model
    mind.decide(reply_request(ada, ana, "c2", [(ana, "Hi again")], T + 9000, rid="r3"))
    assert len(fake_llm.chats("Reply")) == 2  # a new one: the budget is spent, offline


def test_without_a_model_every_resident_thinks_offline(offline, world):
    status = budget.mind_status(world.pk)
    assert status["mode"] == "offline"
    assert {"ada", "bram", "cora"} <= set(status["offline"])


def test_past_the_people_share_day_plans_are_made_offline(fake_llm, world, ada, bram, settings):
    settings.MIND_DAILY_TOKENS = 10_000
    spend(world, 8_500)
    mind = Mind(load_town(world.pk))
    mind.decide(next_request(ada, HOUR, 1, 1))
    assert fake_llm.chats("DayPlan") == []
    assert MindState.objects.get(agent=ada).schedule  # the routine's plan
    minds.set_daily_tokens(world, 1_000_000)
    mind.decide(next_request(bram, HOUR, 1, 1))
    assert len(fake_llm.chats("DayPlan")) == 1


def test_residents_spread_their_share_over_the_day(
    fake_llm, world, ada, bram, settings, monkeypatch
):
    """Paced (the default), residents among themselves may have used by each hour only that
    hour's part of their share (one hour ahead); people keep the model all along."""
    settings.MIND_DAILY_TOKENS = 24_000
    settings.MIND_BUDGET_PEOPLE_SHARE = 0.5  # 12,000 for residents over the day
    spend(world, 3_000)
    midnight = budget.day_start()
    clock = [midnight + dt.timedelta(hours=2)]
    monkeypatch.setattr(budget.timezone, "now", lambda: clock[0])
    # 02:00: three hours' worth (with the hour ahead) is 1,500, and 3,000 are spent.
    assert budget.residents_allowance(world.pk) == 1_500
    mind = Mind(load_town(world.pk))
    run_pair(mind, ada, bram, turns=2)
    assert fake_llm.chats() == [] and ConversationMind.objects.get(cid="c1").mode == "offline"
    ana, _ = human(world, "ana", "Ana")
    mind.decide(reply_request(ada, ana, "c2", [(ana, "Hello Ada!")], T))
    assert len(fake_llm.chats("Reply")) == 1  # a person still gets the model
    # 17:00: 18 hours' worth is 9,000; the residents' next conversation has the model.
    clock[0] = midnight + dt.timedelta(hours=17)
    budget.forget(world.pk)
    assert budget.residents_allowance(world.pk) == 9_000
    mind.decide(reply_request(bram, ada, "c3", [], T + 5000, rid="r9"))
    assert len(fake_llm.chats("Script")) == 1
    # Unpaced, the whole share is there from midnight on.
    settings.MIND_BUDGET_PACED = False
    clock[0] = midnight + dt.timedelta(minutes=5)
    budget.forget(world.pk)
    assert budget.residents_allowance(world.pk) == 12_000


def test_the_pace_starts_again_at_a_budget_reset(world, settings):
    midnight = budget.day_start()
    noon = midnight + dt.timedelta(hours=12)
    World.objects.filter(pk=world.pk).update(settings={"budget_reset_at": noon.isoformat()})
    budget.forget(world.pk)
    # Twelve hours to go from the reset, one hour ahead at once, all of it by the end.
    assert budget.day_fraction(world.pk, noon) == pytest.approx(1 / 12)
    assert budget.day_fraction(world.pk, noon + dt.timedelta(hours=5)) == pytest.approx(6 / 12)
    assert budget.day_fraction(world.pk, midnight + dt.timedelta(hours=23.5)) == 1.0


def test_plans_keep_the_last_tenth_of_the_allowance(fake_llm, world, ada, bram, settings):
    """Near the allowance, small talk among residents goes offline first; a day plan still
    gets the model."""
    settings.MIND_DAILY_TOKENS = 10_000
    settings.MIND_BUDGET_PEOPLE_SHARE = 0.8
    settings.MIND_BUDGET_PACED = False  # the allowance is 8,000 all day
    spend(world, 7_500)  # past 90 % of it, within it
    mind = Mind(load_town(world.pk))
    run_pair(mind, ada, bram, turns=2)
    assert (
        fake_llm.chats("Script") == [] and ConversationMind.objects.get(cid="c1").mode == "offline"
    )
    mind.decide(next_request(ada, HOUR, 1, 1))
    assert len(fake_llm.chats("DayPlan")) == 1
