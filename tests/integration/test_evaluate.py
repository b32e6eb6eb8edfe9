"""`town evaluate` on real PostgreSQL with the offline mind: the table prints with every
category, planted facts are recalled, and the world it forked from is left as it was."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError

from agents import evaluation
from agents.evaluation import CATEGORIES
from agents.models import Memory, MindState, ModelCall, Relationship
from agents.prompts import escape
from ops import services as levers
from town import services
from town.language import set_world_language
from town.models import AuditEntry, Conversation, HistoryEvent, Input, Message, Player, World

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def offline(settings):
    settings.LLM_BASE_URL = ""
    settings.LLM_API_KEY = ""
    settings.LLM_JUDGE_MODEL = ""


def town(*args: str) -> str:
    out = StringIO()
    call_command("town", *args, stdout=out)
    return out.getvalue()


def counts(world: World) -> dict[str, int]:
    """Every kind of row a world owns."""
    agents = Player.objects.filter(world=world)
    return {
        "players": agents.count(),
        "conversations": Conversation.objects.filter(world=world).count(),
        "messages": Message.objects.filter(world=world).count(),
        "inputs": Input.objects.filter(world=world).count(),
        "history": HistoryEvent.objects.filter(world=world).count(),
        "memories": Memory.objects.filter(agent__world=world).count(),
        "minds": MindState.objects.filter(agent__world=world).count(),
        "relationships": Relationship.objects.filter(agent__world=world).count(),
        "audit": AuditEntry.objects.filter(world=world).count(),
        "model calls": ModelCall.objects.filter(world=world).count(),
    }


def row(table: str, name: str) -> list[str]:
    """The cells of the first table row starting with `name`."""
    line = next(line for line in table.splitlines() if line.startswith(name))
    return re.findall(r"\d\.\d\d|-", line[len(name) :])


def test_the_battery_prints_every_category_recalls_planted_facts_and_leaves_the_world_alone():
    world = services.init_world("Hearthvale")
    levers.interview_resident(world.pk, "ada", "How are you?", actor="test")  # some history
    before = counts(world)
    worlds, users = World.objects.count(), User.objects.count()

    table = town("evaluate", "--answers")

    assert f"a fork of #{world.pk} Hearthvale" in table and "deleted afterwards" in table
    for category in (*CATEGORIES, "overall"):
        assert row(table, category), f"no {category} row in:\n{table}"
    asked, *_ = re.findall(r"\d+", table.split("\noverall")[1])
    assert int(asked) == 7 * Player.objects.filter(world=world, kind="agent").count()
    _acknowledged, recall, context, judge = row(table, "memory")
    assert float(recall) > 0, table  # the offline mind recalls what visitors told it
    assert context == judge == "-"  # no model: no prompts to score, no judge
    assert "What did Mara tell you?" in table and "bees" in table
    # The source world is as it was, and the evaluation world is gone with its visitors.
    assert counts(world) == before
    assert World.objects.count() == worlds and User.objects.count() == users
    assert AuditEntry.objects.filter(action="evaluate").exists()


def test_spanish_worlds_are_asked_in_spanish_and_keep_their_world():
    world = services.init_world("Villaluz")
    set_world_language(world, "es", actor="test")
    before = counts(world)

    table = town("evaluate", "--world", str(world.pk), "--answers")

    assert "language es" in table and "¿Qué te contó Mara?" in table
    assert float(row(table, "memory")[1]) > 0, table
    assert counts(world) == before


def test_keep_leaves_the_evaluation_world_to_inspect_and_fresh_needs_no_world():
    table = town("evaluate", "--fresh", "--keep")
    assert "a fresh world" in table and "kept" in table
    kept = World.objects.get(name__startswith="Evaluation")
    assert kept.status == World.Status.FROZEN and not kept.is_current
    assert Memory.objects.filter(agent__world=kept, source="fact").exists()


def test_an_unknown_world_is_refused():
    with pytest.raises(CommandError, match="there is no world 999"):
        town("evaluate", "--world", "999")


def test_with_a_model_each_prompt_is_scored_for_what_it_carried_and_a_judge_rates(
    fake_model, settings
):
    settings.LLM_JUDGE_MODEL = "fake-judge"
    fake_model.script("Judgement", '{"score": 5, "reason": "Sounds like her."}')
    world = services.init_world("Hearthvale")
    before = counts(world)

    report = evaluation.evaluate(world.pk, ways=("interview",))

    assert report.mind == "model" and counts(world) == before
    # What the battery says a prompt carried is what the provider really received.
    interviews = [
        "\n".join(m["content"] for m in r["messages"])
        for r in fake_model.requests
        if r["path"].endswith("/chat/completions") and r.get("stream")
    ]
    assert len(interviews) == len(report.answers)
    for answer in [a for a in report.answers if a.question.keys]:
        asked = escape(answer.question.text)
        [sent] = [p for p in interviews if asked in p and f"You are {answer.resident}," in p]
        carried = all(key in sent.replace(asked, "") for key in answer.question.keys)
        assert answer.context is not None and carried == (answer.context == 1.0)
    judged = [r for r in fake_model.requests if r.get("model") == "fake-judge"]
    assert len(judged) == len(report.answers)  # one judge call per answer
    assert all(a.judge == 5 for a in report.answers)
    table = report.table()
    assert "model mind" in table and row(table, "memory")[2] != "-"
    assert row(table, "overall")[3] == "5.00"
