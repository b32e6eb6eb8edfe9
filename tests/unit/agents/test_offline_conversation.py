"""The offline mind in conversation, on real PostgreSQL: replies take up what the visitor
said, facts are kept as third-person memories and recalled, news travels paraphrased with
its source, lines stay varied, and offline importance reflects what was said."""

from __future__ import annotations

import itertools
import re
from collections import Counter

import pytest

from agents import offline
from agents.mind import Mind
from agents.models import Memory
from agents.residents import load_town
from town.language import set_world_language
from town.models import Player

from .helpers import HOUR, human, next_request, reply_request, talk

pytestmark = pytest.mark.django_db

FIVE = [
    "Hi, I'm Mara",
    "what are you doing?",
    "I keep bees up on the hill",
    "whom should I meet?",
    "do you remember what I told you?",
]
CINCO = [
    "Hola, soy Mara",
    "¿qué estás haciendo?",
    "Tengo abejas en la colina",
    "¿a quién debería conocer?",
    "¿te acuerdas de lo que te dije?",
]


@pytest.fixture
def ada(world):
    return Player.objects.get(world=world, pid="ada")


@pytest.fixture
def bram(world):
    return Player.objects.get(world=world, pid="bram")


def converse(mind, resident, visitor, cid, lines, t, messages=None) -> list[str]:
    """Say `lines` one by one to `resident`; return its replies (the engine's context each
    time: the conversation so far)."""
    messages = messages if messages is not None else []
    replies = []
    for n, line in enumerate(lines):
        messages.append((visitor, line))
        request = reply_request(resident, visitor, cid, messages, t + n * 1000, rid=f"{cid}r{n}")
        said = mind.decide(request)[0]
        assert said["type"] == "say", said
        messages.append((resident, said["text"]))
        replies.append(said["text"])
    return replies


def distinct_bigrams(lines: list[str]) -> float:
    """Distinct word pairs over all word pairs in `lines` (1.0: nothing repeated)."""
    pairs: Counter = Counter()
    for line in lines:
        words = re.findall(r"[\wáéíóúñü']+", line.lower())
        pairs.update(itertools.pairwise(words))
    return len(pairs) / max(1, sum(pairs.values()))


def test_the_five_lines_get_answers_that_take_up_what_was_said(offline, mind, world, ada):
    mara, user = human(world, "mara", "Mara")
    t = 1 * HOUR + 1000  # 08:00 on day 1: Ada is opening the cafe
    mind.decide(next_request(ada, t - 1000, 1, 1))  # she has planned her day
    hello, doing, bees, meet, remember = converse(mind, ada, mara, "c1", FIVE, t)
    assert "Mara" in hello and "I'm Ada" in hello
    assert "opening the Copper Kettle" in doing  # her current activity, from her plan
    assert re.search(r"\d\d:00", doing)  # and what comes next
    assert "you keep bees up on the hill" in bees.lower()
    residents = [r["name"] for r in mind.town.residents.values() if r["id"] != "ada"]
    named = [n for n in residents if n in meet]
    assert named and len(meet) > len(" ".join(named)) + 20, meet  # names with reasons
    assert "you keep bees up on the hill" in remember
    assert len(set([hello, doing, bees, meet, remember])) == 5
    kept = Memory.objects.get(agent=ada, source="fact")
    assert kept.text == "Mara keeps bees up on the hill."
    assert kept.author_user == user and kept.kind == "observation"
    # Afterwards too: the next day, a new conversation.
    [answer] = converse(mind, ada, mara, "c2", ["What do I do for a living?"], t + 24 * HOUR)
    assert "you keep bees up on the hill" in answer


def test_the_five_lines_in_spanish(offline, world, ada):
    set_world_language(world, "es", actor="test")
    mind = Mind(load_town(world.pk))
    mara, _ = human(world, "mara", "Mara")
    t = 1 * HOUR + 1000
    mind.decide(next_request(ada, t - 1000, 1, 1))
    hello, doing, bees, meet, remember = converse(mind, ada, mara, "c1", CINCO, t)
    assert "Mara" in hello and "Soy Ada" in hello
    assert "opening the Copper Kettle" in doing  # activities are written in English
    assert "tienes abejas en la colina" in bees
    assert any(r["name"] in meet for r in mind.town.residents.values() if r["id"] != "ada")
    assert "tienes abejas en la colina" in remember
    assert Memory.objects.get(agent=ada, source="fact").text == "Mara tiene abejas en la colina."


def test_a_visitor_who_told_nothing_is_asked_instead_of_answered_with_nothing(
    offline, mind, world, ada
):
    mara, _ = human(world, "mara", "Mara")
    [answer] = converse(mind, ada, mara, "c1", ["Do you remember what I told you?"], 2 * HOUR)
    assert "haven't told me" in answer or "Not much yet" in answer


def first_telling(mind, teller: Player, keyword: str, t: int, skip=()) -> tuple[Player, str]:
    """Let `teller` meet each other resident hour after hour; the first who hears `keyword`
    and the line that told it."""
    for listener in Player.objects.filter(world=teller.world, kind="agent").order_by("pid"):
        if listener.pid == teller.pid or listener.pid in skip:
            continue
        for hour in range(1, 25):
            request = reply_request(teller, listener, f"{listener.pid}{hour}", [], t + hour * HOUR)
            line = mind.decide({**request, "id": f"{teller.pid}{listener.pid}{hour}"})[0]["text"]
            if keyword in line:
                return listener, line
    raise AssertionError(f"{teller.name} never mentioned {keyword}")


def test_news_travels_paraphrased_with_its_source_never_as_quoted_words(offline, mind, world, ada):
    mara, _ = human(world, "mara", "Mara")
    t = 1 * HOUR
    said = "I'm opening a bakery on Friday!"
    converse(mind, ada, mara, "c1", ["Hello!", said], t)
    listener, told = first_telling(mind, ada, "bakery", t)
    assert "Mara told me they are opening a bakery on Friday" in told
    # The listener answers her and so keeps the fact, with who told it.
    heard = [(ada, told)]
    mind.decide(reply_request(listener, ada, "b", heard, t + 30 * HOUR, rid="heard"))
    kept = Memory.objects.get(agent=listener, source="fact")
    assert kept.text == "Mara is opening a bakery on Friday (heard from Ada Byrne)."
    # And passes it on second hand.
    _, retold = first_telling(mind, listener, "bakery", t + 30 * HOUR, skip=("ada",))
    assert "Ada told me Mara is opening a bakery on Friday" in retold
    for line in (told, retold):
        assert said not in line and "I'm opening" not in line  # not the visitor's words
        assert not re.search(r"[\"“”]", line)  # and nothing is quoted
    bram = Player.objects.get(world=world, pid="bram")
    # A summary of a conversation quoting a line never nests quotes.
    end = talk(world, "x1", [(ada, 'She said "hi" to me'), (bram, "Oh?")], t0=t + 70 * HOUR)
    mind.observe([{"kind": "conversation_ended", "t": end, "conversation": "x1"}])
    summary = Memory.objects.filter(agent=bram, kind="conversation").latest("created_t").text
    assert summary.count("“") == summary.count("”") == 1


def test_a_conversation_stays_varied(offline, mind, world, ada, bram):
    mara, _ = human(world, "mara", "Mara")
    mind.decide(next_request(ada, 1 * HOUR, 1, 1))
    lines = [
        *FIVE,
        "nice weather today",
        "what are you doing later?",
        "do you know anything about the library?",
        "I like walking in the park",
        "who should I talk to about the fair?",
        "tell me about yourself",
        "ok",
    ]
    replies = converse(mind, ada, mara, "c1", lines, 1 * HOUR + 1000)
    assert distinct_bigrams(replies) >= 0.8, "\n".join(replies)
    # Two residents chatting until one says goodbye stay varied too.
    messages: list = []
    for n in range(12):
        speaker, listener = (ada, bram) if n % 2 == 0 else (bram, ada)
        out = mind.decide(
            reply_request(speaker, listener, "rr", messages, 3 * HOUR + n * 1000, rid=f"rr{n}")
        )
        if out[0]["type"] != "say":
            break
        messages.append((speaker, out[0]["text"]))
    for who in (ada, bram):
        said = [text for p, text in messages if p == who]
        assert len(said) >= 3 and distinct_bigrams(said) >= 0.8, said


def test_offline_importance_reflects_what_was_said():
    greeting = "Talked with Mara (day 1, 09:12). Mara said: “Hi, how are you?”"
    assert offline.importance(greeting, human=True, base=3) <= 4
    later = greeting.replace("day 1, 09:12", "day 23, 19:59")  # the clock is not content
    assert offline.importance(later, human=True, base=3) == offline.importance(
        greeting, human=True, base=3
    )
    bees = "Talked with Mara (day 1, 09:12). Mara said: “I keep bees up on the hill”"
    assert offline.importance(bees, human=True, base=3) == 5
    bakery = "Talked with Ana (day 1, 09:12). Ana said: “I'm opening a bakery on Friday!”"
    assert offline.importance(bakery, human=True, base=3) >= 7


def test_a_routine_sighting_is_not_brought_up_as_news(offline, mind, world, ada):
    mara, _ = human(world, "mara", "Mara")
    resident = mind.town.residents["ada"]
    mind.remember(resident, "observation", "Saw Bram Okafor at the cafe.", 2, HOUR)
    [answer] = converse(mind, ada, mara, "c1", ["What do you know about the cafe?"], 2 * HOUR)
    assert "Saw Bram" not in answer and "saw Bram" not in answer


def test_a_description_naming_the_resident_again_keeps_the_other_pronoun():
    from agents.replies import first_person

    said = first_person(
        "Gus is his brightest student, and Dev suspects he skips class to draw. He wants a club.",
        "Dev Ramaswamy",
    )
    assert said[0] == "Gus is my brightest student, and I suspect he skips class to draw."
    assert said[1] == "I want a club."
