"""Every write (and operator action) on the minds goes through one named function here:
interviews, seeding memories from the research format, forgetting a person, and the daily
token budget (`town budget`)."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from agents import budget, offline
from agents.mind import Mind
from agents.models import Memory, MindState, Relationship
from agents.residents import load_town
from town.engine.config import MAX_TEXT
from town.models import Message, Player, World

log = logging.getLogger(__name__)


class UnknownResident(LookupError):
    """No resident with that id or name in the world."""


def find_resident(world: World, who: str) -> Player:
    """A resident by pid, full name or first name (case-insensitive)."""
    agents = Player.objects.filter(world=world, kind=Player.Kind.AGENT)
    match = (
        agents.filter(pid=who).first()
        or agents.filter(name__iexact=who).first()
        or agents.filter(name__istartswith=f"{who} ").first()
    )
    if match is None:
        raise UnknownResident(who)
    return match


ANNOUNCEMENT_IMPORTANCE = 9


def perceive_notice(world: World, text: str, t: int) -> int:
    """Every resident perceives an operator's notice as an important observation and will
    plan their day again with it in mind; returns how many residents heard it."""
    mind = Mind(load_town(world.pk))
    heard = 0
    for resident in mind.town.residents.values():
        mind.remember(
            resident,
            Memory.Kind.OBSERVATION,
            f"Town notice: {text}",
            ANNOUNCEMENT_IMPORTANCE,
            t,
            source="announcement",
        )
        heard += 1
    MindState.objects.filter(agent__world=world).update(plan_day=0, schedule=[])
    return heard


def interview(world: World, agent_pid: str, question: str) -> str:
    """Ask a resident a question, as the paper's interviews did; answered from memory."""
    player = find_resident(world, agent_pid)
    mind = Mind(load_town(world.pk))
    world.refresh_from_db(fields=["clock_ms"])
    return mind.interview(player.pid, question.strip()[:MAX_TEXT], world.clock_ms)


def load_history(world: World, path: str | Path) -> int:
    """Seed memories from a CSV in the original research format: name; memories separated by
    semicolons (a header row is skipped). Returns how many memories were stored."""
    mind = Mind(load_town(world.pk))
    world.refresh_from_db(fields=["clock_ms"])
    count = 0
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.reader(handle):
            if len(row) < 2 or not row[0].strip():
                continue
            name, memories = row[0].strip(), row[1]
            try:
                player = find_resident(world, name)
            except UnknownResident:
                if name.lower() not in {"name", "agent", "persona"}:
                    log.warning("load-history: no resident called %r in %s", name, world)
                continue
            resident = mind.town.residents[player.pid]
            with transaction.atomic():
                for text in (m.strip() for m in memories.split(";")):
                    if text:
                        mind.remember(
                            resident,
                            Memory.Kind.OBSERVATION,
                            text,
                            offline.importance(text, base=3),
                            world.clock_ms,
                            source="history",
                        )
                        count += 1
    return count


@transaction.atomic
def forget_user(user) -> int:
    """Delete every memory holding this person's words (and insights drawn from them);
    return how many memories went."""
    conversations = Message.objects.filter(author_user=user).values("conversation_id")
    doomed = set(
        Memory.objects.filter(
            Q(author_user=user) | Q(conversation_id__in=conversations)
        ).values_list("id", flat=True)
    )
    frontier = set(doomed)
    while frontier:  # reflections citing forgotten memories go too, transitively
        derived = set(
            Memory.evidence.through.objects.filter(to_memory_id__in=frontier).values_list(
                "from_memory_id", flat=True
            )
        )
        frontier = derived - doomed
        doomed |= frontier
    from town.models import Conversation

    Conversation.objects.filter(id__in=conversations).update(summary="")
    # What residents think of people, where it was drawn from this person's words, goes too.
    Relationship.objects.filter(
        Q(author_user=user) | Q(conversation_id__in=conversations) | Q(other__user=user)
    ).delete()
    deleted = Memory.objects.filter(id__in=doomed).delete()[1].get("agents.Memory", 0)
    return deleted


class BadBudget(ValueError):
    """A token limit that is not a whole number of tokens, 0 or more."""


def budget_status(world: World) -> dict:
    """Today's spend and the daily limit of a world, read fresh from the database."""
    return budget.status(world.pk)


def set_daily_tokens(world: World, tokens: int, actor=None) -> dict:
    """Give a world its own daily token limit (0: no limit), overriding MIND_DAILY_TOKENS.

    Stored in the database, so every process (a running town started elsewhere included)
    picks it up within a few seconds; the residents go back to the model if it is raised.
    """
    from town.services import audit

    if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 0:
        raise BadBudget(f"the daily limit must be a whole number of tokens, 0 or more: {tokens!r}")
    with transaction.atomic():
        row = World.objects.select_for_update().get(pk=world.pk)
        was = (row.settings or {}).get("daily_tokens")
        row.settings = {**(row.settings or {}), "daily_tokens": tokens}
        row.save(update_fields=["settings"])
        audit(row, "budget_set", actor, daily_tokens=tokens, was=was)
    world.settings = row.settings
    budget.forget(world.pk)
    return budget.status(world.pk)


def reset_budget(world: World, actor=None) -> dict:
    """Start today's count of a world's tokens again from now (the spent flag goes with it)."""
    from town.services import audit

    spent = budget.status(world.pk)["spent"]
    with transaction.atomic():
        row = World.objects.select_for_update().get(pk=world.pk)
        row.settings = {**(row.settings or {}), "budget_reset_at": timezone.now().isoformat()}
        row.save(update_fields=["settings"])
        audit(row, "budget_reset", actor, spent_before=spent)
    world.settings = row.settings
    budget.forget(world.pk)
    return budget.status(world.pk)


def replan_resident(sender, **kwargs) -> None:
    """An operator changed a resident's routine (town.signals.resident_changed): drop
    today's plan so the next decision plans again from the new routine."""
    MindState.objects.filter(agent=sender).update(plan_day=0, schedule=[])


def copy_memories(sender, *, players: dict[int, int], conversations: dict[int, int], **kwargs):
    """A world was forked (town.signals.world_forked): copy the residents' memory streams,
    evidence links included; returns how many memories were copied."""
    ids: dict[int, int] = {}
    for memory in Memory.objects.filter(agent_id__in=players).order_by("id"):
        old = memory.pk
        memory.pk = memory.id = None
        memory._state.adding = True
        memory.agent_id = players[memory.agent_id]
        if memory.conversation_id is not None:
            memory.conversation_id = conversations.get(memory.conversation_id)
        memory.save()
        ids[old] = memory.pk
    through = Memory.evidence.through
    through.objects.bulk_create(
        through(from_memory_id=ids[a], to_memory_id=ids[b])
        for a, b in through.objects.filter(from_memory_id__in=ids).values_list(
            "from_memory_id", "to_memory_id"
        )
        if b in ids
    )
    return len(ids)
