"""Operator actions that span the world, the minds and music: each composes the apps' own
services, so the world (town/) never calls into the minds or music.

Model calls (the minds' embeddings) run before the world's transaction, never inside it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.db import transaction

from agents import services as minds
from agents.residents import routine_mind
from music.services import delete_all_tracks
from town import headless
from town import services as world
from town.models import World


def forget_user(username: str, *, actor: Any = None) -> dict[str, int]:
    """Remove what a person said: the minds' memories of it first (they find them through
    the chat lines), then the lines themselves, in one transaction."""
    user = world.find_user(username)
    with transaction.atomic():
        memories = minds.forget_user(user)
        return world.forget_user(username, actor=actor, memories=memories)


def wipe_town(*, actor: Any = None, wait: float = 10.0) -> dict[str, int]:
    """Delete every world and all its data (players, chat, history, memories, music)."""
    world.stop_all_engines(wait=wait)
    with transaction.atomic():
        tracks = delete_all_tracks()
        return world.delete_all_worlds(actor=actor, tracks=tracks)


def announce(world_id: int, text: str, *, actor: Any = None) -> int:
    """An operator's town notice: every resident perceives it (and re-plans), every page shows
    it, and replay keeps it. Returns how many residents heard it."""
    text = world.notice_text(world_id, text)
    row = World.objects.get(pk=world_id)
    heard = minds.perceive_notice(row, text, row.clock_ms)  # embeds: outside a transaction
    world.record_announcement(world_id, text, heard=heard, actor=actor)
    return heard


def interview_resident(world_id: int, who: str, question: str, *, actor: Any = None) -> str:
    """Ask a resident a question (answered by its mind, from memory)."""
    row = World.objects.get(pk=world_id)
    answer = minds.interview(row, who, question)
    world.audit(row, "interview", actor, resident=who, question=question[:200])
    return answer


def load_history(world_id: int, path: str | Path, *, actor: Any = None) -> int:
    """Seed residents' memories from a CSV (the research format); returns how many."""
    row = World.objects.get(pk=world_id)
    count = minds.load_history(row, path)
    world.audit(row, "load_history", actor, file=str(path), memories=count)
    return count


def fast_forward(world_id: int, steps: int, *, actor: Any = None) -> dict[str, int]:
    """`town run`: the world steps headless with the routine mind answering at once."""
    return headless.fast_forward(world_id, steps, mind=routine_mind(world_id), actor=actor)
