"""A small offline composer: a seamless loop of chords, bass, melody and soft drums (numpy).

Deterministic for a seed, so a day's track can be made again. Served as Ogg Vorbis (about
a tenth of the WAV's size; every current browser plays it). The loop is a whole number of
bars and the notes ringing past its end are folded back onto its start, so it repeats
without a click.
"""

from __future__ import annotations

import hashlib
import io
import random
import wave
from dataclasses import dataclass

import numpy as np
import soundfile

RATE = 22_050
MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
# Scale degrees (0-based) of each bar's chord.
MAJOR_PROGRESSIONS = ((0, 4, 5, 3), (5, 3, 0, 4), (0, 5, 3, 4), (3, 0, 4, 5), (0, 3, 5, 4))
MINOR_PROGRESSIONS = ((0, 5, 2, 6), (0, 3, 5, 4), (0, 6, 5, 6), (0, 5, 3, 4))
# The melody keeps to the pentatonic notes of the scale: nothing can clash.
MAJOR_PENTATONIC = (0, 1, 2, 4, 5)
MINOR_PENTATONIC = (0, 2, 3, 4, 6)
# Eighth-note rhythms for one bar of melody (1 = a note starts), from sparse to busy.
RHYTHMS = (
    (1, 0, 0, 0, 1, 0, 0, 0),
    (1, 0, 0, 1, 0, 0, 1, 0),
    (1, 0, 1, 0, 1, 0, 0, 0),
    (1, 0, 1, 1, 0, 1, 0, 0),
    (1, 1, 0, 1, 0, 1, 1, 0),
    (1, 0, 1, 0, 1, 1, 0, 1),
)
MOODS = {
    # mood: (target tempo, melody busyness 0–1, drum level, major?)
    "quiet": (68, 0.2, 0.5, True),
    "calm": (76, 0.4, 0.7, True),
    "cheerful": (96, 0.6, 0.9, True),
    "lively": (108, 0.8, 1.0, True),
    "wistful": (72, 0.35, 0.6, False),
}
SEASON_ROOTS = {"spring": (2, 7, 0), "summer": (0, 5, 9), "autumn": (9, 2, 4), "winter": (3, 10, 5)}


@dataclass(frozen=True)
class Plan:
    """What one loop will be: key, tempo, chords and character."""

    root: int  # pitch class 0–11
    minor: bool
    tempo: float
    bars: int
    progression: tuple[int, ...]
    busyness: float
    drums: float
    seconds: float


def seed_number(seed: str | int) -> int:
    """A stable 64-bit number for any seed (Python's hash() changes between runs)."""
    return int.from_bytes(hashlib.sha256(str(seed).encode()).digest()[:8], "big")


def plan(seed: str | int, mood: str = "calm", season: str = "spring", seconds: float = 30.0):
    """Choose the key, tempo and progression for a loop of about `seconds`."""
    rng = random.Random(seed_number(seed))
    target, busyness, drums, major = MOODS.get(mood, MOODS["calm"])
    minor = not major or (season == "winter" and rng.random() < 0.5)
    target *= rng.uniform(0.95, 1.05)
    bars = max(4, round(seconds * target / 240 / 4) * 4)
    progressions = MINOR_PROGRESSIONS if minor else MAJOR_PROGRESSIONS
    return Plan(
        root=rng.choice(SEASON_ROOTS.get(season, (0,))),
        minor=minor,
        tempo=bars * 240 / seconds,  # exactly `bars` bars of 4/4 in `seconds`
        bars=bars,
        progression=rng.choice(progressions),
        busyness=busyness,
        drums=drums,
        seconds=seconds,
    )


def render(
    seed: str | int,
    mood: str = "calm",
    season: str = "spring",
    seconds: float = 30.0,
    rate: int = RATE,
) -> np.ndarray:
    """The loop as float32 samples in [-1, 1], exactly `seconds` long."""
    p = plan(seed, mood, season, seconds)
    rng = random.Random(seed_number(seed) + 1)
    noise = np.random.default_rng(seed_number(seed) + 2)
    length = round(seconds * rate)
    buf = np.zeros(length + 3 * rate, dtype=np.float64)
    beat = 60.0 / p.tempo
    bar = 4 * beat
    scale = MINOR if p.minor else MAJOR
    penta = MINOR_PENTATONIC if p.minor else MAJOR_PENTATONIC

    def pitch(degree: int, octave: int) -> int:
        return 12 * (octave + 1) + p.root + scale[degree % 7] + 12 * (degree // 7)

    melody_degree = 7 + rng.choice((0, 2, 4))
    for b in range(p.bars):
        start = b * bar
        chord = p.progression[b % len(p.progression)]
        tones = [chord, chord + 2, chord + 4] + ([chord + 6] if rng.random() < 0.4 else [])
        for degree in tones:  # the pad: the chord held for the bar, gently
            _note(buf, rate, start, bar, _hz(pitch(degree, 3)), 0.045, "pad")
        _bass(buf, rate, start, beat, _hz(pitch(chord, 1)), p, rng)
        melody_degree = _melody(
            buf, rate, start, beat, p, b, chord, penta, pitch, rng, melody_degree
        )
        _drums(buf, rate, start, beat, p, noise)
    # Fold what rings past the end onto the start: the loop is seamless.
    tail = buf[length:]
    buf[: len(tail)] += tail
    out = buf[:length]
    out /= max(1e-9, np.max(np.abs(out)))
    out = np.tanh(out * 1.3) / np.tanh(1.3) * 0.8
    return out.astype(np.float32)


def _hz(midi: int) -> float:
    return 440.0 * 2 ** ((midi - 69) / 12)


def _note(buf, rate, start, dur, freq, amp, kind) -> None:
    release = {"pad": 0.8, "bass": 0.15, "bell": 0.6}[kind]
    n = int((dur + release) * rate)
    t = np.arange(n) / rate
    if kind == "pad":
        vibrato = 0.003 * np.sin(2 * np.pi * 4.5 * t)
        phase = 2 * np.pi * freq * t * (1 + vibrato)
        wave_ = np.sin(phase) + 0.25 * np.sin(2 * phase) + 0.08 * np.sin(3 * phase)
        env = np.minimum(1.0, t / 0.35) * np.clip((dur + release - t) / release, 0.0, 1.0)
    elif kind == "bass":
        phase = 2 * np.pi * freq * t
        wave_ = np.sin(phase) + 0.2 * np.sin(2 * phase)
        env = (
            np.minimum(1.0, t / 0.01)
            * np.exp(-t * 2.2)
            * np.clip((dur + release - t) / release, 0, 1)
        )
    else:  # a soft FM bell, like an electric piano
        decay = np.exp(-t * 3.0)
        phase = 2 * np.pi * freq * t
        wave_ = np.sin(phase + 1.2 * decay * np.sin(phase))
        env = np.minimum(1.0, t / 0.005) * decay * np.clip((dur + release - t) / release, 0, 1)
    _add(buf, int(start * rate), amp * env * wave_)


def _add(buf, i0: int, sound: np.ndarray) -> None:
    end = min(len(buf), i0 + len(sound))
    buf[i0:end] += sound[: end - i0]


def _bass(buf, rate, start, beat, freq, p: Plan, rng) -> None:
    hits = [(0, 1.5), (2, 1.5)] if p.busyness < 0.5 else [(0, 1.0), (1.5, 0.5), (2, 1.0), (3, 0.5)]
    for at, length in hits:
        f = freq * (1.5 if at == 3 and rng.random() < 0.5 else 1.0)  # now and then the fifth
        _note(buf, rate, start + at * beat, length * beat, f, 0.2, "bass")


def _melody(buf, rate, start, beat, p, bar_index, chord, penta, pitch, rng, degree) -> int:
    """One bar of melody: a seeded walk over pentatonic notes, on chord tones at strong beats."""
    last_bar = bar_index == p.bars - 1
    level = min(len(RHYTHMS) - 1, int(p.busyness * len(RHYTHMS) + rng.random()))
    rhythm = RHYTHMS[0] if last_bar else RHYTHMS[level]
    slots = [i for i, hit in enumerate(rhythm) if hit]
    for k, slot in enumerate(slots):
        strong = slot in (0, 4)
        if last_bar:
            degree = 7  # home
        elif strong:
            options = [d for d in range(5, 13) if (d - chord) % 7 in (0, 2, 4)]
            degree = min(options, key=lambda d: abs(d - degree) + rng.random() * 2)
        else:
            step = rng.choice((-2, -1, -1, 1, 1, 2))
            candidates = [d for d in range(5, 13) if d % 7 in penta]
            degree = min(candidates, key=lambda d: abs(d - (degree + step)) + rng.random() * 0.5)
        following = slots[k + 1] if k + 1 < len(slots) else 8
        length = (following - slot) * beat / 2
        if rng.random() < 0.12 and not strong:
            continue  # a breath
        _note(buf, rate, start + slot * beat / 2, length, _hz(pitch(degree, 4)), 0.11, "bell")
    return degree


def _drums(buf, rate, start, beat, p: Plan, noise) -> None:
    level = p.drums
    kicks = (0, 2) if p.busyness < 0.5 else (0, 1.75, 2)
    for at in kicks:
        _add(buf, int((start + at * beat) * rate), level * 0.35 * _kick(rate))
    if p.busyness >= 0.3:
        for at in (1, 3):
            _add(buf, int((start + at * beat) * rate), level * 0.12 * _snare(rate, noise))
    for eighth in range(8):
        swing = 0.08 * beat if eighth % 2 else 0.0
        amp = (0.05 if eighth % 2 == 0 else 0.03) * level
        _add(buf, int((start + eighth * beat / 2 + swing) * rate), amp * _hat(rate, noise))


def _kick(rate) -> np.ndarray:
    t = np.arange(int(0.35 * rate)) / rate
    freq = 45 + 75 * np.exp(-t * 30)
    phase = 2 * np.pi * np.cumsum(freq) / rate
    return np.sin(phase) * np.exp(-t * 9)


def _snare(rate, noise) -> np.ndarray:
    t = np.arange(int(0.2 * rate)) / rate
    body = noise.standard_normal(len(t))
    body = np.convolve(body, np.ones(4) / 4, mode="same")  # a softer, duller snare
    return (0.6 * body + 0.5 * np.sin(2 * np.pi * 185 * t)) * np.exp(-t * 22)


def _hat(rate, noise) -> np.ndarray:
    t = np.arange(int(0.05 * rate)) / rate
    hiss = np.diff(noise.standard_normal(len(t) + 1))  # differencing keeps the highs
    return hiss * np.exp(-t * 80)


def wav_bytes(samples: np.ndarray, rate: int = RATE) -> bytes:
    """16-bit mono PCM WAV: every browser plays it."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return out.getvalue()


# libsndfile's Vorbis quality, 0 (best) – 1 (smallest): about 100–150 kB for 30 s of the loop.
OGG_COMPRESSION = 0.5


def ogg_bytes(samples: np.ndarray, rate: int = RATE) -> bytes:
    """Mono Ogg Vorbis, exactly as many samples as given (the loop stays seamless)."""
    out = io.BytesIO()
    soundfile.write(
        out,
        np.clip(samples, -1.0, 1.0),
        rate,
        format="OGG",
        subtype="VORBIS",
        compression_level=OGG_COMPRESSION,
    )
    return out.getvalue()
