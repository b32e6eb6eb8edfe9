"""What today's track should sound like: season, weekday and the world's mood, in words."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from datetime import timedelta

from town import clock
from town.models import Message, Player, World

SEASONS = {12: "winter", 1: "winter", 2: "winter", 3: "spring", 4: "spring", 5: "spring"}
SEASONS |= {6: "summer", 7: "summer", 8: "summer", 9: "autumn", 10: "autumn", 11: "autumn"}
MOOD_WORDS = {
    "quiet": "hushed and sleepy",
    "calm": "calm and cozy",
    "cheerful": "warm and cheerful",
    "lively": "bustling and bright",
    "wistful": "wistful and tender",
}
SEASON_WORDS = {
    "spring": "fresh spring morning, birdsong feeling",
    "summer": "sunny summer afternoon",
    "autumn": "golden autumn, falling leaves",
    "winter": "snowy winter evening by the fire",
}
INSTRUMENTS = (
    "soft electric piano and warm pads",
    "nylon guitar, glockenspiel and upright bass",
    "gentle chiptune lead over mellow synths",
    "marimba, flute and light strings",
    "music box, felt piano and soft bass",
    "ukulele, whistling melody and brushes",
)


@dataclass(frozen=True)
class TrackSpec:
    """The words and numbers a generator gets for one track."""

    prompt: str
    mood: str
    season: str
    seed: str


def season(day: dt.date) -> str:
    """The (northern) season of a day."""
    return SEASONS[day.month]


def world_mood(world: World) -> str:
    """How the town feels: set in the world's settings, else how much was said in a day."""
    chosen = world.settings.get("mood")
    if chosen in MOOD_WORDS:
        return chosen
    since = clock.now() - timedelta(days=1)
    said = Message.objects.filter(world=world, created__gte=since).count()
    people = Player.objects.filter(world=world, kind=Player.Kind.HUMAN, present=True).count()
    if said == 0 and people == 0:
        return "quiet"
    if said < 20:
        return "calm"
    if said < 150:
        return "cheerful"
    return "lively"


def describe(world: World, day: dt.date, mood: str, variant: int = 0) -> TrackSpec:
    """The prompt for a world's track on a day (a later variant the same day differs)."""
    seed = f"{world.pk}:{day.isoformat()}:{variant}"
    rng = random.Random(seed)
    time_of_year = season(day)
    prompt = (
        f"Looping background music for a small pixel-art town called {world.name} "
        f"on a {day:%A}: {SEASON_WORDS[time_of_year]}, {MOOD_WORDS[mood]}, "
        f"{rng.choice(INSTRUMENTS)}, soft drums, gentle memorable melody, "
        "lo-fi, instrumental, no vocals, seamless loop"
    )
    return TrackSpec(prompt=prompt, mood=mood, season=time_of_year, seed=seed)
