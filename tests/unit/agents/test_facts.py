"""Rule-based fact capture: what people say about themselves, kept in third person (English
and Spanish), echoed back in second person and passed on with its source."""

from __future__ import annotations

import pytest

from agents import facts


@pytest.mark.parametrize(
    ("line", "third", "second"),
    [
        ("I keep bees up on the hill", "Mara keeps bees up on the hill", "you keep bees up on the hill"),
        ("Hi! I'm opening a bakery on Friday.", "Mara is opening a bakery on Friday", "you are opening a bakery on Friday"),
        ("I have two cats and a very old dog", "Mara has two cats and a very old dog", "you have two cats and a very old dog"),
        ("I teach piano to my neighbours", "Mara teaches piano to their neighbours", "you teach piano to your neighbours"),
        ("I just moved here from Leeds", "Mara just moved here from Leeds", "you just moved here from Leeds"),
        ("My sister is getting married next week", "Mara's sister is getting married next week", "your sister is getting married next week"),
        ("I carry the post on Mondays", "Mara carries the post on Mondays", "you carry the post on Mondays"),
        ("I keep bees up on the hill, you know.", "Mara keeps bees up on the hill", "you keep bees up on the hill"),
    ],
)  # fmt: skip
def test_english_facts_are_kept_in_third_person(line, third, second):
    [fact] = facts.capture(line, "Mara")
    assert (fact.third, fact.second) == (third, second)
    assert facts.memory_text(fact) == third + "."


@pytest.mark.parametrize(
    ("line", "third", "second"),
    [
        ("Tengo abejas en la colina", "Mara tiene abejas en la colina", "tienes abejas en la colina"),
        ("Trabajo en la biblioteca", "Mara trabaja en la biblioteca", "trabajas en la biblioteca"),
        ("Abro una panadería el viernes", "Mara abre una panadería el viernes", "abres una panadería el viernes"),
        ("Me mudo a la colina en mayo", "Mara se muda a la colina en mayo", "te mudas a la colina en mayo"),
        ("Mi hermana se casa el sábado", "Mara cuenta que su hermana se casa el sábado", "tu hermana se casa el sábado"),
        ("Tengo abejas en la colina, ya sabes.", "Mara tiene abejas en la colina", "tienes abejas en la colina"),
    ],
)  # fmt: skip
def test_spanish_facts_are_kept_in_third_person(line, third, second):
    [fact] = facts.capture(line, "Mara", "es")
    assert (fact.third, fact.second) == (third, second)


def test_a_line_can_hold_a_name_and_a_fact():
    line = "Hi, I'm Ana and I'm opening a bakery on Friday!"
    assert facts.introduced_name(line) == "Ana"
    assert [f.third for f in facts.capture(line, "Ana")] == ["Ana is opening a bakery on Friday"]
    assert facts.introduced_name("Hola, soy Mara", "es") == "Mara"
    assert facts.capture("Hola, soy Mara", "Mara", "es") == []


@pytest.mark.parametrize(
    ("line", "language"),
    [
        ("what are you doing?", "en"),
        ("do you remember what I told you?", "en"),
        ("I think so", "en"),
        ("I'm fine, thanks", "en"),
        ("Hi, I'm Mara", "en"),
        ("I have to go now", "en"),
        ("¿qué estás haciendo?", "es"),
        ("¿te acuerdas de lo que te dije?", "es"),
        ("Creo que sí", "es"),
        ("Tengo que irme ya", "es"),
    ],
)
def test_questions_manners_and_names_are_not_facts(line, language):
    assert facts.capture(line, "Mara", language) == []


def test_a_stored_fact_comes_back_with_its_source():
    [fact] = facts.capture("I keep bees up on the hill", "Mara")
    first_hand, teller = facts.from_memory(facts.memory_text(fact), "Mara")
    assert (first_hand.reported, teller) == ("they keep bees up on the hill", None)
    kept = facts.memory_text(fact, teller="Ada Byrne")
    assert kept == "Mara keeps bees up on the hill (heard from Ada Byrne)."
    second_hand, teller = facts.from_memory(kept, "Mara")
    assert (second_hand.third, teller) == ("Mara keeps bees up on the hill", "Ada Byrne")


def test_news_passed_on_becomes_the_hearers_fact_about_its_subject():
    names = ["Mara", "Ada Byrne", "Ada"]
    [first_hand] = facts.hearsay("Some news: Mara told me they keep bees up on the hill.", names)
    assert (first_hand.subject, first_hand.third) == ("Mara", "Mara keeps bees up on the hill")
    [second_hand] = facts.hearsay("By the way, Ada told me Mara keeps bees up on the hill.", names)
    assert (second_hand.subject, second_hand.third) == ("Mara", "Mara keeps bees up on the hill")
    [spanish] = facts.hearsay(
        "Por cierto, Mara me contó que tiene abejas en la colina.", ["Mara"], "es"
    )
    assert spanish.third == "Mara tiene abejas en la colina"
    assert facts.hearsay("Good morning, Bram! Lovely day.", names) == []
