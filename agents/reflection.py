"""Reflection: when enough has happened, residents draw insights from their memories.

With the model, as the paper does: the recent memories raise a few questions, each question
retrieves memories, and one call turns them into insights citing their evidence. Offline,
insights come from who keeps appearing in the resident's memories.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from agents import offline, prompts
from agents.llm import ModelUnavailable, get_client
from agents.memory import recent
from agents.models import Memory, MindState

if TYPE_CHECKING:
    from agents.mind import Mind

log = logging.getLogger(__name__)
RECENT_FOR_QUESTIONS = 50


def reflect(mind: Mind, resident: dict, t: int) -> int:
    """Store insights with evidence links; reset the importance counter; return how many."""
    MindState.objects.filter(agent_id=resident["pk"]).update(unreflected=0)
    memories = recent(resident["pk"], RECENT_FOR_QUESTIONS)
    if not memories:
        return 0
    insights = _model_insights(mind, resident, memories, t) if mind.use_model() else None
    if insights is None:
        names = sorted(
            {n.split(" ")[0] for n in mind.town.names.values()} - {resident["name"].split(" ")[0]}
        )
        language = offline.language_of(resident)
        insights = offline.reflect([(m.pk, m.text) for m in memories], names, language)
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


def _model_insights(mind: Mind, resident: dict, memories: list[Memory], t: int):
    client, world, pid = get_client(), mind.town.world_id, resident["id"]
    try:
        questions = client.structured(
            "reflect",
            prompts.reflection_questions(resident, [m.text for m in memories[:30]]),
            prompts.Questions,
            world_id=world,
            agent=pid,
            max_tokens=150,
        ).questions
        pool: dict[int, Memory] = {}
        for question in questions:
            for r in mind.recall(resident, question, t, k=5):
                pool.setdefault(r.memory.pk, r.memory)
        statements = list(pool.values())
        answer = client.structured(
            "reflect",
            prompts.insights(resident, questions, [m.text for m in statements]),
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
