"""The offline mind answers the paper's interview questions, in conversation and in an
interview, in English and Spanish, on real PostgreSQL: introduction, occupation, "who is",
what someone told it, a given hour tomorrow, a hypothetical, and whom it would spend time
with (docs/minds.md, "Believability battery")."""

from __future__ import annotations

import re

import pytest

from agents.mind import Mind
from agents.models import Memory
from agents.residents import load_town
from town.language import set_world_language
from town.models import Player

from .helpers import HOUR, human, next_request, reply_request, talk

pytestmark = pytest.mark.django_db

T = 1 * HOUR + 1000  # 08:00 on day 1: Ada is opening the cafe; 12:00 is her lunch break


@pytest.fixture
def ada(world):
    return Player.objects.get(world=world, pid="ada")


@pytest.fixture
def spanish(offline, world):
    set_world_language(world, "es", actor="test")
    return Mind(load_town(world.pk))


def ask(mind, resident, visitor, question: str, t: int = T, before=(), cid="q1") -> str:
    """`visitor` asks `question` (after the lines `before`, (player, text) pairs); the reply."""
    mind.decide(next_request(resident, t - 1000, 1, 1))  # the day is planned
    messages = [*before, (visitor, question)]
    said = mind.decide(reply_request(resident, visitor, cid, messages, t))
    assert said[0]["type"] == "say", said
    return said[0]["text"]


def met(mind, world, resident, visitor, lines: list[str], t: int = HOUR) -> int:
    """`visitor` says `lines` to `resident` in a recorded conversation that then ends."""
    replies = [(resident, "Oh, how nice.")] * len(lines)
    heard = [(visitor, line) for line in lines]
    pairs = [p for pair in zip(heard, replies, strict=True) for p in pair]
    end = talk(world, f"met-{visitor.pid}", pairs, t)
    for n, line in enumerate(lines):  # the resident hears each line, as on the reply path
        mind.decide(
            reply_request(resident, visitor, f"met-{visitor.pid}", [(visitor, line)], t + n)
        )
    mind.observe([{"kind": "conversation_ended", "t": end, "conversation": f"met-{visitor.pid}"}])
    return end


# -- self-knowledge ---------------------------------------------------------------------------


def test_introduction_names_itself_and_its_work(offline, mind, world, ada):
    sam, _ = human(world, "sam", "Sam")
    answer = ask(mind, ada, sam, "Give an introduction of yourself.")
    assert "Ada Byrne" in answer and "Copper Kettle" in answer


def test_introduction_in_spanish(spanish, world, ada):
    sam, _ = human(world, "sam", "Sam")
    answer = ask(spanish, ada, sam, "Preséntate, por favor.")
    assert "Soy Ada Byrne" in answer or "Me llamo Ada Byrne" in answer
    assert "Hearthvale" in answer or "el café" in answer  # where she lives or works


def test_occupation_from_its_description(offline, mind, world, ada):
    sam, _ = human(world, "sam", "Sam")
    answer = ask(mind, ada, sam, "What is your occupation?")
    assert "I run the Copper Kettle" in answer
    assert "No idea" not in answer and "I've no idea" not in answer


def test_occupation_in_spanish_from_its_working_day(spanish, world, ada):
    sam, _ = human(world, "sam", "Sam")
    answer = ask(spanish, ada, sam, "¿A qué te dedicas?")
    # Descriptions and routines are written in English: the activity is quoted in Spanish.
    assert "en el café" in answer and "opening the Copper Kettle" in answer


# -- memory -----------------------------------------------------------------------------------


def test_who_is_another_resident(offline, mind, world, ada):
    sam, _ = human(world, "sam", "Sam")
    answer = ask(mind, ada, sam, "Who is Bram Okafor?")
    assert "Bram" in answer and "librarian" in answer


def test_who_is_a_visitor_from_what_they_said(offline, mind, world, ada):
    mara, _ = human(world, "mara", "Mara")
    sam, _ = human(world, "sam", "Sam")
    end = met(mind, world, ada, mara, ["Hi, I'm Mara.", "I keep bees up on the hill."])
    answer = ask(mind, ada, sam, "Who is Mara?", t=end + HOUR)
    assert "Mara keeps bees up on the hill" in answer


def test_who_is_in_spanish(spanish, world, ada):
    sam, _ = human(world, "sam", "Sam")
    answer = ask(spanish, ada, sam, "¿Quién es Bram Okafor?")
    assert "Bram" in answer and "la biblioteca" in answer


def test_what_someone_told_is_answered_even_if_the_resident_said_it_already(
    offline, mind, world, ada
):
    mara, _ = human(world, "mara", "Mara")
    sam, _ = human(world, "sam", "Sam")
    end = met(mind, world, ada, mara, ["Hi, I'm Mara.", "I keep bees up on the hill."])
    # Ada volunteered the news herself earlier in this conversation; a direct question
    # still gets it (the repeat check looked at her own lines too and said "no idea").
    before = [
        (sam, "Hello Ada!"),
        (ada, "Good morning, Sam! Have you heard? Mara told me they keep bees up on the hill."),
    ]
    answer = ask(mind, ada, sam, "What did Mara tell you?", t=end + HOUR, before=before)
    assert "bees up on the hill" in answer and "Mara" in answer


def test_what_someone_told_in_spanish(spanish, world, ada):
    mara, _ = human(world, "mara", "Mara")
    sam, _ = human(world, "sam", "Sam")
    end = met(spanish, world, ada, mara, ["Hola, soy Mara.", "Tengo abejas en la colina."])
    answer = ask(spanish, ada, sam, "¿Qué te contó Mara?", t=end + HOUR)
    assert "Mara me contó que tiene abejas en la colina" in answer


def test_what_someone_who_said_nothing_told(offline, mind, world, ada):
    sam, _ = human(world, "sam", "Sam")
    human(world, "lena", "Lena")
    answer = ask(mind, ada, sam, "What did Lena tell you?")
    assert "Lena" in answer and "bees" not in answer


# -- plans ------------------------------------------------------------------------------------


def test_a_given_hour_tomorrow_comes_from_that_hour_of_the_routine(offline, mind, world, ada):
    sam, _ = human(world, "sam", "Sam")
    # At 08:00 her next entry is the 12:00 lunch break; 1 pm is the afternoon tea crowd.
    answer = ask(mind, ada, sam, "What will you be doing at 1 pm tomorrow?")
    assert "13:00" in answer and "serving the afternoon tea crowd" in answer.lower()
    assert "lunch" not in answer
    answer = ask(mind, ada, sam, "And at 10 am tomorrow?", cid="q2")
    assert "10:00" in answer and "opening the copper kettle" in answer.lower()


def test_a_given_hour_tomorrow_in_spanish(spanish, world, ada):
    sam, _ = human(world, "sam", "Sam")
    answer = ask(spanish, ada, sam, "¿Qué harás mañana a las 5 de la tarde?")
    assert "17:00" in answer and "la tienda" in answer and "buying butter" in answer
    assert "mañana" in answer.lower()


# -- reactions --------------------------------------------------------------------------------


def test_a_hypothetical_gets_an_action(offline, mind, world, ada):
    sam, _ = human(world, "sam", "Sam")
    answer = ask(mind, ada, sam, "Your breakfast is burning! What would you do?")
    assert re.search(r"\bI'd\b|off the stove", answer), answer
    assert re.search(r"breakfast|stove|heat|smoke", answer), answer
    assert "no idea" not in answer.lower()


def test_a_hypothetical_in_spanish(spanish, world, ada):
    sam, _ = human(world, "sam", "Sam")
    answer = ask(spanish, ada, sam, "¡Se te está quemando el desayuno! ¿Qué harías?")
    assert re.search(r"fuego|fogón|sartén|humo", answer), answer
    assert re.search(r"\w+ría\b", answer)  # a conditional: what it would do


# -- reflections ------------------------------------------------------------------------------


def test_whom_it_would_spend_time_with_names_someone_met_with_a_reason(offline, mind, world, ada):
    mara, _ = human(world, "mara", "Mara")
    sam, _ = human(world, "sam", "Sam")
    end = met(mind, world, ada, mara, ["Hi, I'm Mara.", "I keep bees up on the hill."])
    question = "If you could spend time with one person you met recently, who would it be?"
    answer = ask(mind, ada, sam, question, t=end + HOUR)
    assert "Mara" in answer and "bees" in answer


def test_whom_it_would_spend_time_with_in_spanish(spanish, world, ada):
    mara, _ = human(world, "mara", "Mara")
    sam, _ = human(world, "sam", "Sam")
    end = met(spanish, world, ada, mara, ["Hola, soy Mara.", "Tengo abejas en la colina."])
    question = "Si pudieras pasar tiempo con una persona que conociste hace poco, ¿quién sería?"
    answer = ask(spanish, ada, sam, question, t=end + HOUR)
    assert "Mara" in answer and "abejas" in answer


# -- interviews -------------------------------------------------------------------------------


def test_interviews_go_through_the_same_question_understanding(offline, mind, world, ada):
    mara, _ = human(world, "mara", "Mara")
    end = met(mind, world, ada, mara, ["Hi, I'm Mara.", "I keep bees up on the hill."])
    mind.decide(next_request(ada, end, 1, 1))
    kept = Memory.objects.filter(agent=ada).count()
    answers = {
        q: mind.interview("ada", q, end + HOUR)
        for q in (
            "What is your occupation?",
            "Who is Bram Okafor?",
            "What will you be doing at 10 am tomorrow?",
            "Your breakfast is burning! What would you do?",
            "What did Mara tell you?",
        )
    }
    assert "Copper Kettle" in answers["What is your occupation?"]
    assert "librarian" in answers["Who is Bram Okafor?"]
    assert "opening the Copper Kettle" in answers["What will you be doing at 10 am tomorrow?"]
    assert (
        "stove" in answers["Your breakfast is burning! What would you do?"]
        or "heat" in (answers["Your breakfast is burning! What would you do?"])
    )
    assert "keep bees up on the hill" in answers["What did Mara tell you?"]
    assert all("Here is what I remember" not in a for a in answers.values())
    assert not any(a.startswith(("Good morning", "Morning")) for a in answers.values())
    # A question of no known kind is still answered from memory; nothing is remembered.
    assert "Here is what I remember" in mind.interview("ada", "How is the cafe?", end + HOUR)
    assert Memory.objects.filter(agent=ada).count() == kept


def test_interviews_in_spanish(spanish, world, ada):
    answer = spanish.interview("ada", "¿Qué harás mañana a las 10 de la mañana?", 2 * HOUR)
    assert "10:00" in answer and "opening the copper kettle" in answer.lower()
    assert "Esto es lo que recuerdo" not in answer
