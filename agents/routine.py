"""A placeholder routine mind: follows each resident's timetable and makes small talk.

It is pure and deterministic (every choice is seeded by the request id), needs no model and
no database, and keeps the town alive until the real memory-driven minds replace it.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from agents.phrases import farewell_openings, pick
from agents.phrases import place as place_words

if TYPE_CHECKING:  # the mind only reads the map it is handed; no import at runtime
    from town.engine import TownMap

INVITE_CHANCE = 0.15
WANDER_CHANCE = 0.4
DECLINE_WHEN_BUSY = 0.25

_GREETINGS = {
    "morning": ["Good morning, {other}!", "Morning, {other}. Sleep well?"],
    "afternoon": ["Good afternoon, {other}!", "Hi {other}, nice afternoon, isn't it?"],
    "evening": ["Good evening, {other}.", "Evening, {other}! Long day?"],
    "night": ["Still up, {other}?", "Oh, hello {other}, it's late!"],
}
_SMALL_TALK = [
    "I've been {activity}. What about you?",
    "The {place} is lovely this {daypart}.",
    "Have you heard any news around town, {other}?",
    "It's already {time}; the day flies by.",
    "I might stop by the plaza later.",
    "That sounds nice, {other}. Tell me more some time.",
]
_FAREWELLS = ["I should get going. See you around, {other}!", "Nice talking, {other}. Take care!"]
_FAREWELL_OPENINGS = ("I should get going", "Nice talking")


class RoutineMind:
    """Answers the engine's decision requests from a fixed daily routine per resident."""

    def __init__(
        self, residents: list[dict], town_map: TownMap, seed: int = 0, language: str | None = None
    ) -> None:
        self.residents = {r["id"]: r for r in residents}
        self.map = town_map
        self.seed = seed
        self.language = language  # None: each resident's own "language", else English

    def decide(self, request: dict, state: dict) -> list[dict]:
        """Inputs answering one decision request (empty if the agent is not ours)."""
        agent = request["agent"]
        resident = self.residents.get(agent)
        if resident is None:
            return []
        # Seeding from the request id makes every answer reproducible, even after a restart.
        rng = random.Random(f"{self.seed}:{request['id']}:{agent}")
        answer = {"next": self._next, "invite": self._invite, "reply": self._reply}.get(
            request["kind"]
        )
        if answer is None:
            return []
        inputs = answer(resident, request["context"], rng)
        for inp in inputs:
            inp.setdefault("actor", agent)
            inp["decision"] = request["id"]
        return inputs

    def current_plan(self, resident: dict, hour: int) -> dict:
        """The routine entry in force at `hour`: the latest starting at or before it, wrapping."""
        routine = sorted(resident.get("routine") or [], key=lambda e: e["hour"])
        if not routine:
            return {"hour": 0, "area": resident.get("home"), "activity": "pottering about"}
        started = [e for e in routine if e["hour"] <= hour]
        return started[-1] if started else routine[-1]

    def _next(self, resident: dict, ctx: dict, rng: random.Random) -> list[dict]:
        plan = self.current_plan(resident, ctx["clock"]["hour"])
        activity = plan.get("activity") or "passing the time"
        area = self.map.areas.get(plan.get("area") or "") or self.map.areas.get(
            resident.get("home") or ""
        )
        here = (ctx["x"], ctx["y"])
        if area is not None and not area.contains(*here):
            x, y = area.random_tile(rng)
            errand = errand_line(activity, area.name, self.language or _language(resident))
            return [{"type": "move", "x": x, "y": y, "activity": errand}]
        roll = rng.random()
        free = [o for o in ctx.get("nearby", []) if not o["in_conversation"] and not o["cooldown"]]
        if roll < INVITE_CHANCE and free:
            return [{"type": "invite", "to": free[rng.randrange(len(free))]["id"]}]
        if roll < INVITE_CHANCE + WANDER_CHANCE and area is not None:
            x, y = area.random_tile(rng)
            if (x, y) != here:
                return [{"type": "move", "x": x, "y": y, "activity": activity}]
        return [{"type": "set_activity", "text": activity, "for_ms": rng.randint(4000, 15000)}]

    def _invite(self, resident: dict, ctx: dict, rng: random.Random) -> list[dict]:
        plan = self.current_plan(resident, ctx["clock"]["hour"])
        area = self.map.areas.get(plan.get("area") or "")
        on_errand = area is not None and not area.contains(ctx["x"], ctx["y"])
        kind = "decline" if on_errand and rng.random() < DECLINE_WHEN_BUSY else "accept"
        return [{"type": kind, "conversation": ctx["conversation"]}]

    def _reply(self, resident: dict, ctx: dict, rng: random.Random) -> list[dict]:
        me = resident["id"]
        other = (ctx.get("others") or [{"name": "friend"}])[0]["name"].split(" ")[0]
        said = sum(1 for m in ctx.get("messages", []) if m["author"] == me)
        # A per-conversation length so pairs do not all chat for exactly the same time.
        length = random.Random(f"{self.seed}:{ctx['conversation']}:{me}").randint(3, 5)
        if said >= length:
            return [{"type": "leave_conversation", "conversation": ctx["conversation"]}]
        messages = ctx.get("messages") or []
        goodbyes = _FAREWELL_OPENINGS + farewell_openings()
        heard_goodbye = bool(messages) and messages[-1]["text"].startswith(goodbyes)
        said_goodbye = any(m["author"] == me and m["text"].startswith(goodbyes) for m in messages)
        if said_goodbye:
            return [{"type": "leave_conversation", "conversation": ctx["conversation"]}]
        daypart = part_of_day(ctx["clock"]["hour"])
        lang = self.language or _language(resident)
        if said == 0 and not heard_goodbye:
            options = pick(lang, "greetings", _GREETINGS)[daypart]
        elif said >= length - 1 or heard_goodbye:
            options = pick(lang, "farewells", _FAREWELLS)
        else:
            options = pick(lang, "routine_small_talk", _SMALL_TALK)
        fill = line_fill(ctx, other, lang)
        lines = [t.format(**fill) for t in options]
        fresh = [line for line in lines if all(m["text"] != line for m in messages)] or lines
        text = fresh[rng.randrange(len(fresh))]
        return [{"type": "say", "conversation": ctx["conversation"], "text": text}]


def part_of_day(hour: int) -> str:
    """Morning, afternoon, evening or night."""
    if 5 <= hour < 12:
        return "morning"
    if 12 <= hour < 18:
        return "afternoon"
    if 18 <= hour < 22:
        return "evening"
    return "night"


def line_fill(ctx: dict, other: str, language: str | None) -> dict:
    """The words a template line can name: who, doing what, where, the time of day."""
    clock = ctx["clock"]
    daypart = part_of_day(clock["hour"])
    return {
        "other": other,
        "activity": ctx.get("activity") or pick(language, "out_and_about", "out and about"),
        "place": place_words(ctx.get("area"), language),
        "daypart": pick(language, "dayparts", {}).get(daypart, daypart),
        "time": f"{clock['hour']:02d}:{clock['minute']:02d}",
    }


def errand_line(activity: str, area: str, language: str | None = None) -> str:
    """Activity text while on the way somewhere."""
    heading = pick(language, "heading", "heading to the {place} ({activity})")
    return heading.format(place=place_words(area, language), activity=activity)[:120]


def _language(resident: dict) -> str:
    """The resident's language when the caller named none (pure: no database here)."""
    return resident.get("language") or "en"


# The names agents/mind.py and agents/replies.py import today (to switch to the public ones).
_errand = errand_line
_daypart = part_of_day
