"""Retrieval on known data: the right memory wins by recency, importance or relevance."""

from __future__ import annotations

import pytest

from agents.embedding import Embedder, cosine, hash_embed
from agents.memory import GAME_HOUR_MS, remember, retrieve
from agents.models import Memory
from town.models import Player

pytestmark = pytest.mark.django_db
HOUR = GAME_HOUR_MS // 60  # world ms per game hour at time rate 60


def store(agent, text, importance=3, t=0, **kw):
    return remember(agent.pk, "observation", text, importance, t, Embedder(), **kw)


def only(settings, **weights):
    settings.MIND_WEIGHT_RECENCY = weights.get("recency", 0)
    settings.MIND_WEIGHT_IMPORTANCE = weights.get("importance", 0)
    settings.MIND_WEIGHT_RELEVANCE = weights.get("relevance", 0)


def test_hashing_embedder_is_deterministic_and_finds_shared_words():
    a, b = hash_embed("Ana is opening a bakery on Friday"), hash_embed("the new bakeries in town")
    assert a == hash_embed("Ana is opening a bakery on Friday")
    assert cosine(a, b) > cosine(a, hash_embed("Bram shelved library books"))
    assert abs(sum(x * x for x in a) - 1) < 1e-5


def test_relevance_wins_when_weighted(ada, settings):
    only(settings, relevance=1)
    store(ada, "Bram shelved the returned library books", importance=9, t=50 * HOUR)
    store(ada, "Ana said she is opening a bakery on Friday", importance=2, t=0)
    store(ada, "The fountain in the plaza was dry", importance=5, t=20 * HOUR)
    top = retrieve(ada.pk, "bakery opening", 60 * HOUR, Embedder(), k=1)
    assert top[0].text.startswith("Ana said")


def test_recency_wins_when_weighted(ada, settings):
    only(settings, recency=1)
    store(ada, "Ana said she is opening a bakery", importance=9, t=0)
    store(ada, "Had porridge for breakfast", importance=1, t=40 * HOUR)
    top = retrieve(ada.pk, "bakery", 41 * HOUR, Embedder(), k=1)
    assert top[0].text == "Had porridge for breakfast"
    assert top[0].recency == pytest.approx(0.995, abs=1e-6)


def test_importance_wins_when_weighted(ada, settings):
    only(settings, importance=1)
    store(ada, "Had porridge for breakfast", importance=1, t=40 * HOUR)
    store(ada, "Cora's shop burnt down", importance=10, t=0)
    top = retrieve(ada.pk, "breakfast porridge", 41 * HOUR, Embedder(), k=1)
    assert top[0].text == "Cora's shop burnt down"


def test_default_weights_balance_the_three_signals(ada):
    store(ada, "Ana said she is opening a bakery on Friday", importance=7, t=0)
    for n in range(5):
        store(ada, f"Saw a pigeon number {n} in the park", importance=1, t=(10 + n) * HOUR)
    store(ada, "The mayor resigned", importance=9, t=1 * HOUR)
    top = retrieve(ada.pk, "What do you know about the bakery?", 20 * HOUR, Embedder(), k=2)
    assert "bakery" in top[0].text


def test_retrieval_touches_last_access_and_other_residents_stay_private(world, ada):
    bram = Player.objects.get(world=world, pid="bram")
    store(bram, "Bram's secret: he hates scones", importance=9)
    memory = store(ada, "Ana is opening a bakery", t=0)
    top = retrieve(ada.pk, "scones secret", 5 * HOUR, Embedder(), k=5)
    assert [r.text for r in top] == ["Ana is opening a bakery"]
    memory.refresh_from_db()
    assert memory.accessed_t == 5 * HOUR


def test_memories_of_another_embedder_still_compete_on_relevance(ada):
    m = store(ada, "Ana is opening a bakery on Friday", importance=3)
    Memory.objects.filter(pk=m.pk).update(embedder="model:other")
    store(ada, "Saw a cat", importance=3)
    top = retrieve(ada.pk, "bakery Friday", 0, Embedder(), k=1)
    assert top[0].memory.pk == m.pk
    assert top[0].relevance > 0.3
