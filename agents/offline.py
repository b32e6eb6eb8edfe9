"""The offline mind's thinking: a deterministic planner, template dialogue over retrieved
memories, heuristic importance and reflection. No model, no network: the town stays alive
and testable with no key, a spent budget or a provider that is down.
"""

from __future__ import annotations

import re
from collections import Counter

from agents import facts
from agents.phrases import farewell_openings, pick
from agents.phrases import place as place_words

_NOTABLE = re.compile(
    r"\b(open\w*|new|party|festival|fair|wedding|married|baby|born|died|moving|move|job|"
    r"election|secret|love|birthday|sick|ill|fire|stolen|lost|found|win|won|prize|concert|"
    r"music|bakery|shop|quit|hired|fired|plan\w*|tomorrow|tonight|friday|saturday|sunday|"
    r"monday|tuesday|wednesday|thursday|"
    # Spanish, for worlds that speak it (docs/minds.md, "World language")
    r"abr\w*|nuev[oa]s?|fiesta|feria|boda|casad[oa]|beb[eé]|naci\w*|muri\w*|mudanza|trabajo|"
    r"elecci\w*|secreto|amor|cumpleaños|enferm\w*|fuego|incendio|robad\w*|perdid\w*|premio|"
    r"concierto|música|panader\w*|tienda|plane\w*|mañana|noche|viernes|sábado|domingo|lunes|"
    r"martes|miércoles|jueves)\b",
    re.IGNORECASE,
)
_HOUR = re.compile(
    r"\b(?:at|by|around|a las|sobre las|hacia las)\s+(\d{1,2})(?::(\d{2}))?\s*(am|pm|o'clock)?",
    re.I,
)
_HEADER = re.compile(r"^(?:Talked with|Hablé con) [^()]*\([^)]*\)\.\s*")  # talked_with()
_QUOTED = re.compile(r"“([^”]*)”")
_SAID = re.compile(r"[^“”.:]*? (?:said|dijo): |(?:I said|Yo dije): ")
_QUOTE_MARKS = re.compile(r"[\"“”«»„]")
_QUESTION_WORDS = re.compile(r"^(what|who|where|when|why|how|do|did|does|is|are|can|have)\b", re.I)

GREETINGS = {
    "morning": ["Good morning, {other}!", "Morning, {other}. Sleep well?"],
    "afternoon": ["Good afternoon, {other}!", "Hi {other}, nice afternoon, isn't it?"],
    "evening": ["Good evening, {other}.", "Evening, {other}! Long day?"],
    "night": ["Still up, {other}?", "Oh, hello {other}, it's late!"],
}
FAREWELLS = ["I should get going. See you around, {other}!", "Nice talking, {other}. Take care!"]
FAREWELL_OPENINGS = ("I should get going", "Nice talking", "bye", "goodbye", "see you")


def importance(text: str, *, human: bool = False, base: int = 2) -> int:
    """A 1–10 guess of how much `text` matters, from what it says: notable words, numbers in
    it, a fact someone shared about themself, a human involved. The diary framing ("Talked
    with Ana (day 1, 09:12).") and who said what do not count: they are in every summary."""
    content = _HEADER.sub("", text)
    quoted = _QUOTED.findall(content) or [content]
    content = _SAID.sub(" ", content)
    score = base + min(4, len(_NOTABLE.findall(content)))
    score += 1 if re.search(r"\d", content) else 0
    score += 1 if human else 0
    shared = any(facts.capture(q, "someone", lang) for q in quoted for lang in ("en", "es"))
    score += 1 if shared else 0
    return max(1, min(10, score))


def is_question(text: str) -> bool:
    text = text.strip()
    return text.endswith("?") or bool(_QUESTION_WORDS.match(text))


def is_farewell(text: str) -> bool:
    low = text.lower()
    openings = FAREWELL_OPENINGS + farewell_openings()
    return any(low.startswith(f.lower()) or f" {f.lower()}" in low for f in openings)


def language_of(resident: dict | None, language: str | None = None) -> str:
    """The language given, else that of the resident's world (read now: edits apply live)."""
    if language:
        return language
    from town.language import default_language, resident_language

    return resident_language(resident) if resident else default_language()


def when(clock: dict, language: str | None = None) -> str:
    """A moment for a diary line: "day 2, 09:15"."""
    return pick(language, "when", "day {day}, {hour:02d}:{minute:02d}").format(**clock)


def talked_with(others: list[str], when: str, language: str | None = None) -> str:
    """The opening of a conversation memory: "Talked with Ana (day 1, 09:12)."."""
    someone = pick(language, "someone", "someone")
    template = pick(language, "talked_with", "Talked with {others} ({when}).")
    return template.format(others=", ".join(others) or someone, when=when)


def plan_text(day: int, schedule: list[dict], language: str | None = None) -> str:
    """Today's schedule as a plan memory."""
    slots = "; ".join(
        f"{e['hour']:02d}:00 {place_words(e['area'], language)} ({e['activity']})" for e in schedule
    )
    return pick(language, "plan", "My plan for day {day}: {slots}").format(day=day, slots=slots)


def saw(other: dict, area: str | None, language: str | None = None) -> str:
    """An observation of someone nearby: "Saw Ana (a visitor) at the cafe."."""
    who = other["name"]
    if other["kind"] == "human":
        who = pick(language, "visitor", "{name} (a visitor)").format(name=who)
    english = (
        "Saw {who} talking with someone at the {place}."
        if other["in_conversation"]
        else "Saw {who} at the {place}."
    )
    key = "saw_talking" if other["in_conversation"] else "saw"
    return pick(language, key, english).format(who=who, place=place_words(area, language))


def summary(
    me: str,
    names: dict[str, str],
    transcript: list[tuple[str, str, str]],
    when: str,
    language: str | None = None,
) -> str:
    """A first-person diary line for `me`: who was there and what the others said."""
    others = [n for pid, n in names.items() if pid != me]
    heard_line = pick(language, "heard", "{name} said: “{text}”")
    heard = [
        heard_line.format(name=name, text=_clip(_QUOTE_MARKS.sub("", text), 160))
        for pid, name, text in transcript
        if pid != me
    ]
    said = [text for pid, _name, text in transcript if pid == me]
    parts = [talked_with(others, when, language)]
    parts += heard[:6]
    if said and not heard:
        parts.append(
            pick(language, "i_said", "I said: “{text}”").format(
                text=_clip(_QUOTE_MARKS.sub("", said[0]), 120)
            )
        )
    return " ".join(parts)


def plans_from(
    transcript: list[tuple[str, str, str]],
    areas: list[str],
    names: dict[str, str],
    language: str | None = None,
) -> list[dict]:
    """Meetings proposed in so many words: a known place and an hour ("at the cafe at 3pm")."""
    found = []
    for pid, _name, text in transcript:
        low = text.lower()
        place = next(
            (a for a in areas if a.replace("_", " ") in low or _local_place(a, language) in low),
            None,
        )
        hour_match = _HOUR.search(text)
        if not place or not hour_match:
            continue
        hour = int(hour_match.group(1))
        suffix = (hour_match.group(3) or "").lower()
        if suffix == "pm" and hour < 12:
            hour += 12
        elif not suffix and 1 <= hour <= 7:
            hour += 12  # "at 3" in a daytime chat means the afternoon
        if 0 <= hour <= 23:
            who = names.get(pid, pick(language, "someone", "someone"))
            meeting = pick(language, "meeting", "meeting {who} at the {place}")
            activity = meeting.format(who=who, place=place_words(place, language))[:120]
            found.append({"hour": hour, "area": place, "activity": activity})
    return found


def apply_changes(schedule: list[dict], changes: list[dict]) -> list[dict]:
    """A schedule with meetings slotted in for one hour, then back to what was planned."""
    out = {e["hour"]: dict(e) for e in schedule}
    for change in changes:
        hour = change["hour"]
        before = [e for h, e in sorted(out.items()) if h <= hour]
        resume = dict(before[-1]) if before else (dict(schedule[-1]) if schedule else None)
        out[hour] = {"hour": hour, "area": change["area"], "activity": change["activity"]}
        if resume and hour + 1 <= 23 and hour + 1 not in out:
            out[hour + 1] = {**resume, "hour": hour + 1}
    return [out[h] for h in sorted(out)]


def day_plan(resident: dict, changes: list[dict], language: str | None = None) -> list[dict]:
    """Today's schedule: the resident's routine with any agreed meetings slotted in."""
    routine = sorted(resident.get("routine") or [], key=lambda e: e["hour"])
    if not routine:
        pottering = pick(language, "pottering", "pottering about")
        routine = [{"hour": 0, "area": resident.get("home"), "activity": pottering}]
    return apply_changes([dict(e) for e in routine], changes)


def in_group(ctx: dict, text: str, end: bool, language: str | None = None) -> tuple[str, bool]:
    """A template line in a group (3+): it names whom it answers (the last speaker, first in
    `others`), and one person's goodbye is not everyone's."""
    others = ctx.get("others") or []
    if len(others) < 2:
        return text, end
    name = others[0]["name"].split(" ")[0]
    messages = ctx.get("messages") or []
    last = messages[-1] if messages else None
    if end and last and last["author"] != ctx.get("me") and is_farewell(last["text"]):
        return pick(language, "take_care", "Take care, {other}!").format(other=name), False
    if re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text, re.IGNORECASE):
        return text, end
    keep = text.startswith(("I ", "I'", "I’")) or not text[:1].isupper()
    return f"{name}, {text if keep else text[:1].lower() + text[1:]}", end


def interview(
    resident: dict,
    question: str,
    memories: list[tuple[str, float]],
    language: str | None = None,
) -> str:
    """An interview answer from retrieved memories (most relevant first)."""
    lang = language_of(resident, language)
    relevant = [text for text, rel in memories if rel >= 0.15] or [t for t, _ in memories[:1]]
    if not relevant:
        nothing = "I'm {name}. I don't remember anything about that."
        return pick(lang, "interview_nothing", nothing).format(name=resident["name"])
    lines = "; ".join(_clip(t, 200) for t in relevant[:3])
    answer = pick(lang, "interview", "I'm {name}. Here is what I remember: {lines}")
    return answer.format(name=resident["name"], lines=lines)


def reflect(
    memories: list[tuple[int, str]], names: list[str], language: str | None = None
) -> list[tuple[str, list[int], int]]:
    """Insights with evidence: who has been on the resident's mind, and what mattered most."""
    counts: Counter[str] = Counter()
    cited: dict[str, list[int]] = {}
    for mid, text in memories:
        for name in names:
            if name and re.search(rf"\b{re.escape(name)}\b", text):
                counts[name] += 1
                cited.setdefault(name, []).append(mid)
    insights = []
    for name, n in counts.most_common(2):
        if n >= 2:
            line = pick(language, "on_my_mind", "{name} has been on my mind lately ({n} memories).")
            insights.append((line.format(name=name, n=n), cited[name][:5], 5))
    return insights


def _local_place(area: str, language: str | None) -> str:
    """A place as a speaker of `language` would write it, for matching ("café", not "cafe")."""
    words = place_words(area, language).lower()
    return words.split(" ", 1)[1] if words.startswith(("el ", "la ")) else words


def _clip(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"
