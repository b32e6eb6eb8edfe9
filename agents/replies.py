"""The offline mind's lines: templates and how the next one is chosen, with no model.

`compose` turns what a resident knows (a `Knowledge`, gathered by agents/dialogue.py) into
the next line: an answer to the question asked (about itself, about others, about the
visitor), an acknowledgement of a fact shared or of news passed on, news with its source,
or small talk drawn from its own description, the day and the place. Of the templates that
fit, the one sharing the fewest word pairs with what the resident already said is chosen,
so a conversation stays varied. English lives here; other languages in agents/phrases.py.
Pure: no Django, no I/O.
"""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass, field

from agents import facts, offline
from agents.phrases import pick
from agents.phrases import place as place_words
from agents.routine import _daypart, line_fill


@dataclass
class Knowledge:
    """What the offline mind draws a line from."""

    language: str = "en"
    me_first: str = ""
    intro: list[str] = field(default_factory=list)  # own description, first person
    activity: str = ""
    next_entry: dict | None = None
    told_me: list[facts.Fact] = field(default_factory=list)  # the visitor, about themself
    heard_now: list[facts.Fact] = field(default_factory=list)  # from the last line heard
    heard_news: list[facts.Fact] = field(default_factory=list)  # others' facts, passed on
    people: list[tuple[str, str]] = field(default_factory=list)  # (name, why)
    memories: list[tuple[str, float]] = field(default_factory=list)
    trivial: set[str] = field(default_factory=set)  # routine sightings: nothing to tell
    news: str | None = None
    transcript: list[str] = field(default_factory=list)  # the conversation's lines so far
    name: str = ""  # full name, for introductions
    routine: list[dict] = field(default_factory=list)  # a usual day (tomorrow's plan)
    schedule: list[dict] = field(default_factory=list)  # today's plan
    place: str = ""  # where the resident is, as words
    asked: str = ""  # the person a question names ("Who is Bram?"), first name
    about: list[str] = field(default_factory=list)  # what I know of `asked`, one clause each
    told_by: list[str] = field(default_factory=list)  # what `asked` told me, as I'd say it
    companions: list[tuple[str, str]] = field(default_factory=list)  # met lately, with why
    interview: bool = False  # asked by an interviewer: no greeting, answer or say what I know


# -- composing (pure) -------------------------------------------------------------------------

_EN = {
    "spend_time": r"spend (?:some )?time with|who would (?:it|that) be|whom? would you (?:like|want|"
    r"choose|pick)|who would you (?:like|love|want) to (?:see|visit|spend)|who do you miss",
    "react": r"what (?:would|should) you do\b|how would you react|what if\b",
    "told_by": r"[Ww]hat (?:did|has) (?P<who>[A-Z][\w'-]+)(?: [A-Z][\w'-]+)? (?:tell|told|say|said)|"
    r"[Ww]hat (?:did|have) you hear from",
    "who_is": r"\bwho(?:'s| is| was)\b|what do you (?:know|think) (?:about|of)|tell me about [A-Z]",
    "at_hour": r"\b(?:at|around|by)\s+\d{1,2}(?::\d\d)?\s*(?:am|pm|a\.m\.|p\.m\.|o'clock)?",
    "intro": r"introduc\w* (?:of )?yourself|introduction of yourself|tell me about yourself|"
    r"who are you",
    "occupation": r"occupation|what do you do(?: for a living| for work|\?|$)|for a living|"
    r"your (?:job|work|trade)\b|what(?:'s| is) your (?:work|job)",
    "self_now": r"what (?:are|r) you (?:doing|up to)|what're you doing|what are you working on|busy\b",
    "plans": r"\b(?:plans?|later|tonight|tomorrow|schedule|what will you|going to do)\b",
    "meet": r"\bwho(?:m)? (?:should|could|can|do you think) i (?:meet|talk|see|know|visit)|"
    r"\banyone (?:i should|worth|to meet)|\bwho (?:is|'s) (?:worth|interesting)|people to meet",
    "recall_me": r"remember (?:what i|me|anything i)|what (?:did|have) i (?:tell|told|say|said)|"
    r"what do i do|what do you know about me|\bmy (?:job|work|living|name)\b|who am i|"
    r"about me\b|\bwhat i (?:do|told|said)",
    "who_you": r"about you\b",
}
_ES = {
    "spend_time": r"pasar (?:un )?tiempo con|qui[ée]n ser[íi]a|con qui[ée]n (?:te gustar[íi]a|"
    r"pasar[íi]as|quedar[íi]as)|a qui[ée]n (?:te gustar[íi]a|echas de menos)",
    "react": r"qu[ée] (?:har[íi]as|haces si|hac[ée]s si|vas a hacer ahora)|c[óo]mo reaccionar[íi]as",
    "told_by": r"[Qq]u[ée] te (?:cont[óo]|dijo|ha contado|ha dicho) (?P<who>[A-ZÁÉÍÓÚÑ][\w'-]+)",
    "who_is": r"qui[ée]n es\b|qu[ée] (?:sabes|opinas|piensas) de|h[áa]blame de [A-ZÁÉÍÓÚÑ]",
    "at_hour": r"\ba las\s+\d{1,2}",
    "intro": r"pres[ée]nta(?:te|se)|h[áa]blame de ti|qui[ée]n eres",
    "occupation": r"a qu[ée] te dedicas|tu (?:trabajo|oficio|ocupaci[óo]n)|en qu[ée] trabajas",
    "self_now": r"qu[ée] (?:est[áa]s haciendo|haces|andas haciendo)|en qu[ée] andas",
    "plans": r"\b(?:planes?|luego|m[áa]s tarde|esta noche|mañana|qu[ée] vas a hacer)\b",
    "meet": r"a qui[ée]n (?:deber[íi]a|podr[íi]a|puedo|tendr[íi]a que) (?:conocer|ver|visitar)|"
    r"a qui[ée]n me recomiendas|gente que conocer",
    "recall_me": r"(?:te )?acuerdas de (?:lo que|m[íi])|recuerdas lo que|qu[ée] te (?:dije|cont[ée])|"
    r"a qu[ée] me dedico|qu[ée] sabes de m[íi]|qui[ée]n soy|mi (?:trabajo|nombre)",
    "who_you": r"de ti\b",
}

ACK_FACT = [
    "Oh, {second}? {reaction}",
    "So {second}. {reaction}",
    "{reaction} Fancy that, {second}.",
    "Really, {second}? {reaction}",
]
ACK_NEWS = [
    "{news}? I had no idea.",
    "Well I never. Good for {subject}.",
    "Is that so? I'll ask {subject} about it.",
]
REACTIONS = [
    "I'd love to hear more about that, {other}.",
    "How did that come about?",
    "That's something I'll remember, {other}.",
    "Not many people here can say that.",
    "You must tell me how it goes.",
]
RECALL_ME = [
    "Of course, {other}: {facts}, you said.",
    "I do, {other}. You told me {facts}.",
    "How could I forget? {facts_cap}, you told me.",
]
RECALL_NOTHING = [
    "You haven't told me much about yourself yet, {other}. What do you do?",
    "Not much yet, {other}, I'm afraid. Tell me something about yourself?",
]
SELF_NOW = [
    "Right now I'm {activity}, here at the {place}.",
    "Oh, {activity}, as I do most {daypart}s.",
    "Just {activity}. It's that time of day.",
]
NEXT_UP = [
    "At {hour}:00 I'll be off {next}.",
    "Later, around {hour}:00, I'm {next}.",
    "Then at {hour}:00 it's {next}.",
]
MEET = [
    "You should meet {name1}: {why1}. And {name2}, {why2}.",
    "I'd start with {name1}: {why1}. {name2} too: {why2}.",
]
MEET_ONE = ["Go and see {name1}: {why1}.", "You should meet {name1}: {why1}."]
MEET_NONE = ["I hardly know anyone yet myself, {other}. Try the plaza at noon."]
NICE_TO_MEET = [
    "Nice to meet you. I'm {me}. {intro}",
    "Welcome to town! I'm {me}. {intro}",
]
WHO_I_AM = ["Well, I'm {me}. {intro}", "Me? {intro}", "{intro} That's me in a nutshell."]
TAG_ANSWERS = [
    "Not bad at all, thanks.",
    "Can't complain, {other}.",
    "Busy, but the good kind of busy.",
    "Quiet so far, and I like it that way.",
]
DONT_KNOW = [
    "I couldn't tell you, {other}; that's news to me.",
    "I've no idea about that, I'm afraid.",
    "Hmm, I don't know. Ask around the plaza?",
]
INTRODUCTION = [
    "I'm {name}. {intro_two}",
    "My name is {name}. {intro_two}",
    "{name}, pleased to meet you. {intro_two}",
]
INTRODUCTION_ROUTINE = [
    "I'm {name}. Most days you'll find me {work_activity}, {work_place}.",
    "My name is {name}; I spend my days {work_activity}, {work_place}.",
]
OCCUPATION = ["{work}.", "Well, {work_low}.", "{work}. It keeps me busy."]
OCCUPATION_ROUTINE = [
    "Most days you'll find me {work_activity}, {work_place}.",
    "I spend my days {work_activity}, mostly {work_place}.",
]
WHO_IS = [
    "{asked}? {about}.",
    "Ah, {asked}. {about}.",
    "{asked}, yes: {about_low}.",
]
WHO_IS_NOTHING = [
    "{asked}? I can't say I know them well yet.",
    "I've heard the name {asked}, but we've hardly spoken.",
]
TOLD_BY = [
    "{told}.",
    "Let me think. {told}.",
    "{told}, if I remember right.",
]
TOLD_BY_NOTHING = [
    "{asked} hasn't told me anything I can recall, I'm afraid.",
    "Nothing that stuck, I'm afraid; I don't think {asked} and I have talked much.",
]
AT_HOUR = [
    "At {at}:00 {when_word} I'll be {at_activity}, {at_place}.",
    "{When_word} at {at}:00? {at_activity_cap}, {at_place}, as usual.",
    "Around {at}:00 {when_word} I'm usually {at_activity}, {at_place}.",
]
SPEND_TIME = [
    "{companion}, I think: {companion_why}.",
    "I'd pick {companion}: {companion_why}.",
    "Probably {companion}. {companion_why_cap}.",
]
REACT_FIRE = [
    "My {thing}? I'd whip the pan off the stove, open a window to let the smoke out, and start "
    "again. {flourish}",
    "I'd pull the {thing} off the heat straight away, throw the window open and laugh it off. "
    "{flourish}",
    "Off the stove it goes! I'd scrape the burnt bits off the {thing} and try again. {flourish}",
]
REACT_OTHER = [
    "I'd stop {activity} and see to it straight away, then ask someone at the {place} to help.",
    "First I'd keep calm, then sort it out and tell someone at the {place}.",
]
FLOURISHES = [
    "It wouldn't be the first time.",
    "Then back to {next_thing}.",
    "Nobody at the {place} needs to know.",
]
INTERVIEW_NOTHING = ["I'd rather not guess at that.", "I don't really know what to say to that."]
FROM_MEMORY = ["That reminds me: {memory}", "As I recall, {memory}", "Well, {memory_low}"]
SMALL_TALK = [
    "{intro}",
    "It's {daypart} on day {day} and the {place} is lovely.",
    "I've been {activity} most of the {daypart}.",
    "What brings you to the {place}, {other}?",
    "Day {day} already; where does the time go?",
    "Ask anyone here: {trait}, that's me.",
]
NEWS = [
    "Have you heard? {news}.",
    "Some news: {news}.",
    "Oh, and {news_low}.",
    "By the way, {news_low}.",
]


_ORDER = (
    "recall_me",
    "meet",
    "spend_time",
    "told_by",
    "react",
    "at_hour",
    "plans",
    "self_now",
    "intro",
    "occupation",
    "who_is",
    "who_you",
)


def _intent(text: str, lang: str) -> str | None:
    table = _ES if lang == "es" else _EN
    low = text.lower()
    for name in _ORDER:
        # Names and "What did Mara tell you" need the original case.
        if re.search(table[name], text if name == "told_by" else low):
            if name == "plans" and not offline.is_question(text):
                continue
            return name
    if lang != "es" and offline.is_question(text) and re.search(r"\b(?:my|i|me)\b", low):
        return "recall_me"  # a question about the visitor themself
    if lang == "es" and offline.is_question(text) and re.search(r"\b(?:mi|mis|me|yo)\b", low):
        return "recall_me"
    return None


def compose(resident: dict, ctx: dict, know: Knowledge) -> tuple[str, bool]:
    """The next line from what the resident knows; pure, deterministic per conversation turn."""
    lang = know.language
    me = resident["id"]
    rng = random.Random(f"{ctx['conversation']}:{me}:{ctx.get('message_count', 0)}")
    messages = ctx.get("messages") or []
    other = (ctx.get("others") or [{"name": pick(lang, "friend", "friend")}])[0]["name"]
    other = other.split(" ")[0]
    said = [m["text"] for m in messages if m["author"] == me]
    heard = messages[-1]["text"] if messages and messages[-1]["author"] != me else ""
    fill = {**line_fill(ctx, other, lang), **_fill(resident, ctx, know, other)}
    if heard and offline.is_farewell(heard):
        farewells = pick(lang, "farewells", offline.FAREWELLS)
        return _fresh(farewells, fill, said, rng), True
    parts: list[str] = []
    if know.interview:  # an interviewer's question: its answer, or nothing (memories then)
        # Questions of no kind it knows ("How is the cafe?") are answered from memories.
        understood = heard and _intent(heard, lang) is not None
        answer = _answer(heard, know, fill, said, rng) if understood else None
        return answer or "", False
    if not said:
        greetings = pick(lang, "greetings", offline.GREETINGS)[_daypart(ctx["clock"]["hour"])]
        parts.append(_fresh(greetings, fill, said, rng))
    answer = _answer(heard, know, fill, said + parts, rng, first=not said) if heard else None
    if answer:
        parts.append(answer)
    elif know.news and all(_core(know.news) not in s for s in said):
        parts.append(_news(know.news, lang, said + parts, rng))
    elif said or not heard:
        # Small talk also steers clear of what the others said: no echoing their line.
        everything = [m["text"] for m in messages] + parts
        parts.append(_small_talk(lang, fill, everything, rng))
    return " ".join(p for p in parts if p), False


def _answer(
    heard: str, know: Knowledge, fill: dict, said: list[str], rng, first: bool = False
) -> str | None:
    lang = know.language
    intent = _intent(heard, lang)
    if intent == "recall_me":
        if not know.told_me:
            return _fresh(pick(lang, "recall_nothing", RECALL_NOTHING), fill, said, rng)
        items = [f.second for f in know.told_me[:2]]
        joined = pick(lang, "and", " and ").join(items)
        more = {"facts": joined, "facts_cap": joined[:1].upper() + joined[1:]}
        return _fresh(pick(lang, "recall_me", RECALL_ME), {**fill, **more}, said, rng)
    if intent == "meet":
        # Someone not named yet in this conversation first.
        fresh = [p for p in know.people if all(p[0] not in line for line in said)]
        people = (fresh or know.people)[:2]
        if not people:
            return _fresh(pick(lang, "meet_none", MEET_NONE), fill, said, rng)
        more = {"name1": people[0][0], "why1": _lower(people[0][1])}
        if len(people) > 1:
            more |= {"name2": people[1][0], "why2": _lower(people[1][1])}
            return _fresh(pick(lang, "meet", MEET), {**fill, **more}, said, rng)
        return _fresh(pick(lang, "meet_one", MEET_ONE), {**fill, **more}, said, rng)
    direct = _direct(intent, heard, know, fill, said, rng)
    if direct:
        return direct
    if intent == "plans" and know.next_entry:
        return _fresh(pick(lang, "next_up", NEXT_UP), fill, said, rng)
    if intent in ("self_now", "plans"):
        line = _fresh(pick(lang, "self_now", SELF_NOW), fill, said, rng)
        if know.next_entry:
            line += " " + _fresh(pick(lang, "next_up", NEXT_UP), fill, [*said, line], rng)
        return line
    if intent == "who_you":
        return _fresh(pick(lang, "who_i_am", WHO_I_AM), fill, said, rng)
    parts = []
    if facts.introduced_name(heard, lang) and first:
        parts.append(_fresh(pick(lang, "nice_to_meet", NICE_TO_MEET), fill, said, rng).strip())
    if know.heard_now:
        fact = know.heard_now[0]
        reaction = _fresh(pick(lang, "reactions", REACTIONS), fill, said + parts, rng)
        more = {"second": fact.second, "reaction": reaction}
        line = _fresh(pick(lang, "ack_fact", ACK_FACT), {**fill, **more}, said + parts, rng)
        parts.append(line[:1].upper() + line[1:])
    if know.heard_news and not know.heard_now:
        fact = know.heard_news[0]
        more = {"news": fact.third, "subject": fact.subject.split(" ")[0]}
        line = _fresh(pick(lang, "ack_news", ACK_NEWS), {**fill, **more}, said + parts, rng)
        parts.append(line[:1].upper() + line[1:])
    if parts:
        return " ".join(parts)
    if _asks_to_know(heard, lang):
        # Something remembered that this conversation has not already brought up.
        heard_all = " ".join(know.transcript).lower()
        relevant = [
            _sentence(t)
            for t, rel in know.memories
            if rel >= 0.2
            and "“" not in t
            and t not in know.trivial
            and _gist(_sentence(t)) not in heard_all
        ]
        if relevant:
            more = {"memory": relevant[0], "memory_low": _lower(relevant[0])}
            return _fresh(pick(lang, "from_memory", FROM_MEMORY), {**fill, **more}, said, rng)
        return _fresh(pick(lang, "dont_know", DONT_KNOW), fill, said, rng)
    if offline.is_question(heard):  # "Long day?", "isn't it?": small talk, not a quiz
        return _fresh(pick(lang, "tag_answers", TAG_ANSWERS), fill, said, rng)
    return None


def _direct(intent: str | None, heard: str, know: Knowledge, fill: dict, said: list[str], rng):
    """Answers to the questions asked of a resident about itself, others, a given hour and a
    hypothetical (the paper's interview categories), or None when the intent is another."""
    lang = know.language

    fill = {**fill, "asked": know.asked}

    def fresh(key: str, english: list[str], more: dict | None = None) -> str:
        return _fresh(pick(lang, key, english), {**fill, **(more or {})}, said, rng)

    if intent == "intro" and know.intro:
        # What I do in a clause, then what I am like: the occupation question, if it comes,
        # gets the whole first sentence, so the two answers do not repeat each other.
        work = re.split(r", | and ", know.intro[0].rstrip("."))[0]
        intro_two = " ".join([work + ".", *know.intro[1:2]])
        return fresh("introduction", INTRODUCTION, {"intro_two": intro_two})
    if intent == "intro":  # no description in this language: name and what fills my days
        return fresh("introduction_routine", INTRODUCTION_ROUTINE)
    if intent in ("occupation", "who_you"):
        if know.intro:
            work = know.intro[0].rstrip(".")
            return fresh("occupation", OCCUPATION, {"work": work, "work_low": _lower(work)})
        return fresh("occupation_routine", OCCUPATION_ROUTINE)
    if intent == "told_by" and know.asked:
        if know.told_by:
            told = pick(lang, "and", " and ").join(know.told_by[:2])
            return fresh("told_by", TOLD_BY, {"told": told[:1].upper() + told[1:]})
        if not know.interview:  # an interview lists what it remembers instead
            return fresh("told_by_nothing", TOLD_BY_NOTHING)
    if intent == "who_is" and know.asked:
        # A memory of them retrieved for this question comes right after my own words.
        remembered = [
            _sentence(t)
            for t, rel in know.memories
            if rel >= 0.15 and know.asked in t and "“" not in t
        ]
        about_all = list(dict.fromkeys(know.about[:1] + remembered[:1] + know.about[1:]))
        if about_all:
            about = "; ".join(about_all[:2])
            return fresh("who_is", WHO_IS, {"about": about, "about_low": _lower(about)})
        return fresh("who_is_nothing", WHO_IS_NOTHING)
    if intent == "at_hour" and offline.is_question(heard):
        at = _at_hour(heard, know)
        if at:
            return fresh("at_hour", AT_HOUR, at)
    if intent == "spend_time":
        if know.companions:
            name, why = know.companions[0]
            more = {"companion": name, "companion_why": _lower(why)}
            more["companion_why_cap"] = why[:1].upper() + why[1:]
            return fresh("spend_time", SPEND_TIME, more)
        return None
    if intent == "react":
        fire = re.search(r"burn|fire|smok|quem|fuego|humo|incendi", heard, re.I)
        thing = re.search(
            r"\b(?:your|my|the) (\w+) (?:is|are|'s) (?:burning|on fire|smoking)|"
            r"quem\w* (?:el|la|los|las|tu|tus) (\w+)",
            heard,
            re.I,
        )
        word = next((g for g in (thing.groups() if thing else ()) if g), "")
        default = pick(lang, "breakfast", "breakfast")
        more = {"thing": word.lower() or default}
        more["flourish"] = fresh("flourishes", FLOURISHES, {"next_thing": know.activity})
        return fresh("react_fire", REACT_FIRE, more) if fire else fresh("react_other", REACT_OTHER)
    return None


_HOUR_ASKED = re.compile(
    r"\b(?:at|around|by|a las|sobre las|hacia las)\s+(\d{1,2})(?::\d\d)?\s*"
    r"(am|pm|a\.m\.|p\.m\.|de la tarde|de la noche)?",
    re.I,
)


def _at_hour(text: str, know: Knowledge) -> dict | None:
    """The routine (tomorrow) or plan (today) entry for the hour a question names."""
    match = _HOUR_ASKED.search(text)
    if not match:
        return None
    hour = int(match.group(1))
    suffix = (match.group(2) or "").lower()
    if suffix.startswith(("p", "de la")) and hour < 12:
        hour += 12
    elif not suffix and 1 <= hour <= 5:
        hour += 12  # "at 3" means the afternoon
    if hour > 23:
        return None
    low = re.sub(r"de la mañana", "", text.lower())
    tomorrow = bool(re.search(r"\btomorrow\b|\bmañana\b", low))
    days = know.routine if tomorrow or not know.schedule else know.schedule
    ordered = sorted(days, key=lambda e: e["hour"])
    if not ordered:
        return None
    started = [e for e in ordered if e["hour"] <= hour]
    entry = started[-1] if started else ordered[-1]
    lang = know.language
    word = pick(lang, "tomorrow", "tomorrow") if tomorrow else pick(lang, "today", "today")
    activity = entry.get("activity") or ""
    return {
        "at": f"{hour:02d}",
        "when_word": word,
        "When_word": word[:1].upper() + word[1:],
        "at_activity": activity,
        "at_activity_cap": activity[:1].upper() + activity[1:],
        "at_place": _where(entry.get("area"), lang),
    }


def _where(area: str | None, lang: str) -> str:
    """Where an entry happens: "at home", "at the cafe", "en el café"."""
    if (area or "").startswith("home_"):
        return pick(lang, "at_home", "at home")
    return pick(lang, "at_place", "at the {place}").format(place=place_words(area, lang))


_KNOW_EN = re.compile(
    r"\b(?:what|who|whom|where|when|why|how|which|do you know|did you hear|have you heard|"
    r"is it true|any news|anything about)\b",
    re.I,
)
_KNOW_ES = re.compile(
    r"(?:qu[ée]|qui[ée]n|d[óo]nde|cu[áa]ndo|por qu[ée]|c[óo]mo|cu[áa]l|sabes|te has enterado|"
    r"alguna novedad|es verdad)",
    re.I,
)
_TAG = re.compile(r"(?:isn't it|aren't you|right|long day|sleep well|verdad|no crees)\?\s*$", re.I)


def _asks_to_know(text: str, lang: str) -> bool:
    """A question that asks for something known, not a greeting's "Long day?"."""
    questions = [q for q in re.split(r"(?<=[.!?])\s+", text) if q.strip().endswith("?")]
    if not questions and offline.is_question(text):
        questions = [text]
    pattern = _KNOW_ES if lang == "es" else _KNOW_EN
    return any(pattern.search(q) and not _TAG.search(q) for q in questions)


def _gist(sentence: str) -> str:
    """The part of a remembered line that a conversation would already contain."""
    core = re.sub(r"^\S+ (?:told me|me contó que) ", "", sentence).lower().rstrip(". ")
    # The tail: "keeps bees up on the hill" and "they keep bees up on the hill" share it.
    return " ".join(core.split()[-4:])


def _news(news: str, lang: str, said: list[str], rng) -> str:
    core = _core(news)
    fill = {"news": core, "news_low": _lower(core)}
    return _fresh(pick(lang, "news_lines", NEWS), fill, said, rng)


def _small_talk(lang: str, fill: dict, said: list[str], rng) -> str:
    options = pick(lang, "small_talk_own", SMALL_TALK)
    if not fill.get("intro"):
        options = [o for o in options if o != "{intro}"]
    return _fresh(options, fill, said, rng)


def _fill(resident: dict, ctx: dict, know: Knowledge, other: str) -> dict:
    traits = [t.strip() for t in (resident.get("traits") or "").split(",") if t.strip()]
    seed = f"{ctx['conversation']}:{ctx.get('message_count', 0)}"
    intro_pick = random.Random(seed).choice(know.intro) if know.intro else ""
    entry = know.next_entry or {}
    fill = {
        "me": resident["name"].split(" ")[0],
        "intro": intro_pick,
        "intros": know.intro,
        "trait": random.Random(seed).choice(traits) if traits else "curious",
        "day": ctx["clock"].get("day", 1),
        "hour": f"{entry.get('hour', 0):02d}",
        "next": entry.get("activity", ""),
        "next_place": place_words(entry.get("area"), know.language),
    }
    if know.activity:
        fill["activity"] = know.activity
    work = work_entry(know.routine)
    if work:
        fill["work_activity"] = work.get("activity", "")
        fill["work_place"] = _where(work.get("area"), know.language)
    fill["name"] = know.name or resident["name"]
    return fill


def work_entry(routine: list[dict]) -> dict | None:
    """The routine entry that fills most of the working day (8-18): what the resident does."""
    ordered = sorted(routine, key=lambda e: e["hour"])
    best, most = None, 0
    for i, entry in enumerate(ordered):
        end = ordered[i + 1]["hour"] if i + 1 < len(ordered) else 24
        hours = max(0, min(end, 18) - max(entry["hour"], 8))
        if hours > most and not (entry.get("area") or "").startswith("home_"):
            best, most = entry, hours
    return best


def _fresh(options, fill: dict, said: list[str], rng) -> str:
    """The option sharing the fewest word pairs with what was already said (ties: random)."""
    seen = set()
    for line in said:
        seen |= bigrams(line)
    intros = fill.get("intros") or [fill.get("intro", "")]
    rendered = [
        _format(o, {**fill, "intro": intro})
        for o in options
        for intro in (intros if "{intro}" in o else intros[:1])
    ]
    rng.shuffle(rendered)
    return min(rendered, key=lambda r: len(bigrams(r) & seen) / max(1, len(bigrams(r))))


def _format(template: str, fill: dict) -> str:
    try:
        return template.format(**fill)
    except (KeyError, IndexError):
        return template.format_map(_Blank(fill))


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def bigrams(text: str) -> set[tuple[str, str]]:
    """The text's word pairs (lowercase, punctuation dropped)."""
    words = re.findall(r"[\wáéíóúñü']+", text.lower())
    return set(itertools.pairwise(words))


def _core(news: str) -> str:
    return news.rstrip(". ")


def _lower(text: str) -> str:
    # Keep names and "I" capitalised: only lower a first word that is not a name.
    first = text.split(" ", 1)[0]
    if first in ("I", "I'm", "I've") or (
        first[:1].isupper() and first[1:].islower() and len(first) > 1 and _is_name(first)
    ):
        return text
    return text[:1].lower() + text[1:]


def _is_name(word: str) -> bool:
    return word not in {"The", "A", "An", "My", "From", "El", "La", "Mi", "De", "He", "Hmm"}


def _sentence(text: str) -> str:
    """A memory as something to say: its header dropped, one sentence, no quotes."""
    text = re.sub(r"^(?:Talked with|Hablé con) [^()]*\([^)]*\)\.\s*", "", text)
    text = re.sub(r"[\"“”«»„]", "", text).strip()
    first = re.split(r"(?<=[.!?])\s+", text)[0].rstrip(".")
    heard = re.match(r"^(?P<fact>.+) \((?:heard from|me lo contó) (?P<teller>[^)]+)\)$", first)
    if heard:  # a fact passed on to me: say who told me, not the bookkeeping
        teller = heard.group("teller").split(" ")[0]
        spanish = "me lo contó" in first
        line = "{teller} me contó que {fact}" if spanish else "{teller} told me {fact}"
        first = line.format(teller=teller, fact=heard.group("fact"))
    return first[:200]


# -- own description --------------------------------------------------------------------------


def first_person(identity: str, name: str) -> list[str]:
    """A third-person description as things the resident would say of itself."""
    first = name.split(" ")[0]
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", identity.strip()) if s.strip()]
    # Only the resident's own pronoun becomes "I": "he" in Edith's description is Gus.
    own = next((m.group(1) for s in sentences if (m := re.match(r"^(She|He)\b", s))), "She")
    subject, possessive = own.lower(), "her" if own == "She" else "his"
    obj = "her" if own == "She" else "him"
    out = []
    for s in sentences:
        s = re.sub(rf"^(?:{re.escape(name)}|{re.escape(first)}|{own})\b", "I", s)
        s = re.sub(rf"\b(?:{re.escape(first)}'s)\b", "my", s)
        # Named again inside ("Gus is his best student, and Dev suspects he skips class"):
        # that name is me, and the "he" after it is someone else.
        named = rf"\b{re.escape(first)}\b"
        s = re.sub(named if re.search(named, s) else rf"\b{subject}\b", "I", s)
        s = re.sub(rf"^{possessive.capitalize()}\b", "My", s)
        s = re.sub(rf"\b{obj}\b(?=\s+(?:to|and|or)\b|[.,;]|$)", "me", s)
        s = re.sub(rf"\b{possessive}\b", "my", s)
        s = re.sub(rf"\b{obj}self\b", "myself", s)
        s = re.sub(r"\bI ((?:always |still |secretly |also |never |most )?)(\w+)\b", _i_verb, s)
        s = re.sub(
            r"\b(and|but) (is|has|\w+[^s]s)\b(?= (?:[A-Z]|the |a |an |my |every|most |more |almost |to |with |from |at |in |on |drawing |honey |it ))",
            _and_verb,
            s,
        )
        if s.startswith("I "):  # "and has known", "but has not told": still me
            s = re.sub(
                r"\b(and|but) (is|has)\b", lambda m: f"{m.group(1)} {_BE_HAVE[m.group(2)]}", s
            )
        out.append(s)
    return out


_BE_HAVE = {"is": "am", "has": "have"}


def _i_verb(match: re.Match) -> str:
    verb = match.group(2)
    table = {"is": "am", "has": "have", "does": "do", "was": "was"}
    if verb in table:
        return f"I {match.group(1)}{table[verb]}"
    if verb.endswith("s") and not verb.endswith("ss") and verb not in ("always",):
        return f"I {match.group(1)}{facts.plain_form(verb)}"
    return match.group(0)


def _and_verb(match: re.Match) -> str:
    verb = match.group(2)
    plain = {"is": "am", "has": "have"}.get(verb) or facts.plain_form(verb)
    return f"{match.group(1)} {plain}"
