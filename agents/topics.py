"""What a resident brings up: news chosen from what is on its mind, never a pasted quote.

A memory is news for a listener when it holds something to tell (a fact someone shared, a
conversation's summary, a reflection), is recent, and the listener was neither part of it
nor told it already. Instead of one importance cut-off, each piece of news is brought up
with a chance that grows with its importance, its freshness and how much it concerns the
listener: a fact rated 5 still travels, more slowly and less far than one rated 9 (issue
#16 item 5; the paper's diffusion comes from agents talking about what is on their minds,
not from a cut-off). For each listener a resident decides once (the dice are seeded by the
memory and the listener, so a decision is reproducible and meeting again does not re-roll
it) whether the news is worth telling them and how long it may wait; news that is not worth
telling one person may still reach them through someone else. News at or above
MIND_REACT_IMPORTANCE is told to everyone at the first meeting, as before: the setting no
longer decides what travels, only what travels at once.

What is said is a paraphrase with its source ("Mara told me they keep bees up on the
hill", "Ada told me Mara keeps bees up on the hill"): a person's words never travel as
they were said, and quotes are never nested.
"""

from __future__ import annotations

import random
import re
from typing import TYPE_CHECKING

from django.conf import settings

from agents import facts
from agents.embedding import cosine, hash_embed
from agents.models import Memory
from agents.phrases import pick

if TYPE_CHECKING:
    from agents.residents import Town

NEWS_DAYS = 2  # game days a memory stays news
HALF_LIFE_HOURS = 12.0  # game hours for news to lose half its pull
RELEVANCE_WEIGHT = 0.2  # how much concerning the listener adds to the chance
FLOOR = 3  # below this a memory is routine ("Saw Bram at the cafe"), never news
CANDIDATES = 30
# Game hours, per point of importance below 11, that news may wait before it comes up with
# a given listener: a 9 within 2 hours, a 5 within 6.
DELAY_HOURS = 1.0

_TALKED = re.compile(r"^(?:Talked with|Hablé con) (?P<others>[^()]*) \([^)]*\)\.\s*")
_SAID = re.compile(r"(?P<name>[^“”.:]+?) (?:said|dijo): “(?P<text>[^”]*)”")
_QUOTES = re.compile(r"[\"“”«»„]")


def news_for(town: Town, resident: dict, listener: str, t: int, told: dict) -> list[Memory]:
    """News `resident` would bring up with `listener` now, best first (possibly none)."""
    name = town.names.get(listener, listener)
    first = name.split(" ")[0]
    language = _language(resident)
    day_ms = town.game_day_ms()
    hour_ms = max(1, day_ms // 24)
    rows = (
        Memory.objects.filter(
            agent_id=resident["pk"],
            kind__in=[Memory.Kind.CONVERSATION, Memory.Kind.REFLECTION, Memory.Kind.OBSERVATION],
            importance__gte=FLOOR,
            created_t__gte=t - NEWS_DAYS * day_ms,
        )
        .defer("embedding")
        .order_by("-created_t", "-id")[:CANDIDATES]
    )
    candidates = []
    for memory in rows:
        if memory.kind == Memory.Kind.OBSERVATION and memory.source != "fact":
            continue
        said = _told(town, memory, language)
        if said is None:
            continue
        candidates.append((memory, *said))
    # One piece of news kept twice (a fact, and a summary of a talk that mentioned it): the
    # fact speaks for it, first hand before second hand, so the source stays the right one.
    candidates.sort(key=lambda c: (c[0].source != "fact", "(" in c[0].text, -c[0].created_t))
    # Told already: this memory, or another one that says the same thing.
    done = {gist for m, _line, gist in candidates if listener in told.get(str(m.pk), [])}
    about = f"{name} {town.residents.get(listener, {}).get('identity', '')}"
    listener_vec = hash_embed(about)
    chosen = []
    for memory, line, gist in candidates:  # one roll per piece of news
        if gist in done or _mentions(memory.text, name, first) or _mentions(line, name, first):
            continue
        done.add(gist)
        hours = max(0.0, (t - memory.created_t) / hour_ms)
        freshness = 0.5 ** (hours / HALF_LIFE_HOURS)
        relevance = max(0.0, cosine(hash_embed(line), listener_vec))
        chance = memory.importance / 10 * (0.5 + 0.5 * freshness)
        chance = min(1.0, chance + RELEVANCE_WEIGHT * relevance)
        # Seeded by what the memory says, not its row id: the same town replays the same way.
        dice = random.Random(f"news:{town.seed}:{memory.created_t}:{memory.text}:{listener}")
        worth, wait = dice.random(), dice.random() * (11 - memory.importance) * DELAY_HOURS
        if memory.importance >= settings.MIND_REACT_IMPORTANCE:
            worth, wait = 0.0, 0.0  # big news: told to everyone, at the first meeting
        if worth < chance and hours >= wait:
            chosen.append((chance, memory))
    chosen.sort(key=lambda c: (-c[0], -c[1].created_t, -c[1].pk))
    return [m for _, m in chosen]


def telling(town: Town, memory: Memory, language: str | None = None) -> str | None:
    """What the resident says to pass `memory` on: a paraphrase with its source, or None."""
    said = _told(town, memory, language or "en")
    return said[0] if said else None


def _told(town: Town, memory: Memory, lang: str) -> tuple[str, str] | None:
    """The line passing `memory` on and its gist (the same news kept twice has one gist)."""
    names = list(town.names.values())
    firsts = [n.split(" ")[0] for n in names]
    if memory.source == "fact":
        fact, teller = facts.from_memory(memory.text, memory.author_name, lang)
        return _attributed(fact, teller, lang), fact.third.lower()
    if memory.kind == Memory.Kind.REFLECTION:
        line = pick(lang, "thinking", "I've been thinking: {text}").format(text=_plain(memory.text))
        return line, line.lower()
    if memory.kind != Memory.Kind.CONVERSATION:
        return None
    said = list(_SAID.finditer(memory.text))
    if said:  # an offline summary: only the facts in the lines it keeps can travel
        residents = {r["name"] for r in town.residents.values()}
        for match in said:
            speaker, text = match.group("name").strip(), match.group("text")
            if speaker in residents:
                for fact in facts.hearsay(text, names + firsts, lang):
                    return _attributed(fact, speaker, lang), fact.third.lower()
            else:
                for fact in facts.capture(text, speaker, lang):
                    return _attributed(fact, None, lang), fact.third.lower()
        return None
    header = _TALKED.match(memory.text)
    rest = _plain(memory.text[header.end() :] if header else memory.text)
    if not rest:
        return None
    others = header.group("others") if header else pick(lang, "someone", "someone")
    line = pick(lang, "chat_news", "From my chat with {others}: {text}")
    return line.format(others=others, text=rest), rest.lower()


def _attributed(fact: facts.Fact, teller: str | None, lang: str) -> str:
    if teller:  # second hand: who told me, then the fact about its subject
        line = pick(lang, "told_me_about", "{teller} told me {fact}")
        return line.format(teller=teller.split(" ")[0], fact=fact.third)
    line = pick(lang, "told_me", "{subject} told me {fact}")
    return line.format(subject=fact.subject.split(" ")[0], fact=fact.reported)


def _plain(text: str) -> str:
    """Text fit to be said again: no quotation marks, one line, clipped."""
    text = " ".join(_QUOTES.sub("", text).split())
    return text if len(text) <= 200 else text[:199] + "…"


def _mentions(text: str, name: str, first: str) -> bool:
    return bool(name) and (
        name in text or bool(re.search(rf"(?<!\w){re.escape(first)}(?!\w)", text))
    )


def _language(resident: dict) -> str:
    from agents.offline import language_of

    return language_of(resident)
