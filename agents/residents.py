"""A world's residents as the minds see them, and the world facts minds need (map, clock)."""

from __future__ import annotations

from dataclasses import dataclass

from agents.routine import RoutineMind
from town import selectors
from town.engine import TownMap
from town.engine.clock import clock_at
from town.language import world_language
from town.models import Player, World


@dataclass
class Town:
    """What a mind knows about its world besides memories."""

    world_id: int
    seed: int
    town_map: TownMap
    time_rate: float
    start_minute: int
    residents: dict[str, dict]  # pid → resident dict (with "pk", the Player row id)
    names: dict[str, str]  # every player's pid → name (humans included)

    def clock(self, t: int) -> dict:
        return clock_at(t, self.time_rate, self.start_minute)

    def when(self, t: int) -> str:
        c = self.clock(t)
        return f"day {c['day']}, {c['hour']:02d}:{c['minute']:02d}"

    def game_day_ms(self) -> int:
        return int(24 * 3_600_000 / self.time_rate)


def load_town(world_id: int) -> Town:
    """Read a world's residents and settings (called again now and then to see edits)."""
    row = World.objects.get(pk=world_id)
    meta = selectors.world_meta(row)
    residents, names = {}, {}
    for p in Player.objects.filter(world=row):
        names[p.pid] = p.name
        if p.kind == Player.Kind.AGENT:
            residents[p.pid] = {
                **p.data,
                "id": p.pid,
                "pk": p.pk,
                "name": p.name,
                "identity": p.identity,
            }
    return Town(
        world_id=world_id,
        seed=row.seed,
        town_map=meta.town_map,
        time_rate=meta.config.time_rate,
        start_minute=meta.config.start_minute_of_day,
        residents=residents,
        names=names,
    )


def routine_mind(world_id: int) -> RoutineMind:
    """The routine mind for a world's residents (no model, deterministic): the worker's
    fallback and headless runs (`town run`) both use this one."""
    town = load_town(world_id)
    return RoutineMind(
        list(town.residents.values()),
        town.town_map,
        seed=town.seed,
        language=world_language(world_id),
    )
