"""A world's residents' minds: the engine's requests in, inputs out, memories along the way.

`Mind.decide` answers `next` / `invite` / `reply` requests. `next` comes from today's
schedule (the model plans once per game day); people nearby are noted as observations, and a
resident with news walks up to whoever has not heard it. Replies are grounded in retrieved
memories; the model writes them when it may (key, budget, provider up), templates otherwise.
Every method is synchronous and runs in a worker thread, never on the engine's loop.
"""

from __future__ import annotations

import logging
import random

from django.conf import settings
from django.db.models import F

from agents import budget, dialogue, offline, prompts, relationships, scripts, topics
from agents.checks import fitting_embedder
from agents.conversations import conversation_ended
from agents.embedding import Embedder, ModelEmbedder
from agents.llm import ModelUnavailable, get_client
from agents.memory import SIGHTING_IMPORTANCE, Recalled, remember, retrieve
from agents.models import Memory, MindState
from agents.planning import ensure_plan, entry_at
from agents.reflection import reflect
from agents.residents import Town
from agents.routine import _errand
from town.protocol import MAX_TEXT

log = logging.getLogger(__name__)

INVITE_HUMAN_CHANCE = 0.35
INVITE_RESIDENT_CHANCE = 0.12
INVITE_FRIEND_CHANCE = 0.2  # someone we know and have not just talked with
RECENTLY_TALKED_GAME_HOURS = 2  # a pair that just talked is less likely to start again
WANDER_CHANCE = 0.4
JOIN_CHANCE = 0.2  # a conversation under way within a few tiles
DECLINE_WHEN_BUSY = 0.25
SEEN_EVERY_GAME_HOURS = 1  # note the same person at most once per game hour
_TALKED = prompts.TALKED_WITH  # offline.talked_with's framing
END_OF_DAY_HOUR = 22  # from this game hour a resident looks back on its day
# Night (game hours): a resident goes home and sleeps, and starts no conversation (a person
# who invites it is still answered). The routines run from 05:00 to 21:00.
SLEEP_FROM, WAKE_AT = 23, 5
SLEEPING = {"en": "sleeping", "es": "durmiendo"}
END_OF_DAY_MIN_IMPORTANCE = 12  # less new than this since the last reflection: nothing to add


def asleep(hour: int) -> bool:
    """Whether residents sleep at this game hour (from SLEEP_FROM to WAKE_AT)."""
    return hour >= SLEEP_FROM or hour < WAKE_AT


class Mind:
    """Thinks for every resident of one world."""

    def __init__(self, town: Town) -> None:
        self.town = town

    # -- plumbing --------------------------------------------------------------------------

    def use_model(self) -> bool:
        return budget.model_allowed(self.town.world_id)

    def use_model_unasked(self) -> bool:
        """The model for what no person waits on (day plans, reflections): only within the
        residents' allowance (`budget.residents_allowance`); the rest is kept for people."""
        return self.use_model() and not budget.for_people_only(self.town.world_id)

    def embedder(self, agent: str = "") -> Embedder:
        if self.use_model():
            chosen = ModelEmbedder(get_client(), self.town.world_id, agent)
        else:
            chosen = Embedder()
        # While the stored vectors have another size (a reembed is due), a hashing embedder
        # at the column's size keeps memories flowing instead of failing every write.
        return fitting_embedder(chosen)

    def state(self, resident: dict) -> MindState:
        return MindState.objects.get_or_create(agent_id=resident["pk"])[0]

    def remember(self, resident: dict, kind: str, text: str, importance: int, t: int, **kw):
        """Store a memory and count it towards the next reflection."""
        memory = remember(
            resident["pk"], kind, text, importance, t, self.embedder(resident["id"]), **kw
        )
        MindState.objects.get_or_create(agent_id=resident["pk"])
        MindState.objects.filter(agent_id=resident["pk"]).update(
            unreflected=F("unreflected") + memory.importance
        )
        return memory

    def recall(self, resident: dict, query: str, t: int, **kw) -> list[Recalled]:
        return retrieve(
            resident["pk"],
            query,
            t,
            self.embedder(resident["id"]),
            time_rate=self.town.time_rate,
            **kw,
        )

    # -- decisions -------------------------------------------------------------------------

    def decide(self, request: dict) -> list[dict]:
        """Inputs answering one decision request (empty if the agent is not ours)."""
        resident = self.town.residents.get(request["agent"])
        if resident is None:
            return []
        handler = {"next": self._next, "invite": self._invite, "reply": self._reply}.get(
            request["kind"]
        )
        if handler is None:
            return []
        rng = random.Random(f"{self.town.seed}:{request['id']}:{request['agent']}")
        inputs = handler(resident, request["context"], request["t"], rng)
        for inp in inputs:
            inp.setdefault("actor", resident["id"])
            inp["decision"] = request["id"]
        return inputs

    def _next(self, resident: dict, ctx: dict, t: int, rng: random.Random) -> list[dict]:
        state = self.state(resident)
        ensure_plan(self, resident, state, ctx["clock"]["day"], t)
        self._notice(resident, state, ctx, t)
        if asleep(ctx["clock"]["hour"]):
            return self._sleep(resident, ctx, rng)
        plan = entry_at(state.schedule, ctx["clock"]["hour"])
        activity = plan.get("activity") or "passing the time"
        areas = self.town.town_map.areas
        area = areas.get(plan.get("area") or "") or areas.get(resident.get("home") or "")
        here = (ctx["x"], ctx["y"])
        if area is not None and not area.contains(*here):
            x, y = area.random_tile(rng)
            errand = _errand(activity, area.name, offline.language_of(resident))
            return [{"type": "move", "x": x, "y": y, "activity": errand}]
        free = [o for o in ctx.get("nearby", []) if not o["in_conversation"] and not o["cooldown"]]
        for other in free:
            if self.news_for(resident, state, other["id"], t) is not None:
                return [{"type": "invite", "to": other["id"]}]
        roll = rng.random()
        # Walking up to a conversation under way: its own roll, so the others keep their odds.
        groups = [o for o in ctx.get("nearby", []) if o.get("joinable")]
        if groups and random.Random(f"join:{t}:{resident['id']}").random() < JOIN_CHANCE:
            return [{"type": "join_conversation", "conversation": groups[0]["conversation"]}]
        humans = [o for o in free if o["kind"] == "human"]
        if humans and roll < INVITE_HUMAN_CHANCE:
            return [{"type": "invite", "to": humans[0]["id"]}]
        if free:
            other, chance = self._whom(resident, free, t)
            if roll < chance:
                return [{"type": "invite", "to": other["id"]}]
        if roll < INVITE_RESIDENT_CHANCE + WANDER_CHANCE and area is not None:
            x, y = area.random_tile(rng)
            if (x, y) != here:
                return [{"type": "move", "x": x, "y": y, "activity": activity}]
        return [{"type": "set_activity", "text": activity, "for_ms": rng.randint(4000, 15000)}]

    def _sleep(self, resident: dict, ctx: dict, rng: random.Random) -> list[dict]:
        """At night: walk home, then sleep (quiet for half a game hour at a time)."""
        language = offline.language_of(resident)
        words = SLEEPING.get(language, SLEEPING["en"])
        home = self.town.town_map.areas.get(resident.get("home") or "")
        if home is not None and not home.contains(ctx["x"], ctx["y"]):
            x, y = home.random_tile(rng)
            return [
                {"type": "move", "x": x, "y": y, "activity": _errand(words, home.name, language)}
            ]
        half_hour = int(1_800_000 / max(self.town.time_rate, 1e-6))
        return [{"type": "set_activity", "text": words, "for_ms": max(1000, half_hour)}]

    def _whom(self, resident: dict, free: list[dict], t: int) -> tuple[dict, float]:
        """Whom to walk up to, and how likely: people we know and did not just talk with first.

        Familiarity weighs the choice (more conversations, more weight) and makes a
        conversation likelier; a pair that talked in the last game hours rarely starts again.
        """
        known = relationships.known(resident["pk"], [o["id"] for o in free])
        recent = RECENTLY_TALKED_GAME_HOURS * 3_600_000 / self.town.time_rate

        def weight(other: dict) -> float:
            row = known.get(other["id"])
            if row is None:
                return 1.0
            fresh = t - row.last_t < recent
            return (1.0 + min(row.talks, 4)) * (0.2 if fresh else 1.0)

        # Its own generator, so the roll that decides whether to talk keeps its odds.
        pick = random.Random(f"whom:{self.town.seed}:{t}:{resident['id']}")
        other = pick.choices(free, weights=[weight(o) for o in free])[0]
        row = known.get(other["id"])
        friendly = row is not None and t - row.last_t >= recent
        return other, INVITE_FRIEND_CHANCE if friendly else INVITE_RESIDENT_CHANCE

    def _notice(self, resident: dict, state: MindState, ctx: dict, t: int) -> None:
        """Observations of the people nearby, at most once per person per game hour."""
        every = SEEN_EVERY_GAME_HOURS * 3_600_000 / self.town.time_rate
        changed = False
        for other in ctx.get("nearby", [])[:3]:
            if t - state.seen.get(other["id"], -every - 1) < every:
                continue
            state.seen[other["id"]] = t
            changed = True
            text = offline.saw(other, ctx.get("area"), offline.language_of(resident))
            self.remember(resident, Memory.Kind.OBSERVATION, text, SIGHTING_IMPORTANCE, t)
        if changed:
            state.save(update_fields=["seen", "updated"])

    def news_for(self, resident: dict, state: MindState, pid: str, t: int) -> Memory | None:
        """What is on the resident's mind to tell `pid` now, if anything (agents/topics.py)."""
        chosen = topics.news_for(self.town, resident, pid, t, state.told)
        return chosen[0] if chosen else None

    def _invite(self, resident: dict, ctx: dict, t: int, rng: random.Random) -> list[dict]:
        state = self.state(resident)
        plan = entry_at(state.schedule, ctx["clock"]["hour"]) if state.schedule else {}
        area = self.town.town_map.areas.get(plan.get("area") or "")
        on_errand = area is not None and not area.contains(ctx["x"], ctx["y"])
        human = ctx.get("inviter", "") not in self.town.residents
        busy = on_errand and not human and rng.random() < DECLINE_WHEN_BUSY
        return [{"type": "decline" if busy else "accept", "conversation": ctx["conversation"]}]

    def _reply(self, resident: dict, ctx: dict, t: int, rng: random.Random) -> list[dict]:
        me, cid = resident["id"], ctx["conversation"]
        ctx = {**ctx, "me": me, "t": t}
        messages = ctx.get("messages") or []
        others = ctx.get("others") or []
        mine = [m for m in messages if m["author"] == me]
        with_human = any(o["kind"] == "human" for o in others)
        limit = settings.MIND_MAX_TURNS * (2 if with_human else 1)
        leave = [{"type": "leave_conversation", "conversation": cid}]
        if len(mine) >= limit:
            return leave
        # The conversation's mind mode is fixed by its first reply and kept until it ends.
        here = [me, *(o["id"] for o in others if o["id"] in self.town.residents)]
        talk = scripts.conversation_mind(self.town.world_id, cid, here, with_human)
        mode = talk.mode if talk is not None else "offline"
        if talk is not None and talk.script and (with_human or len(others) != 1):
            scripts.drop(talk)  # a person (or a third resident) joined: turn by turn from now
        pair = len(others) == 1 and others[0]["id"] in self.town.residents
        if mode == "llm" and pair and not with_human and scripts.enabled():
            scripted = scripts.next_line(self, talk, resident, ctx, t)
            if scripted is not None:
                text, end = scripted
                say = [{"type": "say", "conversation": cid, "text": text[:MAX_TEXT]}]
                return say + leave if end else say
        if any(offline.is_farewell(m["text"]) for m in mine):
            return leave
        heard = [m["text"] for m in messages if m["author"] != me][-2:]
        names = " ".join(o["name"] for o in others)
        query = " ".join(heard) or f"{names} conversation"
        if talk is not None and mode == "offline" and not with_human:
            # Residents among themselves kept offline to save the budget: recall by who they
            # talk with, a query embedded once per pair (cached), not once per line.
            query = f"{names} conversation"
        recalled = self.recall(resident, f"{query} {names}", t)
        state = self.state(resident)
        news = None
        if others:
            memory = self.news_for(resident, state, others[0]["id"], t)
            if memory is not None:
                news = memory
                state.told.setdefault(str(memory.pk), []).append(others[0]["id"])
                state.save(update_fields=["told", "updated"])
        plan = entry_at(state.schedule, ctx["clock"]["hour"]) if state.schedule else None
        text, end = self._line(resident, ctx, recalled, news, plan, mode=mode)
        say = [{"type": "say", "conversation": cid, "text": text[:MAX_TEXT]}]
        return say + leave if end or len(mine) + 1 >= limit else say

    def _line(
        self,
        resident: dict,
        ctx: dict,
        recalled: list[Recalled],
        news: Memory | None,
        plan: dict | None = None,
        mode: str = "llm",
    ) -> tuple[str, bool]:
        if mode == "llm" and budget.configured():
            people = relationships.people(resident["pk"], ctx.get("others") or [], self.town.when)
            try:
                answer = get_client().structured(
                    "reply",
                    prompts.reply(
                        resident,
                        ctx,
                        [r.memory for r in recalled],
                        news,
                        plan=plan,
                        people=people,
                    ),
                    prompts.Reply,
                    world_id=self.town.world_id,
                    agent=resident["id"],
                    max_tokens=120,
                    over_budget=True,  # begun with the model: the conversation keeps it
                )
                return answer.text, answer.end
            except ModelUnavailable as exc:
                log.info("reply for %s falls back to the offline mind: %s", resident["id"], exc)
        told = topics.telling(self.town, news, offline.language_of(resident)) if news else None
        return dialogue.reply(self, resident, ctx, recalled, told)

    # -- after the fact --------------------------------------------------------------------

    def observe(self, events: list[dict]) -> None:
        """Events the engine reported: conversations that ended become memories."""
        for event in events:
            if event["kind"] == "conversation_ended":
                conversation_ended(self, event["conversation"], event["t"])
            elif event["kind"] == "player_joined":
                player = event["player"]
                self.town.names.setdefault(player["id"], player["name"])

    def reflect_if_due(self, pid: str, t: int) -> int:
        """Reflect when the summed importance of new memories passes the threshold, and once
        at the end of each game day that brought something new."""
        resident = self.town.residents.get(pid)
        if resident is None:
            return 0
        state = self.state(resident)
        clock = self.town.clock(t)
        # The day to look back on: today from END_OF_DAY_HOUR, else yesterday (a resident
        # that asked nothing late in the evening still looks back the next morning).
        day = clock["day"] if clock["hour"] >= END_OF_DAY_HOUR else clock["day"] - 1
        if day >= 1 and state.day_reflected < day:
            MindState.objects.filter(pk=state.pk).update(day_reflected=day)
            if state.unreflected >= END_OF_DAY_MIN_IMPORTANCE:
                return reflect(self, resident, t, end_of_day=True)
        if state.unreflected < settings.MIND_REFLECTION_THRESHOLD:
            return 0
        return reflect(self, resident, t)

    def interview(self, pid: str, question: str, t: int) -> str:
        """An operator's question, answered from memory (it leaves no memory behind)."""
        resident = self.town.residents[pid]
        recalled = self.recall(resident, question, t, touch=False)
        if self.use_model():
            try:
                return get_client().text(
                    "interview",
                    prompts.interview(resident, question, [r.memory for r in recalled]),
                    world_id=self.town.world_id,
                    agent=pid,
                    stream=True,
                    cache=False,  # an interview asked again gets a fresh answer
                )
            except ModelUnavailable as exc:
                log.info("interview falls back to the offline mind: %s", exc)
        # The conversing offline mind understands the question; what it cannot answer is
        # answered from the memories retrieved for it.
        clock = self.town.clock(t)
        state = self.state(resident)
        plan = entry_at(state.schedule, clock["hour"]) if state.schedule else {}
        ctx = {
            "clock": clock,
            "t": t,
            "me": pid,
            "interview": True,
            "conversation": f"interview:{pid}:{t}",
            "activity": plan.get("activity", ""),
            "area": plan.get("area"),
            "others": [],
            "messages": [{"author": "", "name": "", "text": question}],
            "message_count": 1,
        }
        text, _end = dialogue.reply(self, resident, ctx, recalled, None)
        memories = [(r.text, r.relevance) for r in recalled]
        return text or offline.interview(resident, question, memories)
