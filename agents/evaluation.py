"""The believability battery (`town evaluate`): plant facts, interview, score, print a table.

Scripted visitors tell each resident something about themselves in a real conversation (the
minds' own reply and end-of-conversation paths), then every resident is interviewed in the
categories of Park et al. 2023, section 6.1: self-knowledge, memory, plans, reactions and
reflections. Offline, answers are scored for recall (the planted fact's key words in the
answer to the memory question), acknowledgement (the answer takes up what was asked) and
variety (distinct word pairs over a resident's answers). With a model, each prompt is also
scored for context recall (did it carry what the answer needs), and a judge model
(`LLM_JUDGE_MODEL`) may rate each answer 1-7. Everything runs on a fork (or a fresh world)
that is deleted afterwards, so a live world is never touched and no engine is needed.
The battery's data (visitors, questions, scoring words) lives here and nowhere else.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from pydantic import BaseModel, Field

from agents import budget, prompts
from agents.llm import ModelClient, ModelUnavailable
from agents.mind import Mind
from agents.models import MindState, ModelCall
from agents.planning import ensure_plan, entry_at
from agents.residents import load_town
from town import persistence, services, transfer
from town.language import world_language
from town.models import Player, World

CATEGORIES = ("self-knowledge", "memory", "plans", "reactions", "reflections")

# -- the battery's data -----------------------------------------------------------------------

# Scripted visitors: who they are, what they say, and the key words of the fact they plant.
VISITORS = {
    "en": [
        {
            "name": "Mara",
            "lines": ["Hi, I'm Mara.", "I keep bees up on the hill.", "Bye, see you soon!"],
            "keys": ["bees", "hill"],
        },
        {
            "name": "Tomas",
            "lines": [
                "Hello, I'm Tomas.",
                "I'm opening a bookshop by the river next month.",
                "Goodbye for now!",
            ],
            "keys": ["bookshop", "river"],
        },
        {
            "name": "Lena",
            "lines": [
                "Hi there, I'm Lena.",
                "I play the cello in an orchestra in the city.",
                "See you around, bye!",
            ],
            "keys": ["cello", "orchestra"],
        },
    ],
    "es": [
        {
            "name": "Mara",
            "lines": ["Hola, soy Mara.", "Tengo abejas en la colina.", "¡Adiós, hasta pronto!"],
            "keys": ["abejas", "colina"],
        },
        {
            "name": "Tomás",
            "lines": [
                "Hola, soy Tomás.",
                "Voy a abrir una librería junto al río.",
                "¡Adiós, hasta luego!",
            ],
            "keys": ["librería", "río"],
        },
        {
            "name": "Lena",
            "lines": [
                "Buenas, soy Lena.",
                "Toco el violonchelo en una orquesta de la ciudad.",
                "¡Adiós, nos vemos!",
            ],
            "keys": ["violonchelo", "orquesta"],
        },
    ],
}

# The visitor who puts the questions in conversation (the other way of asking).
INTERVIEWER = {"en": "Sam", "es": "Sam"}
WAYS = ("interview", "conversation")  # `town interview`, and a visitor asking in a chat

# The interview, per category (Park et al. 2023, 6.1). {other}: another resident; {visitor}:
# the visitor who planted this resident's fact.
QUESTIONS = {
    "en": {
        "intro": "Give an introduction of yourself.",
        "occupation": "What is your occupation?",
        "who": "Who is {other}?",
        "told": "What did {visitor} tell you?",
        "plans": "What will you be doing at 10 am tomorrow?",
        "reaction": "Your breakfast is burning! What would you do?",
        "reflection": (
            "If you could spend time with one person you met recently, who would it be and why?"
        ),
    },
    "es": {
        "intro": "Preséntate, por favor.",
        "occupation": "¿A qué te dedicas?",
        "who": "¿Quién es {other}?",
        "told": "¿Qué te contó {visitor}?",
        "plans": "¿Qué harás mañana a las 10 de la mañana?",
        "reaction": "¡Se te está quemando el desayuno! ¿Qué harías?",
        "reflection": (
            "Si pudieras pasar tiempo con una persona que conociste hace poco, "
            "¿quién sería y por qué?"
        ),
    },
}
# Words (prefixes) an answer to the burning breakfast would take up.
BURNING = {
    "en": ["breakfast", "burn", "fire", "smoke", "stove", "pan", "kitchen", "toast", "oven"],
    "es": ["desayuno", "quem", "fuego", "humo", "sartén", "cocina", "fogón", "horno"],
}
# Words that say nothing about what a resident does (for the occupation's key words).
_FILLER = {
    "about", "after", "also", "always", "been", "by", "every", "everything", "from", "have",
    "herself", "himself", "into", "just", "little", "more", "most", "much", "only", "over",
    "same", "since", "some", "than", "that", "their", "them", "then", "they", "this", "very",
    "what", "when", "where", "which", "while", "with", "would", "years", "corner", "each",
    "other",
}  # fmt: skip
PLAN_HOUR = 10  # "at 10 am tomorrow"


@dataclass
class Question:
    """One interview question and how its answer is scored."""

    category: str
    text: str
    subjects: list[str]  # an answer naming any of these takes the question up
    keys: list[str] = field(default_factory=list)  # the planted fact's key words (recall)
    needs: list[str] | None = None  # what the prompt must carry (None: nothing beyond itself)
    needs_all: bool = False  # the prompt needs every one of `needs` (a fact), not any


def occupation_words(resident: dict) -> list[str]:
    """Key words of what a resident does: the content words of its description's first
    sentence (descriptions open with the resident's work)."""
    first = re.split(r"(?<=[.!?])\s+", (resident.get("identity") or "").strip())[0]
    names = {n.lower() for n in resident["name"].split()}
    words = re.findall(r"[A-Za-zÀ-ÿ']{4,}", first)
    return list(dict.fromkeys(w.lower() for w in words if w.lower() not in _FILLER | names))


def activity_words(resident: dict, hour: int) -> list[str]:
    """Key words of what a resident's routine has it doing at `hour`."""
    entry = entry_at(resident.get("routine") or [], hour)
    words = re.findall(r"[A-Za-zÀ-ÿ']{4,}", entry.get("activity") or "")
    return [w.lower() for w in words if w.lower() not in _FILLER]


def questions_for(
    resident: dict, other: dict, visitor: dict, everyone: list[str], language: str
) -> list[Question]:
    """The battery's questions for one resident, with the scoring rules of each."""
    q = QUESTIONS.get(language, QUESTIONS["en"])
    me = resident["name"].split(" ")[0]
    other_first = other["name"].split(" ")[0]
    work = occupation_words(resident)
    at_ten = activity_words(resident, PLAN_HOUR)
    met = [n for n in everyone if n != me]
    return [
        Question("self-knowledge", q["intro"], [me], needs=work),
        Question("self-knowledge", q["occupation"], work, needs=work),
        Question(
            "memory", q["who"].format(other=other["name"]), [other_first], needs=[other_first]
        ),
        Question(
            "memory",
            q["told"].format(visitor=visitor["name"]),
            [visitor["name"]],
            keys=visitor["keys"],
            needs=visitor["keys"],
            needs_all=True,
        ),
        Question("plans", q["plans"], ["10", *at_ten], needs=at_ten),
        Question("reactions", q["reaction"], BURNING.get(language, BURNING["en"])),
        Question("reflections", q["reflection"], met, needs=met),
    ]


# -- scoring (pure) ---------------------------------------------------------------------------


def mentions(text: str, term: str) -> bool:
    """Whether `text` holds `term` at the start of a word (case-insensitive): "burn" matches
    "burning", "10" matches "10:00"."""
    return bool(re.search(rf"(?<!\w){re.escape(term.lower())}", text.lower()))


def recall(answer: str, keys: list[str]) -> float:
    """The share of the planted fact's key words the answer holds."""
    return sum(mentions(answer, k) for k in keys) / len(keys) if keys else 0.0


def acknowledges(answer: str, subjects: list[str]) -> bool:
    """Whether the answer takes the question up: it names the asked person or subject."""
    return any(mentions(answer, s) for s in subjects if s)


def variety(answers: list[str]) -> float:
    """Distinct word pairs over all word pairs in `answers` (1.0: nothing repeated)."""
    pairs = [p for a in answers for p in itertools.pairwise(re.findall(r"[\w']+", a.lower()))]
    return len(set(pairs)) / len(pairs) if pairs else 0.0


def context_recall(prompt: str, question: Question) -> float | None:
    """Did the prompt carry what the answer needs (beyond the question itself)? None when
    the question needs nothing more."""
    if question.needs is None:
        return None
    if not question.needs:
        return 0.0
    carried = prompt.replace(prompts.escape(question.text), " ")
    if question.needs_all:
        return recall(carried, question.needs)
    return 1.0 if acknowledges(carried, question.needs) else 0.0


# -- running ----------------------------------------------------------------------------------


class Judgement(BaseModel):
    """The judge model's rating of one answer."""

    score: int = Field(ge=1, le=7)
    reason: str = Field(default="", max_length=400)


@dataclass
class Answer:
    """One question put to one resident, the answer and its scores."""

    resident: str
    question: Question
    text: str
    way: str  # "interview" or "conversation"
    acknowledged: bool
    recall: float | None
    context: float | None = None  # None: no model prompt, or nothing to carry
    judge: int | None = None


@dataclass
class Report:
    """What a run of the battery found, and where."""

    world: str
    language: str
    mind: str
    answers: list[Answer] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def table(self) -> str:
        """The scores by category and by resident, for each way of asking, as plain text."""
        head = [
            f"Believability battery: {self.mind} mind, language {self.language}",
            f"World: {self.world}",
            *(f"Note: {n}" for n in self.notes),
        ]
        ways = [w for w in WAYS if any(a.way == w for a in self.answers)]
        return "\n".join(head + [line for w in ways for line in _table(w, self.by_way(w))])

    def by_way(self, way: str) -> list[Answer]:
        """The answers given one way."""
        return [a for a in self.answers if a.way == way]


def evaluate(
    world_id: int | None = None,
    *,
    fresh: bool = False,
    keep: bool = False,
    ways: tuple[str, ...] = WAYS,
    actor=None,
) -> Report:
    """Run the battery on a fork of a world (or on a fresh world) and return the report.

    The fork or fresh world is deleted afterwards unless `keep`; the source is only read.
    """
    source = None if fresh else _source(world_id)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M")
    if source is not None:
        world = transfer.fork_world(source.pk, f"Evaluation {stamp} of #{source.pk}", actor=actor)
        used = f"#{world.pk} {world.name} (a fork of #{source.pk} {source.name})"
    else:
        with transaction.atomic():  # frozen before any engine could see it running
            world = services.create_world(f"Evaluation {stamp}", make_current=False)
            World.objects.filter(pk=world.pk).update(status=World.Status.FROZEN)
        used = f"#{world.pk} {world.name} (a fresh world)"
    services.audit(None, "evaluate", actor, used=world.pk, source=source and source.pk)
    users: list[int] = []
    try:
        report = _run(world, users, ways)
        report.world = used + (", kept" if keep else ", deleted afterwards")
    finally:
        if not keep:
            _delete(world.pk, users)
    return report


def _source(world_id: int | None) -> World | None:
    if world_id is not None:
        return World.objects.get(pk=world_id)
    from town import selectors

    return selectors.world_or_current(None)


def _delete(world_id: int, users: list[int]) -> None:
    with transaction.atomic():
        World.objects.filter(pk=world_id).delete()
        User.objects.filter(pk__in=users).delete()


def _run(world: World, users: list[int], ways: tuple[str, ...]) -> Report:
    language = world_language(world)
    lang = language if language in VISITORS else "en"
    visitors = [dict(v, player=_visitor(world, v["name"], users)) for v in VISITORS[lang]]
    mind = Mind(load_town(world.pk))
    model = mind.use_model()
    report = Report(world="", language=language, mind="model" if model else "offline")
    if lang != language:
        report.notes.append(f"no {language} question set: asked in English")
    residents = sorted(mind.town.residents.values(), key=lambda r: r["name"])
    t = World.objects.values_list("clock_ms", flat=True).get(pk=world.pk)
    day = mind.town.clock(t)["day"]
    for resident in residents:
        ensure_plan(
            mind, resident, MindState.objects.get_or_create(agent_id=resident["pk"])[0], day, t
        )
    minute = int(60_000 / mind.town.time_rate)  # world ms per game minute
    for n, resident in enumerate(residents):
        visitor = visitors[n % len(visitors)]
        _, t = _converse(mind, resident, visitor["player"], visitor["lines"], f"plant{n}", t)
    t += 60 * minute  # an hour later, as an interviewer would come by
    for resident in residents:
        mind.reflect_if_due(resident["id"], t)
    everyone = [r["name"].split(" ")[0] for r in residents] + [v["name"] for v in visitors]
    judge = _judge_client() if model else None
    if model and judge is None and settings.LLM_JUDGE_MODEL:
        report.notes.append("judge skipped: no model configured")
    asker = _visitor(world, INTERVIEWER[lang], users) if "conversation" in ways else None
    if asker is not None:
        mind.town.names[asker.pid] = asker.name
    for n, resident in enumerate(residents):
        other = residents[(n + 1) % len(residents)]
        visitor = visitors[n % len(visitors)]
        battery = questions_for(resident, other, visitor, everyone, lang)
        if "interview" in ways:
            for question in battery:
                answer = _ask(mind, world, resident, question, t, judge)
                report.answers.append(answer)
        if asker is not None:
            # The same questions from a visitor, one conversation: what a player would meet.
            lines = [q.text for q in battery]
            replies, t = _converse(mind, resident, asker, lines, f"ask{n}", t)
            for question, reply in zip(battery, replies, strict=True):
                answer = _scored(resident, question, reply, "conversation")
                if judge is not None:
                    answer.judge = _rate(judge, world, resident, question, reply)
                report.answers.append(answer)
    World.objects.filter(pk=world.pk).update(clock_ms=t)
    return report


def _visitor(world: World, name: str, users: list[int]) -> Player:
    """A scripted visitor: a signed-in person of its own (removed with the world)."""
    slug = re.sub(r"\W", "", name.lower().encode("ascii", "ignore").decode())
    user = User.objects.create_user(f"evaluation-{world.pk}-{slug}", password=None)
    users.append(user.pk)
    return Player.objects.create(
        world=world,
        pid=f"h{user.pk}",
        kind=Player.Kind.HUMAN,
        name=name,
        character="ada",
        user=user,
        present=False,
    )


def _converse(
    mind: Mind, resident: dict, guest: Player, lines: list[str], cid: str, t: int
) -> tuple[list[str], int]:
    """A visitor says `lines` to a resident, whose replies come from its mind; each line is
    recorded before the next reply is asked for, as the engine does, and the conversation's
    end is observed. Returns the resident's answer to each line and the time it ended."""
    me = resident["id"]
    names = {me: resident["name"], guest.pid: guest.name}
    conv = {"id": cid, "participants": [guest.pid, me], "status": "active"}
    t += 1000
    persistence.record(
        mind.town.world_id,
        [],
        [
            {"kind": "conversation_invited", "t": t, "conversation": conv},
            {"kind": "conversation_started", "t": t, "conversation": conv},
        ],
        0,
    )
    messages: list[dict] = []
    replies = []
    state = MindState.objects.get(agent_id=resident["pk"])
    for n, line in enumerate(lines):
        t += 1000
        _say(mind, cid, guest.pid, names, line, t, f"{cid}v{n}", messages, guest.user_id)
        clock = mind.town.clock(t)
        plan = entry_at(state.schedule, clock["hour"])
        request = {
            "id": f"{cid}r{n}",
            "agent": me,
            "kind": "reply",
            "t": t,
            "conversation": cid,
            "context": {
                "clock": clock,
                "name": resident["name"],
                "x": 0,
                "y": 0,
                "activity": plan.get("activity", ""),
                "area": plan.get("area"),
                "conversation": cid,
                "others": [{"id": guest.pid, "name": guest.name, "kind": "human"}],
                "messages": list(messages),
                "message_count": len(messages),
            },
        }
        said = [i["text"] for i in mind.decide(request) if i["type"] == "say"]
        t += 1000
        for i, text in enumerate(said):
            _say(mind, cid, me, names, text, t, f"{cid}r{n}.{i}", messages, None)
        replies.append(" ".join(said))  # a resident that left answers nothing
    t += 1000
    ended = {"kind": "conversation_ended", "t": t, "conversation": cid, "reason": "left"}
    persistence.record(mind.town.world_id, [], [ended], 0)
    mind.observe([ended])
    return replies, t


def _say(mind, cid, author, names, text, t, mid, messages, user_id) -> None:
    event = {
        "kind": "message",
        "t": t,
        "conversation": cid,
        "author": author,
        "author_name": names[author],
        "text": text,
        "id": mid,
    }
    accepted = [{"input": {"type": "say", "actor": author}, "t": t, "user_id": user_id}]
    persistence.record(mind.town.world_id, accepted, [event], 0)
    messages.append({"author": author, "name": names[author], "text": text})


def _ask(mind: Mind, world: World, resident: dict, question: Question, t: int, judge) -> Answer:
    """Interview one resident the way `town interview` does, and score the answer."""
    prompt = None
    calls = ModelCall.objects.filter(world_id=world.pk, purpose="interview", ok=True)
    before = calls.count()
    if mind.use_model():
        # The prompt the interview sends: the same retrieval (it changes nothing) and builder.
        recalled = mind.recall(resident, question.text, t, touch=False)
        messages = prompts.interview(resident, question.text, [r.memory for r in recalled])
        prompt = "\n".join(str(m["content"]) for m in messages)
    text = mind.interview(resident["id"], question.text, t)
    answered_by_model = calls.count() > before
    answer = _scored(resident, question, text, "interview")
    if prompt is not None and answered_by_model:
        answer.context = context_recall(prompt, question)
    if judge is not None:
        answer.judge = _rate(judge, world, resident, question, text)
    return answer


def _scored(resident: dict, question: Question, text: str, way: str) -> Answer:
    return Answer(
        resident=resident["name"],
        question=question,
        text=text,
        way=way,
        acknowledged=acknowledges(text, question.subjects),
        recall=recall(text, question.keys) if question.keys else None,
    )


def _judge_client() -> ModelClient | None:
    """The one client wrapper, aimed at the judge model (None without LLM_JUDGE_MODEL)."""
    if not settings.LLM_JUDGE_MODEL or not budget.configured():
        return None
    client = ModelClient()
    client.model = settings.LLM_JUDGE_MODEL
    return client


def _rate(judge: ModelClient, world: World, resident: dict, question: Question, text: str):
    messages = [
        {
            "role": "system",
            "content": "You judge how believable a small-town resident's interview answer is, "
            "as in the evaluation of generative agents: 1 = not at all believable as this "
            "person, 7 = completely. Answer with JSON: "
            '{"score": <1-7>, "reason": "<one sentence>"}.\n' + prompts.RULES,
        },
        {
            "role": "user",
            "content": f"The resident: {prompts.escape(prompts.persona(resident))}\n"
            f"The question: {prompts.escape(question.text)}\n"
            f"The answer: {prompts.untrusted(text, 'resident')}",
        },
    ]
    try:
        rated = judge.structured(
            "judge", messages, Judgement, world_id=world.pk, agent=resident["id"], max_tokens=120
        )
    except ModelUnavailable:
        return None
    return rated.score


# -- the table --------------------------------------------------------------------------------


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def _cell(value: float | None, width: int = 8) -> str:
    return f"{'-' if value is None else f'{value:.2f}':>{width}}"


def _table(way: str, answers: list[Answer]) -> list[str]:
    asked = {"interview": "asked in an interview", "conversation": "asked by a visitor"}[way]
    out = [
        "",
        f"== {way} ({asked})",
        f"{'category':<16}{'asked':>6}{'acknowl.':>10}{'recall':>8}{'context':>9}{'judge':>7}",
    ]
    groups = [(c, [a for a in answers if a.question.category == c]) for c in CATEGORIES]
    for name, group in [*groups, ("overall", answers)]:
        out.append(
            f"{name:<16}{len(group):>6}"
            + _cell(_mean(float(a.acknowledged) for a in group), 10)
            + _cell(_mean(a.recall for a in group))
            + _cell(_mean(a.context for a in group), 9)
            + _cell(_mean(a.judge for a in group), 7)
        )
    out += ["", "Acknowledgement by category, recall and variety by resident:"]
    short = {"self-knowledge": "self", "reflections": "reflect.", "reactions": "react."}
    heads = "".join(f"{short.get(c, c):>9}" for c in CATEGORIES)
    out.append(f"{'resident':<18}{heads}{'recall':>8}{'variety':>9}")
    by_resident: dict[str, list[Answer]] = {}
    for a in answers:
        by_resident.setdefault(a.resident, []).append(a)
    varieties = []
    for name, mine in by_resident.items():
        cells = "".join(
            _cell(_mean(float(a.acknowledged) for a in mine if a.question.category == c), 9)
            for c in CATEGORIES
        )
        spread = variety([a.text for a in mine])
        varieties.append(spread)
        out.append(
            f"{name[:17]:<18}{cells}{_cell(_mean(a.recall for a in mine))}{_cell(spread, 9)}"
        )
    cells = "".join(
        _cell(_mean(float(a.acknowledged) for a in answers if a.question.category == c), 9)
        for c in CATEGORIES
    )
    overall = _mean(a.recall for a in answers)
    out.append(f"{'overall':<18}{cells}{_cell(overall)}{_cell(_mean(varieties), 9)}")
    return out


def transcript(report: Report) -> str:
    """Every question and answer, for reading what the scores stand for."""
    return "\n".join(
        f"[{a.way}: {a.resident} / {a.question.category}] {a.question.text}\n  {a.text}"
        for a in report.answers
    )
