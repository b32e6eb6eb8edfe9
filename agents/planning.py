"""The daily plan and hourly schedule, tied to the map's areas.

Once per game day a resident plans: with the model (one call, grounded in recent memories),
or offline from its routine. The plan becomes a `plan` memory and the schedule the `next`
decisions follow. Meetings agreed in conversation are slotted in for the hour they name.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from agents import offline, prompts
from agents.llm import ModelUnavailable, get_client
from agents.models import Memory, MindState

if TYPE_CHECKING:
    from agents.mind import Mind

log = logging.getLogger(__name__)


def entry_at(schedule: list[dict], hour: int) -> dict:
    """The schedule entry in force at `hour`: the latest starting at or before it, wrapping."""
    if not schedule:
        return {}
    ordered = sorted(schedule, key=lambda e: e["hour"])
    started = [e for e in ordered if e["hour"] <= hour]
    return started[-1] if started else ordered[-1]


def known_area(name: str, areas) -> str | None:
    """The map's area id a model meant ("The Cafe", "town-hall"), or None if there is none."""
    key = re.sub(r"[\s-]+", "_", name.strip().lower())
    key = re.sub(r"^(?:the|el|la|los|las)_", "", key)
    return key if key in areas else None


def ensure_plan(mind: Mind, resident: dict, state: MindState, day: int, t: int) -> None:
    """Make today's schedule if this resident has none for `day` yet."""
    if state.plan_day == day and state.schedule:
        return
    schedule = None
    if mind.use_model_unasked():
        schedule = _model_plan(mind, resident, day, t)
    if schedule is None:
        schedule = offline.day_plan(resident, [])
    state.plan_day, state.schedule = day, schedule
    state.save(update_fields=["plan_day", "schedule", "updated"])
    text = offline.plan_text(day, schedule, offline.language_of(resident))
    mind.remember(resident, Memory.Kind.PLAN, text, 5, t)


def _model_plan(mind: Mind, resident: dict, day: int, t: int) -> list[dict] | None:
    areas = sorted(mind.town.town_map.areas)
    recalled = mind.recall(resident, f"plans for today, day {day}", t, k=5)
    # Town notices always reach the plan, whatever the retrieval ranks first.
    notices = list(
        Memory.objects.filter(
            agent_id=resident["pk"],
            source="announcement",
            created_t__gte=t - mind.town.game_day_ms(),
        )
        .defer("embedding")
        .order_by("-created_t")[:3]
    )
    # Memory rows, not their texts: a notice is an operator's words and stays delimited.
    seen = {n.pk for n in notices}
    memories = notices + [r.memory for r in recalled if r.memory.pk not in seen]
    try:
        answer = get_client().structured(
            "plan",
            prompts.day_plan(resident, day, areas, memories),
            prompts.with_areas(prompts.DayPlan, areas),
            world_id=mind.town.world_id,
            agent=resident["id"],
            max_tokens=400,
        )
    except ModelUnavailable as exc:
        log.info("plan for %s falls back to the routine: %s", resident["id"], exc)
        return None
    fallback = offline.day_plan(resident, [])
    schedule = {}
    for slot in answer.schedule:
        area = known_area(slot.area, mind.town.town_map.areas)
        if area is None:  # a place the map does not have
            area = entry_at(fallback, slot.hour).get("area") or resident.get("home")
        schedule[slot.hour] = {"hour": slot.hour, "area": area, "activity": slot.activity[:120]}
    return [schedule[h] for h in sorted(schedule)]


def add_meetings(resident: dict, day: int, changes: list[dict]) -> None:
    """Slot meetings agreed today into the resident's schedule (a reaction to a conversation)."""
    if not changes:
        return
    state = MindState.objects.get_or_create(agent_id=resident["pk"])[0]
    if state.plan_day != day or not state.schedule:
        state.plan_day, state.schedule = day, offline.day_plan(resident, [])
    state.schedule = offline.apply_changes(state.schedule, changes)
    state.save(update_fields=["plan_day", "schedule", "updated"])
