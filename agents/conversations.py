"""When a conversation ends, every resident in it remembers it: one summary, one memory each.

The summary is written by the model (one call per conversation, which also rates importance
and spots meetings agreed for today) or offline from what the others said. A human's words
keep their author, so `forget_user` can remove them.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from agents import offline, prompts
from agents.llm import ModelUnavailable, get_client
from agents.models import Memory
from agents.planning import add_meetings
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
    shared = _model_summary(mind, names, lines, humans, when, residents[0]["id"])
    if shared is not None:
        conv.summary = shared.summary
        conv.save(update_fields=["summary"])
    areas = sorted(town.town_map.areas)
    offline_plans = offline.plans_from(lines, areas, names, language)
    for resident in residents:
        me = resident["id"]
        others = [names[p] for p in participants if p != me]
        if shared is not None:
            text = f"{offline.talked_with(others, when, language)} {shared.summary}"
            importance = shared.importance
            plans = [p.model_dump() for p in shared.plans if p.area in town.town_map.areas]
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
        )
        add_meetings(
            resident, day, [{k: p[k] for k in ("hour", "area", "activity")} for p in plans]
        )
    return len(residents)


def _model_summary(mind: Mind, names, lines, humans, when, agent) -> prompts.Summary | None:
    if not mind.use_model():
        return None
    transcript = [(name or names.get(a, a), text, a in humans) for a, name, text in lines]
    try:
        return get_client().structured(
            "summary",
            prompts.summary(names, transcript, when, world_language(mind.town.world_id)),
            prompts.Summary,
            world_id=mind.town.world_id,
            agent=agent,
            max_tokens=200,
        )
    except ModelUnavailable as exc:
        log.info("summary falls back to the offline mind: %s", exc)
        return None


def _name_in(lines, pid: str) -> str:
    return next((name for a, name, _ in lines if a == pid and name), pid)
