"""How the minds run a conversation: its mind mode, and resident-only talk written in one call.

A conversation's mind mode ("llm" or "offline") is fixed by the first reply asked in it and
kept until it ends (`ConversationMind`, shared by every process): while the day's spend is
past the residents' allowance (`budget.residents_allowance`: MIND_BUDGET_PEOPLE_SHARE of the
budget, paced over the day) residents among themselves start offline, and a
conversation begun with the model keeps it to the end even if the budget runs out meanwhile.

When two residents talk with the model and no person is in the conversation, the first reply
asks the model for the whole exchange at once (lines, summary, plans and views, one call
instead of one per line plus the summary's), stores the script, and each later reply request
reveals the next line: the engine keeps its pacing and typing indicators, so watchers see
what they saw before. A script that does not fit (wrong speakers, too few lines, invalid)
is dropped and the conversation goes on turn by turn; a person joining, a third resident or
lines that no longer follow the script drop the rest of it from that line on.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import timezone

from agents import budget, prompts, relationships
from agents.llm import ModelUnavailable, get_client
from agents.memory import SALIENT_IMPORTANCE
from agents.models import ConversationMind, MindState
from agents.planning import entry_at
from town.language import world_language

if TYPE_CHECKING:
    from agents.mind import Mind

log = logging.getLogger(__name__)
SCRIPT_MEMORIES = 4  # memories per resident in a script's prompt (its plan is shown apart)
# Memories a script draws on: the resident's plan now is a line of its own, so plan memories
# (a whole day's schedule, ~40 tokens each) would only repeat it (issue #17).
SCRIPT_KINDS = ("observation", "conversation", "reflection")
# Nor routine sightings (below SALIENT_IMPORTANCE): the script already says where the two
# meet, and a sighting is nothing two residents would talk about.
FORGOTTEN_AFTER = dt.timedelta(days=1)  # rows of conversations whose end was never seen


def enabled() -> bool:
    """Resident-only conversations are written in one call (MIND_SCRIPTED_CONVERSATIONS)."""
    return bool(getattr(settings, "MIND_SCRIPTED_CONVERSATIONS", True))


def most_lines() -> int:
    """The longest script: each of the two says at most MIND_MAX_TURNS lines."""
    return 2 * max(1, settings.MIND_MAX_TURNS)


def conversation_mind(
    world_id: int, cid: str, pids: list[str], with_people: bool
) -> ConversationMind | None:
    """The conversation's row, created with its mode fixed on the first reply (None when no
    model is configured: every conversation is offline then); `pids`: the residents in it."""
    if not budget.configured():
        return None
    row = ConversationMind.objects.filter(world_id=world_id, cid=cid).first()
    if row is None:
        mode = budget.conversation_mode(world_id, with_people)
        row, created = ConversationMind.objects.get_or_create(
            world_id=world_id, cid=cid, defaults={"mode": mode, "residents": pids}
        )
        if created:
            ConversationMind.objects.filter(updated__lt=timezone.now() - FORGOTTEN_AFTER).delete()
            return row
    if set(pids) != set(row.residents):
        row.residents = pids  # someone joined or left
    row.save(update_fields=["residents", "updated"])
    return row


def ended(world_id: int, cid: str) -> ConversationMind | None:
    """The row of a conversation that just ended, taken out (None if it had none)."""
    row = ConversationMind.objects.filter(world_id=world_id, cid=cid).first()
    if row is not None:
        ConversationMind.objects.filter(pk=row.pk).delete()
    return row


def ran_as_written(row: ConversationMind | None, authors: list[str]) -> bool:
    """Whether the conversation said exactly its script, every line (its summary holds)."""
    if row is None or not row.script or row.summary is None:
        return False
    return authors == [line["author"] for line in row.script]


def drop(row: ConversationMind) -> None:
    """The rest of the script is not said: the conversation goes on turn by turn."""
    if row.script:
        row.script = []
        row.summary = None
        row.save(update_fields=["script", "summary", "updated"])


def next_line(
    mind: Mind, row: ConversationMind, resident: dict, ctx: dict, t: int
) -> tuple[str, bool] | None:
    """This resident's next scripted line and whether it is the last (None: turn by turn).

    The first reply of a two-resident conversation writes the script.
    """
    if not row.scripted:
        row.scripted = True
        # Only a conversation's first line starts a script (the one the engine asks first).
        written = None if ctx.get("messages") else write(mind, resident, ctx, t)
        if written is not None:
            row.script, row.summary = written
        row.save(update_fields=["scripted", "script", "summary", "updated"])
    if not row.script:
        return None
    said = [m["author"] for m in ctx.get("messages") or []]
    n = len(said)
    planned = [line["author"] for line in row.script]
    if planned[:n] != said or n >= len(planned) or planned[n] != resident["id"]:
        log.info("conversation %s left its script at line %d", row.cid, n + 1)
        drop(row)
        return None
    return row.script[n]["text"], n == len(planned) - 1


def write(mind: Mind, resident: dict, ctx: dict, t: int) -> tuple[list[dict], dict] | None:
    """The whole conversation between `resident` (who starts) and the other resident, as
    ([{"author", "text"}, ...], summary fields), or None if the model gave nothing usable."""
    town = mind.town
    other = town.residents.get(ctx["others"][0]["id"])
    if other is None:
        return None
    speakers = [_speaker(mind, resident, other, ctx, t), _speaker(mind, other, resident, ctx, t)]
    areas = sorted(town.town_map.areas)
    language = world_language(town.world_id)
    try:
        answer = get_client().structured(
            "script",
            prompts.script(speakers, ctx, most_lines(), language, areas=areas),
            prompts.with_areas(prompts.Script, areas),
            world_id=town.world_id,
            agent=resident["id"],
            max_tokens=900,
            over_budget=True,  # the conversation started with the model: it keeps it
        )
    except ModelUnavailable as exc:
        log.info("no script for %s: %s; turn by turn", ctx.get("conversation"), exc)
        return None
    lines = fitted(answer.lines, [resident, other])
    if lines is None:
        log.info("an unusable script for %s; turn by turn", ctx.get("conversation"))
        return None
    for s, listener in ((speakers[0], other), (speakers[1], resident)):
        if s["news"] is not None:  # passed on in the script: told, as a spoken line would be
            state = MindState.objects.get_or_create(agent_id=s["resident"]["pk"])[0]
            state.told.setdefault(str(s["news"].pk), []).append(listener["id"])
            state.save(update_fields=["told", "updated"])
    summary = answer.model_dump(include={"summary", "importance", "plans", "views"})
    return lines, summary


def fitted(lines: list[prompts.ScriptLine], pair: list[dict]) -> list[dict] | None:
    """The script's lines as [{"author": pid, "text"}], taking turns from the first of `pair`
    and cut to `most_lines()`; None when a line is not by the expected speaker or fewer than
    two lines remain."""
    out = []
    for n, line in enumerate(lines[: most_lines()]):
        expected = pair[n % 2]
        if not relationships.named(expected["name"], line.speaker) or not line.text.strip():
            return None
        out.append({"author": expected["id"], "text": line.text})
    return out if len(out) >= 2 else None


def _speaker(mind: Mind, me: dict, other: dict, ctx: dict, t: int) -> dict:
    """What the script's prompt shows of one resident: plan, view of the other, memories,
    news it could pass on."""
    state = mind.state(me)
    plan = entry_at(state.schedule, ctx["clock"]["hour"]) if state.schedule else None
    partner = {"id": other["id"], "name": other["name"], "kind": "agent"}
    query = f"{other['name']} {(plan or {}).get('activity', '')}".strip()
    recalled = mind.recall(
        me, query, t, k=SCRIPT_MEMORIES, kinds=SCRIPT_KINDS, min_importance=SALIENT_IMPORTANCE
    )
    return {
        "resident": me,
        "plan": plan,
        "people": relationships.people(me["pk"], [partner], mind.town.when),
        "memories": [r.memory for r in recalled],
        "news": mind.news_for(me, state, other["id"], t),
    }
