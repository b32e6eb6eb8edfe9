"""Reflection: when enough has happened, residents draw insights from their memories.

It fires when the summed importance of new memories passes MIND_REFLECTION_THRESHOLD (fitted
to this memory stream: a few times per active game day, see docs/minds.md) and once at the
end of each game day. With the model, as the paper does: the recent memories raise a few
questions, each question retrieves memories, and one call turns them into insights citing
their evidence. Offline, template insights on the most frequent subjects (the people and
places that keep coming up) cite the memories that mention them.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from typing import TYPE_CHECKING

from agents import offline, prompts
from agents.llm import ModelUnavailable, get_client
from agents.memory import SALIENT_IMPORTANCE, recent
from agents.models import Memory, MindState
from agents.phrases import place as place_words

if TYPE_CHECKING:
    from agents.mind import Mind

log = logging.getLogger(__name__)
RECENT_FOR_QUESTIONS = 50
OFFLINE_INSIGHTS = 2  # at most, per reflection (plus the end-of-day one)
MIN_MENTIONS = 2  # a subject worth an insight comes up at least this often
MIN_FRESH = 4  # fewer new memories than this: look further back
QUESTION_MEMORIES = 20  # the most recent memories the questions are asked about

TEMPLATES = {
    "en": {
        "person": "{name} keeps coming up in my days ({n} memories); they matter to me.",
        "place": "I have spent much of my time at the {place} lately ({n} memories).",
        "day": "Looking back on day {day}: it was mostly about {subjects}.",
        "and": " and ",
    },
    "es": {
        "person": "{name} aparece mucho en mis días ({n} recuerdos); me importa.",
        "place": "Últimamente paso mucho tiempo en {place} ({n} recuerdos).",
        "day": "Mirando atrás el día {day}: sobre todo, {subjects}.",
        "and": " y ",
    },
}


def reflect(mind: Mind, resident: dict, t: int, *, end_of_day: bool = False) -> int:
    """Store insights with evidence links; reset the importance counter; return how many."""
    MindState.objects.filter(agent_id=resident["pk"]).update(unreflected=0)
    # Insights are drawn from what happened, not from earlier insights (no echoes of echoes).
    memories = [
        m for m in recent(resident["pk"], RECENT_FOR_QUESTIONS) if m.kind != Memory.Kind.REFLECTION
    ]
    if not memories:
        return 0
    insights = None
    if mind.use_model_unasked():
        insights = _model_insights(mind, resident, memories, t, end_of_day=end_of_day)
    if insights is None:
        # Offline insights come from what is new since the last reflection, so the next one
        # is about the next few hours, not the same subjects counted again.
        last = (
            Memory.objects.filter(agent_id=resident["pk"], kind=Memory.Kind.REFLECTION)
            .order_by("-created_t")
            .values_list("created_t", flat=True)
            .first()
        )
        fresh = [m for m in memories if last is None or m.created_t > last]
        pool = fresh if len(fresh) >= MIN_FRESH else memories
        insights = offline_insights(mind, resident, pool, t, end_of_day=end_of_day)
    for text, evidence, importance in insights:
        mind.remember(
            resident,
            Memory.Kind.REFLECTION,
            text,
            importance,
            t,
            evidence=evidence,
            source="reflection",
        )
    # The insights themselves count towards the next reflection only from now on.
    MindState.objects.filter(agent_id=resident["pk"]).update(unreflected=0)
    return len(insights)


LOOK_BACK = "What mattered most today, and what does it say about me and the people around me?"


def _model_insights(
    mind: Mind, resident: dict, memories: list[Memory], t: int, *, end_of_day=False
):
    """The paper's two steps (questions on the recent memories, then insights on what each
    question retrieves); at the end of the day one step, a look back: insights on the latest
    memories that mattered (as AI Town reflects), which saves the questions call."""
    client, world, pid = get_client(), mind.town.world_id, resident["id"]
    try:
        if end_of_day:
            questions, statements = [LOOK_BACK], question_memories(memories)
        else:
            questions, statements = _asked(client, mind, resident, memories, t)
        answer = client.structured(
            "reflect",
            prompts.insights(resident, questions, statements),
            prompts.Insights,
            world_id=world,
            agent=pid,
            max_tokens=300,
        )
    except ModelUnavailable as exc:
        log.info("reflection for %s falls back to the offline mind: %s", pid, exc)
        return None
    out = []
    for insight in answer.insights:
        evidence = [statements[i].pk for i in insight.evidence if 0 <= i < len(statements)]
        out.append((insight.text, evidence, insight.importance))
    return out


def _asked(client, mind: Mind, resident: dict, memories: list[Memory], t: int):
    """The paper's first step: questions the recent memories raise, and the statements each
    question retrieves (a statement retrieved twice is numbered once)."""
    questions = client.structured(
        "reflect",
        prompts.reflection_questions(resident, question_memories(memories)),
        prompts.Questions,
        world_id=mind.town.world_id,
        agent=resident["id"],
        max_tokens=150,
    ).questions
    pool: dict[str, Memory] = {}
    for question in questions:
        for r in mind.recall(resident, question, t, k=5):
            pool.setdefault(r.memory.text, r.memory)
    return questions, list(pool.values())


def question_memories(memories: list[Memory]) -> list[Memory]:
    """What the questions are asked about: the most recent memories that are more than a
    routine sighting (all of them when fewer than MIN_FRESH are)."""
    salient = [m for m in memories if m.importance >= SALIENT_IMPORTANCE]
    return (salient if len(salient) >= MIN_FRESH else memories)[:QUESTION_MEMORIES]


def offline_insights(
    mind: Mind, resident: dict, memories: list[Memory], t: int, *, end_of_day: bool = False
) -> list[tuple[str, list[int], int]]:
    """Template insights on the people and places that come up most, citing those memories."""
    language = offline.language_of(resident)
    words = TEMPLATES.get(language, TEMPLATES["en"])
    me = resident["name"].split(" ")[0]
    people = sorted({n.split(" ")[0] for n in mind.town.names.values()} - {me, ""})
    places = {a: place_words(a, language) for a in mind.town.town_map.areas}
    counts: Counter[tuple[str, str]] = Counter()
    cited: dict[tuple[str, str], list[int]] = {}
    for memory in memories:
        low = memory.text.lower()
        subjects = [("person", n) for n in people if re.search(rf"\b{re.escape(n)}\b", memory.text)]
        subjects += [
            ("place", a)
            for a, words_for in places.items()
            if a.replace("_", " ") in low or words_for.lower() in low
        ]
        for subject in subjects:
            counts[subject] += 1
            cited.setdefault(subject, []).append(memory.pk)
    out = []
    top = [(s, n) for s, n in counts.most_common() if n >= MIN_MENTIONS][:OFFLINE_INSIGHTS]
    for (kind, name), n in top:
        if kind == "person":
            text = words["person"].format(name=name, n=n)
        else:
            text = words["place"].format(place=places[name], n=n)
        out.append((text, cited[(kind, name)][:5], 5))
    if end_of_day and top:
        day = mind.town.clock(t)["day"]
        named = [name if kind == "person" else places[name] for (kind, name), _ in top[:2]]
        text = words["day"].format(day=day, subjects=words["and"].join(named))
        evidence = [pk for subject, _ in top[:2] for pk in cited[subject][:3]]
        out.append((text, evidence, 4))
    return out
