"""When a conversation ends, every resident in it remembers it: one summary, one memory each.

The summary is written by the model (one call per conversation, which also rates importance,
spots meetings agreed for today and says what each resident now thinks of the others; none
when the conversation said the script that came with its summary, agents/scripts.py) or
offline from what the others said, as the conversation's mind mode says. The shared summary
is embedded once for every participant. A meeting is slotted in only for the residents it names,
at a place the map has. A human's words keep their author, so `forget_user` can remove them.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from agents import budget, offline, prompts, relationships, scripts
from agents.llm import ModelUnavailable, get_client
from agents.memory import embed_one
from agents.models import Memory
from agents.planning import add_meetings, known_area
from town.language import world_language
from town.models import Conversation, Player

if TYPE_CHECKING:
    from agents.mind import Mind

log = logging.getLogger(__name__)
MAX_TRANSCRIPT = 30  # lines given to the summariser


def conversation_ended(mind: Mind, cid: str, t: int) -> int:
    """Write a summary memory for every resident who took part; return how many."""
    town = mind.town
    conv = Conversation.objects.filter(world_id=town.world_id, cid=cid).first()
    if conv is None:
        return 0
    talk = scripts.ended(town.world_id, cid)
    lines = list(conv.messages.order_by("id").values_list("author", "author_name", "text"))
    if not lines:
        return 0  # declined or never spoke: nothing to remember
    lines = lines[-MAX_TRANSCRIPT:]
    participants = list(dict.fromkeys([*conv.participants, *(a for a, _, _ in lines)]))
    names = {pid: town.names.get(pid) or _name_in(lines, pid) for pid in participants}
    players = {
        p.pid: p for p in Player.objects.filter(world_id=town.world_id, pid__in=participants)
    }
    humans = [pid for pid in participants if pid not in town.residents]
    author = players.get(humans[0]) if humans else None
    residents = [town.residents[pid] for pid in participants if pid in town.residents]
    if not residents:
        return 0
    language = world_language(town.world_id)  # read now: a change applies to the next summary
    when = offline.when(town.clock(conv.started_t if conv.started_t is not None else t), language)
    day = town.clock(t)["day"]
    resident_names = [names[r["id"]] for r in residents]
    if scripts.ran_as_written(talk, [a for a, _, _ in lines]):
        shared = prompts.Summary.model_validate(talk.summary)
    elif talk is not None and talk.mode == "offline":
        shared = None  # an offline conversation stays offline to its end
    else:
        shared = _model_summary(
            mind, names, lines, humans, when, residents[0]["id"], resident_names, talk is not None
        )
    vector = None
    if shared is not None:
        conv.summary = shared.summary
        conv.save(update_fields=["summary"])
        # One vector for every participant: the summary framed with everyone in it and when
        # (names and time matter to retrieval: "what did Ana tell you?").
        everyone = [names[p] for p in participants]
        framed = f"{offline.talked_with(everyone, when, language)} {shared.summary}"
        vector = embed_one(framed, mind.embedder(residents[0]["id"]))
    areas = sorted(town.town_map.areas)
    offline_plans = offline.plans_from(lines, areas, names, language)
    for resident in residents:
        me = resident["id"]
        others = [names[p] for p in participants if p != me]
        if shared is not None:
            text = f"{offline.talked_with(others, when, language)} {shared.summary}"
            importance = shared.importance
            plans = meetings_for(names[me], shared.plans, town.town_map.areas)
        else:
            text = offline.summary(me, names, lines, when, language)
            importance = offline.importance(text, human=bool(humans), base=3)
            plans = [p for p in offline_plans if names.get(me, "") not in p["activity"]]
        mind.remember(
            resident,
            Memory.Kind.CONVERSATION,
            text,
            importance,
            t,
            conversation_id=conv.pk,
            author_user_id=author.user_id if author else None,
            author_name=author.name if author else "",
            source="conversation",
            vector=vector if shared is not None else None,
        )
        add_meetings(
            resident, day, [{k: p[k] for k in ("hour", "area", "activity")} for p in plans]
        )
        _renew_relationships(
            resident, participants, players, names, lines, shared, text, when, t, conv, author
        )
    return len(residents)


def meetings_for(name: str, plans: list[prompts.PlanChange], areas) -> list[dict]:
    """The agreed meetings that name this resident, at places the map has (others dropped)."""
    out = []
    for plan in plans:
        if not any(relationships.named(name, who) for who in plan.who):
            continue
        area = known_area(plan.area, areas)
        if area is None:
            log.info("a meeting at %r is not on the map; %s keeps the plan", plan.area, name)
            continue
        out.append({"hour": plan.hour, "area": area, "activity": plan.activity[:120]})
    return out


def _renew_relationships(
    resident, participants, players, names, lines, shared, text, when, t, conv, author
) -> None:
    """What this resident now thinks of each other participant (model view or template)."""
    me, language = resident["id"], offline.language_of(resident)
    known = relationships.known(resident["pk"], [p for p in participants if p != me])
    last = prompts.TALKED_WITH.sub("", text) if shared is None else shared.summary
    for pid in participants:
        other = players.get(pid)
        if pid == me or other is None:
            continue
        view = None
        if shared is not None:
            view = next(
                (
                    v.view
                    for v in shared.views
                    if relationships.named(names[me], v.who)
                    and relationships.named(names[pid], v.of)
                ),
                None,
            )
        if view is None and shared is not None and pid in known:
            view = known[pid].opinion  # the model said nothing new of them: keep the last view
        if view is None:
            talks = (known[pid].talks if pid in known else 0) + 1
            theirs = [said for a, _, said in lines if a == pid]
            view = relationships.offline_opinion(
                talks, when, theirs, list(names.values()), language
            )
        relationships.record(
            agent_pk=resident["pk"],
            other=other,
            opinion=view,
            last_summary=last,
            t=t,
            conversation_id=conv.pk,
            author_user_id=author.user_id if author else None,
        )


def _model_summary(
    mind: Mind, names, lines, humans, when, agent, residents: list[str], begun: bool = False
) -> prompts.Summary | None:
    """The model's summary; `begun`: the conversation ran with the model (its mode is kept,
    so a budget spent meanwhile does not refuse the summary)."""
    if not (budget.configured() if begun else mind.use_model()):
        return None
    transcript = [(name or names.get(a, a), text, a in humans) for a, name, text in lines]
    areas = sorted(mind.town.town_map.areas)
    language = world_language(mind.town.world_id)
    try:
        return get_client().structured(
            "summary",
            prompts.summary(names, transcript, when, language, residents=residents, areas=areas),
            prompts.with_areas(prompts.Summary, areas),
            world_id=mind.town.world_id,
            agent=agent,
            max_tokens=400,
            over_budget=begun,
        )
    except ModelUnavailable as exc:
        log.info("summary falls back to the offline mind: %s", exc)
        return None


def _name_in(lines, pid: str) -> str:
    return next((name for a, name, _ in lines if a == pid and name), pid)
