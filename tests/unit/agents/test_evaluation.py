"""The believability battery's scoring rules on hand-written answers: a good and a bad answer
for each rule (recall, acknowledgement, variety, context recall)."""

from __future__ import annotations

from agents import prompts
from agents.evaluation import (
    CATEGORIES,
    QUESTIONS,
    Answer,
    Question,
    Report,
    acknowledges,
    context_recall,
    occupation_words,
    questions_for,
    recall,
    variety,
)

ADA = {
    "id": "ada",
    "name": "Ada Byrne",
    "identity": "Ada runs the Copper Kettle, the little cafe on the corner of the plaza. "
    "She is warm.",
    "routine": [
        {"hour": 7, "area": "cafe", "activity": "opening the Copper Kettle and baking scones"},
        {"hour": 12, "area": "plaza", "activity": "taking a short lunch break"},
    ],
}
BRAM = {"id": "bram", "name": "Bram Okafor", "identity": "Bram is the librarian."}
MARA = {"name": "Mara", "keys": ["bees", "hill"]}


def battery(language: str = "en") -> dict[str, Question]:
    found = questions_for(ADA, BRAM, MARA, ["Ada", "Bram", "Mara"], language)
    return dict(zip(QUESTIONS[language], found, strict=True))


def test_recall_counts_the_planted_facts_key_words():
    assert recall("Mara told me she keeps bees up on the hill.", ["bees", "hill"]) == 1.0
    assert recall("She has bees, I think.", ["bees", "hill"]) == 0.5
    assert recall("I don't remember anything about that.", ["bees", "hill"]) == 0.0


def test_acknowledgement_needs_the_asked_person_or_subject():
    q = battery()
    assert acknowledges("Bram? He keeps the library.", q["who"].subjects)
    assert not acknowledges("I couldn't tell you; that's news to me.", q["who"].subjects)
    assert acknowledges("I'd take the pan off the stove!", q["reaction"].subjects)
    assert not acknowledges("Hmm, I don't know. Ask around the plaza?", q["reaction"].subjects)
    assert acknowledges("At ten I'll be baking scones at the Copper Kettle.", q["plans"].subjects)
    assert not acknowledges("At 12:00 I'll be off to lunch.", q["plans"].subjects)
    assert acknowledges("I'm Ada, I run the cafe.", q["intro"].subjects)
    assert not acknowledges("Morning, Sam. Sleep well?", q["intro"].subjects)
    assert acknowledges("Mara, she was lovely.", q["reflection"].subjects)
    assert not acknowledges("I've no idea about that.", q["reflection"].subjects)


def test_acknowledgement_matches_word_starts_not_the_middle_of_words():
    assert acknowledges("My toast is burning!", ["burn"])
    assert not acknowledges("Sunburnt again.", ["burn"])
    assert acknowledges("QUEMADO", ["quem"])  # case and accents as written


def test_occupation_words_come_from_the_first_sentence_without_names_or_filler():
    words = occupation_words(ADA)
    assert {"runs", "copper", "kettle", "cafe", "plaza"} <= set(words)
    assert not {"ada", "the", "little", "corner", "warm"} & set(words)
    q = battery()
    assert acknowledges("I bake for the cafe on the plaza.", q["occupation"].subjects)
    assert not acknowledges("I've no idea about that, I'm afraid.", q["occupation"].subjects)


def test_variety_is_distinct_word_pairs_over_all_pairs():
    varied = ["I run the cafe.", "Bram keeps the library.", "Mara keeps bees."]
    repeated = ["I'm Ada. Here is what I remember: Mara."] * 3
    assert variety(varied) == 1.0
    assert variety(repeated) < 0.4
    assert variety([]) == 0.0


def test_context_recall_looks_past_the_question_itself():
    q = battery()
    told = q["told"]
    carried = prompts.memory_lines(["Mara keeps bees up on the hill."])
    question_only = f"An interviewer asks: {prompts.untrusted(told.text, 'interviewer')}"
    assert context_recall(f"{carried}\n{question_only}", told) == 1.0
    assert context_recall(question_only, told) == 0.0
    who = q["who"]  # the asked name in the question does not count as carried
    assert context_recall(prompts.untrusted(who.text, "interviewer"), who) == 0.0
    assert context_recall("- Bram lends me books.\n" + who.text, who) == 1.0
    assert context_recall("anything", q["reaction"]) is None  # needs nothing more


def test_spanish_questions_score_in_spanish():
    q = battery("es")
    assert q["reaction"].text.startswith("¡Se te está quemando")
    assert acknowledges("¡Apago el fuego y abro la ventana!", q["reaction"].subjects)
    assert q["told"].text == "¿Qué te contó Mara?"


def test_the_table_has_every_category_for_each_way_of_asking():
    q = battery()
    answers = [
        Answer("Ada Byrne", q["told"], "Mara keeps bees.", "interview", True, 0.5),
        Answer("Ada Byrne", q["reaction"], "No idea.", "conversation", False, None),
    ]
    table = Report(world="#1 Test", language="en", mind="offline", answers=answers).table()
    for category in CATEGORIES:
        assert table.count(f"\n{category}") == 2
    assert "== interview" in table and "== conversation" in table and "#1 Test" in table
