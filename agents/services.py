"""Every write (and operator action) on the minds goes through one named function here:
interviews, seeding memories from the research format, and forgetting a person."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

from django.db import transaction
from django.db.models import Q

from agents import offline
from agents.mind import Mind
from agents.models import Memory, MindState
from agents.residents import load_town
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


def announce(world: World, text: str, t: int) -> int:
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
    return mind.interview(player.pid, question.strip()[:500], world.clock_ms)


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
    deleted = Memory.objects.filter(id__in=doomed).delete()[1].get("agents.Memory", 0)
    return deleted
