"""Relationships: what each resident thinks of the people it talked with, renewed after every
conversation from the summary call (or a template offline), shown in the next prompt and used
in choosing whom to walk up to."""

from __future__ import annotations

import json

import pytest

from agents import services
from agents.mind import Mind
from agents.models import Memory, Relationship
from agents.residents import load_town

from .helpers import HOUR, human, next_request, reply_request, seen, talk

pytestmark = pytest.mark.django_db


def ended(mind: Mind, cid: str, t: int) -> None:
    mind.observe([{"kind": "conversation_ended", "t": t, "conversation": cid}])


def test_the_summary_call_renews_what_each_resident_thinks_of_the_other(fake_llm, world, ada, bram):
    mind = Mind(load_town(world.pk))
    fake_llm.script(
        "Summary",
        json.dumps(
            {
                "summary": "Bram told Ada the library roof leaks; she offered to help.",
                "importance": 4,
                "views": [
                    {"who": "Ada", "of": "Bram", "view": "Bram worries too much about the roof."},
                    {"who": "Bram S.", "of": "ada", "view": "Ada is always ready to help."},
                ],
            }
        ),
    )
    end = talk(world, "c1", [(bram, "The library roof leaks."), (ada, "I'll help!")], HOUR)
    ended(mind, "c1", end)
    assert len(fake_llm.chats("Summary")) == 1 and len(fake_llm.chats()) == 1  # no extra call
    theirs = Relationship.objects.get(agent=ada, other=bram)
    assert theirs.opinion == "Bram worries too much about the roof."
    assert theirs.talks == 1 and theirs.last_t == end
    assert theirs.last_summary.startswith("Bram told Ada the library roof leaks")
    assert Relationship.objects.get(agent=bram, other=ada).opinion == "Ada is always ready to help."
    # The next time they talk, Ada's prompt says what she thinks of Bram.
    mind.decide(reply_request(ada, bram, "c2", [(bram, "Hello again")], end + HOUR))
    prompt = fake_llm.chats("Reply")[-1]["messages"][-1]["content"]
    line = next(x for x in prompt.splitlines() if x.startswith(f"- {bram.name}"))
    assert "What you think of them: Bram worries too much about the roof." in line
    assert "Bram told Ada the library roof leaks" in line


def test_a_view_of_a_visitor_draws_on_their_words_and_stays_delimited(fake_llm, world, ada):
    mind = Mind(load_town(world.pk))
    ana, user = human(world, "ana", "Ana")
    fake_llm.script(
        "Summary",
        json.dumps(
            {
                "summary": "Ana keeps bees on the hill.",
                "importance": 5,
                "views": [{"who": "Ada", "of": "Ana", "view": "Ana is a cheerful beekeeper."}],
            }
        ),
    )
    end = talk(world, "c1", [(ana, "I keep bees on the hill."), (ada, "Lovely!")], HOUR)
    ended(mind, "c1", end)
    row = Relationship.objects.get(agent=ada, other=ana)
    assert row.author_user == user
    mind.decide(reply_request(ada, ana, "c2", [(ana, "Hi again")], end + HOUR))
    prompt = fake_llm.chats("Reply")[-1]["messages"][-1]["content"]
    line = next(x for x in prompt.splitlines() if x.startswith("- Ana, a visitor."))
    assert '<untrusted from="memory">Ana is a cheerful beekeeper.</untrusted>' in line
    # and `town forget` takes the note with the rest of Ana's words
    services.forget_user(user)
    assert not Relationship.objects.filter(agent=ada, other=ana).exists()


def test_without_a_view_from_the_model_a_template_says_what_happened(
    offline, mind, world, ada, bram
):
    end = talk(
        world,
        "c1",
        [(bram, "The library roof leaks again, the library needs money."), (ada, "Oh no.")],
        HOUR,
    )
    ended(mind, "c1", end)
    first = Relationship.objects.get(agent=ada, other=bram)
    assert first.talks == 1
    assert first.opinion.startswith("We first met on day 1")
    assert "library" in first.opinion  # what Bram spoke of
    end = talk(world, "c2", [(ada, "Hello"), (bram, "Hello")], end + HOUR)
    ended(mind, "c2", end)
    again = Relationship.objects.get(agent=ada, other=bram)
    assert again.talks == 2 and again.opinion.startswith("We have talked 2 times")
    assert Relationship.objects.get(agent=bram, other=ada).talks == 2


def test_residents_walk_up_to_people_they_know_more_often(offline, mind, world, ada, bram, cora):
    Relationship.objects.create(agent=ada, other=bram, opinion="A good friend.", talks=4)
    cafe = mind.town.town_map.areas["cafe"]
    x, y = (int(v) for v in cafe.center)
    invited = {"bram": 0, "cora": 0}
    for n in range(300):
        t = 1 * HOUR + n * 500
        request = next_request(ada, t, x, y, [seen(bram), seen(cora)], "cafe", rid=f"n{n}")
        for inp in mind.decide(request):
            if inp["type"] == "invite":
                invited[inp["to"]] += 1
    assert invited["bram"] > 2 * invited["cora"] > 0


def test_a_pair_that_just_talked_does_not_start_again_at_once(offline, mind, world, ada, bram):
    t0 = 1 * HOUR
    Relationship.objects.create(agent=ada, other=bram, opinion="A friend.", talks=4, last_t=t0)
    cafe = mind.town.town_map.areas["cafe"]
    x, y = (int(v) for v in cafe.center)
    just_now = sum(
        inp["type"] == "invite"
        for n in range(200)
        for inp in mind.decide(
            next_request(ada, t0 + n * 100, x, y, [seen(bram)], "cafe", rid=f"a{n}")
        )
    )
    later = sum(
        inp["type"] == "invite"
        for n in range(200)
        for inp in mind.decide(
            next_request(ada, t0 + 5 * HOUR + n * 100, x, y, [seen(bram)], "cafe", rid=f"b{n}")
        )
    )
    # A friend met again after a while is invited more readily than one just left behind.
    assert later > 1.5 * just_now > 0


def test_offline_notes_and_insights_speak_the_worlds_language(offline, world, ada, bram):
    from town.language import set_world_language

    set_world_language(world, "es")
    mind = Mind(load_town(world.pk))
    lines = [(bram, "La biblioteca necesita dinero, la biblioteca cierra."), (ada, "¡Vaya!")]
    end = talk(world, "c1", lines, HOUR)
    ended(mind, "c1", end)
    note = Relationship.objects.get(agent=ada, other=bram).opinion
    assert note.startswith("Nos conocimos el ") and "biblioteca" in note
    for n in range(4):  # enough new for a look back (END_OF_DAY_MIN_IMPORTANCE)
        end = talk(world, f"c{n + 2}", [(bram, "Hola, Ada."), (ada, "Hola.")], end + HOUR)
        ended(mind, f"c{n + 2}", end)
    assert mind.reflect_if_due("ada", 15 * HOUR + 500) >= 1  # the end of day 1
    texts = [m.text for m in Memory.objects.filter(agent=ada, kind="reflection")]
    assert any(t.startswith("Mirando atrás el día 1") for t in texts), texts
