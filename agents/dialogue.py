"""The offline mind in conversation: replies that take up what was said, with no model.

`reply` gathers what the resident knows (identity, today's schedule, what the other person
told it now and before, whom it knows, the news it chose) from the database, and
agents/replies.py's `compose` turns that into the next line. Facts people state about
themselves are kept as third-person memories as they are heard (agents/facts.py), so they
are remembered within the conversation and afterwards.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from agents import facts, offline
from agents.memory import SALIENT_IMPORTANCE
from agents.models import Memory, MindState, Relationship
from agents.phrases import pick
from agents.phrases import place as place_words
from agents.replies import Knowledge, compose, first_person, work_entry
from town.models import Conversation, Player

if TYPE_CHECKING:
    from agents.memory import Recalled
    from agents.mind import Mind

FACT_IMPORTANCE_BASE = 4  # a fact someone shares about themself (before content words)


# -- gathering (database) ---------------------------------------------------------------------


def reply(
    mind: Mind, resident: dict, ctx: dict, recalled: list[Recalled], news: str | None
) -> tuple[str, bool]:
    """The offline mind's next line in a conversation and whether it is a goodbye."""
    lang = offline.language_of(resident)
    know = Knowledge(language=lang, news=news, me_first=resident["name"].split(" ")[0])
    know.memories = [(r.text, r.relevance) for r in recalled]
    know.trivial = {r.text for r in recalled if r.memory.importance < SALIENT_IMPORTANCE}
    messages = ctx.get("messages") or []
    # Only the others' lines: a direct question is answered even if the resident has already
    # said the same thing itself in this conversation.
    know.transcript = [m["text"] for m in messages if m["author"] != resident["id"]]
    know.name = resident["name"]
    know.routine = resident.get("routine") or []
    know.interview = bool(ctx.get("interview"))
    heard = messages[-1]["text"] if messages and messages[-1]["author"] != resident["id"] else ""
    # Descriptions are written in English; a Spanish world's resident does not quote one.
    if lang == "en":
        know.intro = first_person(resident.get("identity") or "", resident["name"])
    state = MindState.objects.filter(agent_id=resident["pk"]).first()
    schedule = state.schedule if state else []
    know.schedule = schedule
    hour = ctx["clock"]["hour"]
    now = _entry_at(schedule, hour)
    know.activity = (now or {}).get("activity") or ctx.get("activity") or ""
    know.next_entry = next(
        (e for e in sorted(schedule, key=lambda e: e["hour"]) if e["hour"] > hour), None
    )
    others = ctx.get("others") or []
    if others:
        other = others[0]
        know.heard_now, know.heard_news, know.told_me = _listen(mind, resident, ctx, other, lang)
        know.people = people_to_meet(mind, resident, other)
    listener = others[0] if others else {"id": None, "name": ""}
    asked = asked_person(mind, resident, heard) if heard else None
    if asked:
        know.asked = asked.split(" ")[0]
        know.about = about_person(mind, resident, asked, lang)
        know.told_by = told_by(resident, asked, lang)
    if heard:
        know.companions = companions(mind, resident, listener, lang)
    text, end = compose(resident, ctx, know)
    return offline.in_group(ctx, text, end, lang)


def _listen(
    mind: Mind, resident: dict, ctx: dict, other: dict, lang: str
) -> tuple[list[facts.Fact], list[facts.Fact], list[facts.Fact]]:
    """Facts in the lines not yet answered (kept as memories): the other's own and news they
    passed on; and everything the other has told about themself."""
    me = resident["id"]
    messages = ctx.get("messages") or []
    last_mine = max((i for i, m in enumerate(messages) if m["author"] == me), default=-1)
    names = list(mind.town.names.values())
    names += [n.split(" ")[0] for n in names]
    heard_now: list[facts.Fact] = []
    heard_news: list[facts.Fact] = []
    for m in messages[last_mine + 1 :]:
        human = m["author"] not in mind.town.residents
        speaker = m.get("name") or mind.town.names.get(m["author"], m["author"])
        if human:
            found = [(f, None) for f in facts.capture(m["text"], speaker, lang)]
        else:  # a resident passing news on: keep the fact, with who said it
            found = [(f, speaker) for f in facts.hearsay(m["text"], names, lang)]
        for fact, teller in found:
            if fact.subject == resident["name"] or fact.subject == resident["name"].split()[0]:
                continue  # news about myself is not news to me
            _keep(mind, resident, ctx, fact, teller)
            if m["author"] == other["id"] and teller is None:
                heard_now.append(fact)
            elif m["author"] == other["id"]:
                heard_news.append(fact)
    told = [
        f
        for m in messages
        if m["author"] == other["id"] and other["kind"] == "human"
        for f in facts.capture(m["text"], other["name"], lang)
    ]
    for f in stored_facts(resident, other["name"], lang):
        if all(f.third != g.third for g in told):
            told.append(f)
    return heard_now, heard_news, told


def _keep(mind: Mind, resident: dict, ctx: dict, fact: facts.Fact, teller: str | None) -> None:
    """Remember a fact once (the same line is seen again by every later reply)."""
    text = facts.memory_text(fact, teller)
    # Known already, first hand or from someone else: one memory per fact.
    known = Memory.objects.filter(
        agent_id=resident["pk"], source="fact", text__startswith=facts.memory_text(fact)[:-1]
    ).exists()
    if known:
        return
    author = (
        Player.objects.filter(world_id=mind.town.world_id, name=fact.subject, kind="human")
        .exclude(user=None)
        .first()
    )
    conversation = Conversation.objects.filter(
        world_id=mind.town.world_id, cid=ctx.get("conversation")
    ).first()
    importance = offline.importance(fact.third, human=author is not None, base=FACT_IMPORTANCE_BASE)
    if teller:  # each retelling matters a little less to the one who hears it
        importance -= 1
    mind.remember(
        resident,
        Memory.Kind.OBSERVATION,
        text,
        importance,
        ctx.get("t", 0),
        conversation_id=conversation.pk if conversation else None,
        author_user_id=author.user_id if author else None,
        author_name=fact.subject,
        source="fact",
    )


def stored_facts(resident: dict, subject: str, language: str) -> list[facts.Fact]:
    """What `subject` told this resident in person, newest first (facts and summaries)."""
    out: list[facts.Fact] = []
    first = subject.split(" ")[0]
    rows = Memory.objects.filter(agent_id=resident["pk"], author_name=subject).defer("embedding")
    for memory in rows.order_by("-created_t", "-id")[:20]:
        if memory.source == "fact":
            fact, teller = facts.from_memory(memory.text, subject, language)
            if teller is None:
                out.append(fact)
        elif memory.kind == Memory.Kind.CONVERSATION:
            for match in re.finditer(
                r"(?P<name>[^“”.:]+?) (?:said|dijo): “(?P<text>[^”]*)”", memory.text
            ):
                if match.group("name").strip() in (subject, first):
                    out.extend(facts.capture(match.group("text"), subject, language))
    unique: list[facts.Fact] = []
    for f in out:
        if all(f.third != g.third for g in unique):
            unique.append(f)
    return unique


def people_to_meet(mind: Mind, resident: dict, listener: dict) -> list[tuple[str, str]]:
    """Residents worth meeting, each with a reason from this resident's own knowledge."""
    lang = offline.language_of(resident)
    # Descriptions are English: in another language only what it saw or heard gives reasons.
    identity = resident.get("identity") or "" if lang == "en" else ""
    intro = first_person(identity, resident["name"])
    out: list[tuple[str, str]] = []
    for pid, other in mind.town.residents.items():
        if pid in (resident["id"], listener["id"]):
            continue
        first = other["name"].split(" ")[0]
        clauses = [_own_clause(c) for s in intro for c in re.split(r",? (?:and|but) |; ", s)]
        said = next((c for c in clauses if re.search(rf"\b{re.escape(first)}\b", c)), None)
        if said:
            out.append((other["name"], said.rstrip(".")))
    for pid, other in mind.town.residents.items():
        if pid in (resident["id"], listener["id"]) or any(n == other["name"] for n, _ in out):
            continue
        first = other["name"].split(" ")[0]
        memory = (
            Memory.objects.filter(agent_id=resident["pk"], text__contains=first)
            .exclude(kind=Memory.Kind.PLAN)
            .defer("embedding")
            .order_by("-importance", "-created_t")
            .first()
        )
        if memory is not None:
            seen = _SEEN.match(memory.text) if memory.kind == Memory.Kind.OBSERVATION else None
            place = seen.group("place") if seen else None
            if place in ("town", "el pueblo"):
                out.append((other["name"], pick(lang, "seen_around", "I often see them around")))
            elif place:
                why = pick(lang, "seen_at", "I often see them at the {place}")
                out.append((other["name"], why.format(place=place)))
            else:
                out.append((other["name"], pick(lang, "we_talked", "we had a good talk lately")))
    if len(out) < 2:  # a newcomer of a resident: neighbours it knows by name at least
        for pid, other in sorted(mind.town.residents.items()):
            known = any(n == other["name"] for n, _ in out)
            if pid not in (resident["id"], listener["id"]) and len(out) < 2 and not known:
                out.append((other["name"], pick(lang, "neighbour", "a good neighbour")))
    return out


def asked_person(mind: Mind, resident: dict, text: str) -> str | None:
    """The full name of the resident or visitor a line names ("Who is Bram?"), not oneself."""
    names = [n for pid, n in mind.town.names.items() if pid != resident["id"]]
    humans = Player.objects.filter(world_id=mind.town.world_id, kind="human")
    names += [n for n in humans.values_list("name", flat=True) if n not in names]
    for name in sorted(names, key=len, reverse=True):
        first = name.split(" ")[0]
        if name == resident["name"] or first == resident["name"].split(" ")[0]:
            continue
        if re.search(rf"(?<!\w)(?:{re.escape(name)}|{re.escape(first)})(?!\w)", text):
            return name
    return None


def about_person(mind: Mind, resident: dict, name: str, lang: str) -> list[str]:
    """What this resident knows of `name`, one clause each: from its own description, the
    town's common knowledge of a resident's work (English descriptions), facts it heard."""
    first = name.split(" ")[0]
    out: list[str] = []
    if lang == "en":
        intro = first_person(resident.get("identity") or "", resident["name"])
        clauses = [_own_clause(c) for s in intro for c in re.split(r",? (?:and|but) |; ", s)]
        out += [c.rstrip(".") for c in clauses if re.search(rf"\b{re.escape(first)}\b", c)][:1]
        other = next((r for r in mind.town.residents.values() if r["name"] == name), None)
        if other and other.get("identity"):  # a small town knows what everyone does
            work = re.split(r"(?<=[.!?])\s+", other["identity"].strip())[0].rstrip(".")
            out.append(re.split(r",? and (?=has|is|was)", work)[0])
    other = next((r for r in mind.town.residents.values() if r["name"] == name), None)
    work = work_entry(other.get("routine") or []) if other and lang != "en" else None
    if work:  # no description in this language: where the town sees them at work
        where = pick(lang, "usually_at", "{name} is usually at the {place}")
        out.append(where.format(name=first, place=place_words(work.get("area"), lang)))
    for fact in stored_facts(resident, name, lang)[:2]:
        out.append(fact.third)
    for fact, _teller in _hearsay(resident, first, lang)[:1]:
        if all(fact.third != o for o in out):
            out.append(fact.third)
    if not out:  # what it saw or heard of them (the reasons people_to_meet gives)
        reasons = people_to_meet(mind, resident, {"id": None})
        out += [why for who, why in reasons if who == name][:1]
        if out == [pick(lang, "neighbour", "a good neighbour")]:
            out = []
        out = [f"{first}: {why}" for why in out]
    return out


def told_by(resident: dict, name: str, lang: str) -> list[str]:
    """What `name` told this resident, as it would say it ("Mara told me they keep bees")."""
    first = name.split(" ")[0]
    line = pick(lang, "told_me_about", "{teller} told me {fact}")
    out = [line.format(teller=first, fact=f.reported) for f in stored_facts(resident, name, lang)]
    rows = Memory.objects.filter(agent_id=resident["pk"], source="fact").defer("embedding")
    for memory in rows.order_by("-created_t", "-id")[:50]:
        match = re.match(
            r"^(?P<fact>.+) \((?:heard from|me lo contó) (?P<teller>[^)]+)\)\.?$", memory.text
        )
        if match and match.group("teller").split(" ")[0] == first:
            out.append(line.format(teller=first, fact=match.group("fact")))
    return list(dict.fromkeys(out))


def _hearsay(resident: dict, first: str, lang: str) -> list[tuple[facts.Fact, str | None]]:
    """Facts about `first` this resident heard from others."""
    rows = Memory.objects.filter(
        agent_id=resident["pk"], source="fact", text__startswith=first + " "
    ).defer("embedding")
    return [facts.from_memory(m.text, first, lang) for m in rows.order_by("-created_t")[:5]]


def companions(mind: Mind, resident: dict, listener: dict, lang: str) -> list[tuple[str, str]]:
    """People this resident talked with lately (newest first), each with a reason to see them
    again: what they told it, else what it thinks of them (agents/relationships.py)."""
    rows = (
        Relationship.objects.filter(agent_id=resident["pk"])
        .exclude(other__pid=listener.get("id") or "")
        .select_related("other")
        .order_by("-last_t", "-talks")[:5]
    )
    out: list[tuple[str, str]] = []
    for row in rows:
        told = stored_facts(resident, row.other.name, lang)
        if told:
            why = pick(lang, "want_more", "they told me {fact}, and I'd like to hear more")
            out.append((row.other.name, why.format(fact=told[0].reported)))
        elif row.opinion:
            out.append((row.other.name, row.opinion.rstrip(".")))
    if not out:
        out = people_to_meet(mind, resident, listener)[:1]
    return out


_SEEN = re.compile(r"^(?:Saw|Vi a) [^“”.]*? (?:at the|en) (?P<place>[^.“”]+)\.$")  # offline.saw


def _own_clause(clause: str) -> str:
    """ "have known Mayor Hana since school" (split off "I play chess …, and …") → with "I"."""
    words = clause.split(" ", 1)
    verbs = {"have", "am", "was", "play", "buy", "hope", "want", "know", "run", "sell"}
    if words[0] in verbs or (words[0].islower() and words[0].endswith("ed")):
        return "I " + clause
    return clause


def _entry_at(schedule: list[dict], hour: int) -> dict | None:
    ordered = sorted(schedule, key=lambda e: e["hour"])
    started = [e for e in ordered if e["hour"] <= hour]
    return started[-1] if started else (ordered[-1] if ordered else None)
