"""The model client's caches: embeddings by text (in the database, so every process shares
them) and identical chat requests within MIND_CHAT_CACHE_SECONDS."""

from __future__ import annotations

import pytest

from agents import llm, prompts
from agents.llm import get_client
from agents.models import ChatCache, EmbeddingCache, ModelCall

pytestmark = pytest.mark.django_db

MESSAGES = [{"role": "user", "content": "Say hi as JSON"}]


def embeds(fake) -> list[dict]:
    return [r for r in fake.requests if r["path"].endswith("/embeddings")]


def ask(world):
    return get_client().structured("reply", MESSAGES, prompts.Reply, world_id=world.pk)


def test_a_text_is_embedded_once(fake_llm, world):
    client = get_client()
    first = client.embed(["the cafe roof", "bees on the hill"], world_id=world.pk)
    hits = llm.stats["embed_hit"]
    again = client.embed(["bees on the hill", "a new text", "the cafe roof"], world_id=world.pk)
    assert again[0] == pytest.approx(first[1]) and again[2] == pytest.approx(first[0])
    sent = embeds(fake_llm)
    assert [r["input"] for r in sent] == [["the cafe roof", "bees on the hill"], ["a new text"]]
    assert llm.stats["embed_hit"] - hits == 2
    assert EmbeddingCache.objects.count() == 3
    assert ModelCall.objects.filter(purpose="embed").count() == 2  # only calls are paid for


def test_the_embedding_cache_is_keyed_by_model_and_dimensions(fake_llm, world, settings):
    get_client().embed(["the cafe roof"], world_id=world.pk)
    settings.EMBEDDING_MODEL = "another-embedder"
    get_client().embed(["the cafe roof"], world_id=world.pk)
    assert len(embeds(fake_llm)) == 2


def test_the_embedding_cache_can_be_switched_off(fake_llm, world, settings):
    settings.MIND_EMBED_CACHE = False
    get_client().embed(["the cafe roof"], world_id=world.pk)
    get_client().embed(["the cafe roof"], world_id=world.pk)
    assert len(embeds(fake_llm)) == 2 and not EmbeddingCache.objects.exists()


def test_an_identical_request_within_the_window_is_answered_from_the_cache(
    fake_llm, world, settings
):
    settings.MIND_CHAT_CACHE_SECONDS = 60
    hits = llm.stats["chat_hit"]
    assert ask(world).text == ask(world).text
    assert len(fake_llm.chats()) == 1
    assert llm.stats["chat_hit"] - hits == 1
    assert ModelCall.objects.count() == 1


def test_past_the_window_or_with_it_off_the_request_goes_out(fake_llm, world, settings):
    settings.MIND_CHAT_CACHE_SECONDS = 60
    ask(world)
    ChatCache.objects.update(created=ChatCache.objects.get().created.replace(year=2000))
    ask(world)
    assert len(fake_llm.chats()) == 2
    settings.MIND_CHAT_CACHE_SECONDS = 0
    ask(world)
    assert len(fake_llm.chats()) == 3


def test_an_answer_that_no_longer_validates_is_not_given_again(fake_llm, world, settings):
    settings.MIND_CHAT_CACHE_SECONDS = 60
    ask(world)
    ChatCache.objects.update(content="not json")
    assert ask(world).text
    assert len(fake_llm.chats()) == 2
    assert ChatCache.objects.get().content != "not json"


def test_invalid_answers_are_not_kept(fake_llm, world, settings):
    settings.MIND_CHAT_CACHE_SECONDS = 60
    fake_llm.mode = "invalid_json"
    with pytest.raises(llm.ModelUnavailable):
        ask(world)
    assert not ChatCache.objects.exists()


def test_interviews_always_ask_the_provider(fake_llm, world, settings):
    settings.MIND_CHAT_CACHE_SECONDS = 60
    for _ in range(2):
        get_client().text("interview", MESSAGES, world_id=world.pk, cache=False)
    assert len(fake_llm.chats()) == 2
    assert ModelCall.objects.filter(purpose="interview").count() == 2
