"""`town reembed` on real PostgreSQL with the fake OpenAI-compatible server.

Every test runs inside a transaction that is rolled back, so the column switch of the
dimension tests (DDL is transactional in PostgreSQL) leaves the schema as it was.
"""

from __future__ import annotations

import io

import numpy as np
import psycopg
import pytest
from django.core.checks import run_checks
from django.core.management import CommandError, call_command
from django.db import DataError, connection, transaction

from agents import budget, checks, reembed
from agents.checks import embeddings_match_settings
from agents.embedding import HASH_EMBEDDER, Embedder, hash_embed
from agents.memory import remember, retrieve
from agents.models import Memory, ModelCall
from tests.fakes.openai_server import FakeOpenAI, _vector
from town import services
from town.models import Player

pytestmark = pytest.mark.django_db

TOPICS = ["bakery", "library", "garden", "market", "river", "festival", "music", "bridge"]
MODEL = "model:text-embedding-3-small"


class Stop(Exception):
    """Raised from a progress callback to interrupt a run, as a killed process would."""


@pytest.fixture(autouse=True)
def _fresh(settings):
    settings.LLM_BASE_URL = settings.LLM_API_KEY = ""
    settings.EMBEDDING_MODEL = "text-embedding-3-small"
    budget.reset()
    checks.forget_fit()
    yield
    budget.reset()
    checks.forget_fit()


@pytest.fixture
def fake_llm(settings):
    fake = FakeOpenAI().start()
    settings.LLM_BASE_URL, settings.LLM_API_KEY = fake.url, "sk-test"
    settings.LLM_TIMEOUT, settings.LLM_MAX_RETRIES = 1.0, 0
    yield fake
    fake.stop()


def town_with_memories(n: int, name: str = "Reembedville") -> tuple:
    """A world whose residents hold `n` memories embedded by the hashing embedder."""
    world = services.create_world(name)
    agents = list(Player.objects.filter(world=world, kind="agent").order_by("id"))
    for i in range(n):
        text = f"Heard about the {TOPICS[i % len(TOPICS)]} from neighbour number {i}."
        remember(agents[i % len(agents)].pk, "observation", text, 3, i * 1000, Embedder())
    return world, agents


def texts_embedded(fake: FakeOpenAI) -> list[str]:
    return [t for r in fake.requests if r["path"].endswith("/embeddings") for t in r["input"]]


def column_and_index_dims() -> tuple[int, set[str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_am am ON am.oid = c.relam WHERE am.amname = 'hnsw' "
            "AND i.indrelid::regclass::text LIKE 'agents_memory%%'"
        )
        indexes = {row[0] for row in cursor.fetchall()}
    return checks.column_dimensions(), indexes


def test_reembed_moves_hash_memories_to_the_model(fake_llm):
    world, _ = town_with_memories(20)
    assert reembed.plan().due == 20

    report = reembed.reembed(batch=8)

    assert report.embedded == 20
    memories = list(Memory.objects.all())
    assert {m.embedder for m in memories} == {MODEL}
    for memory in memories:
        expected = _vector(memory.text, 512)
        assert np.allclose(memory.embedding, expected, atol=1e-5), memory.text
    calls = ModelCall.objects.filter(purpose="embed", world=world)
    assert calls.count() == 3 and all(c.ok and c.tokens_in > 0 for c in calls)
    assert sorted(texts_embedded(fake_llm)) == sorted(m.text for m in memories)
    again = reembed.reembed(batch=8)  # done: nothing is sent twice
    assert again.embedded == 0 and len(texts_embedded(fake_llm)) == 20
    assert "Nothing to re-embed" in reembed.summary(again)


def test_interrupted_reembed_resumes_without_redoing(fake_llm):
    town_with_memories(20)

    def stop_after_first_batch(p: reembed.Progress) -> None:
        if p.done:
            raise Stop

    with pytest.raises(Stop):
        reembed.reembed(batch=6, progress=stop_after_first_batch)
    assert Memory.objects.filter(embedder=MODEL).count() == 6
    assert reembed.plan().due == 14

    report = reembed.reembed(batch=6)

    assert report.embedded == 14
    assert Memory.objects.exclude(embedder=MODEL).count() == 0
    sent = texts_embedded(fake_llm)
    assert len(sent) == 20 and len(set(sent)) == 20  # nothing embedded twice


def test_model_failure_stops_with_a_clear_message_and_loses_nothing(fake_llm):
    town_with_memories(10)
    before = dict(Memory.objects.values_list("id", "embedder"))
    fake_llm.mode = "error"

    with pytest.raises(reembed.ReembedRefused, match="run `town reembed` again later"):
        reembed.reembed(batch=4)

    assert dict(Memory.objects.values_list("id", "embedder")) == before
    assert all(m.embedding is not None for m in Memory.objects.all())


def test_a_second_reembed_at_the_same_time_is_refused():
    town_with_memories(2)
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s, %s)", reembed.LOCK)
        with pytest.raises(reembed.ReembedRefused, match="another `town reembed` is running"):
            reembed.reembed()
        other.execute("SELECT pg_advisory_unlock(%s, %s)", reembed.LOCK)
    assert reembed.reembed().embedded == 0  # the lock is free again; all already hash-v1


def test_only_one_world_is_reembedded_with_world(fake_llm):
    first, _ = town_with_memories(6, "First")
    town_with_memories(6, "Second")

    report = reembed.reembed(world_id=first.pk)

    assert report.embedded == 6
    assert set(Memory.objects.filter(embedder=MODEL).values_list("agent__world", flat=True)) == {
        first.pk
    }


def test_check_reports_a_dimension_mismatch_with_the_clear_message(settings):
    town_with_memories(3)
    assert embeddings_match_settings() == []
    settings.EMBEDDING_DIMENSIONS = 768

    warnings = [m for m in run_checks() if m.id == "agents.W001"]

    assert len(warnings) == 1
    assert warnings[0].msg.startswith(
        "Memories are stored with 512 dimensions but EMBEDDING_DIMENSIONS is 768: "
        "run `python manage.py town reembed`."
    )
    assert "3 memories to re-embed" in warnings[0].hint


def test_check_warns_about_vectors_of_another_embedder(fake_llm):
    town_with_memories(4)

    messages = embeddings_match_settings()

    assert [m.id for m in messages] == ["agents.W002"]
    assert "4 memories" in messages[0].msg and f"4 {HASH_EMBEDDER}" in messages[0].msg
    assert MODEL in messages[0].msg


def test_minds_keep_working_while_the_dimensions_differ(settings):
    _, agents = town_with_memories(8)
    settings.EMBEDDING_DIMENSIONS = 64
    with pytest.raises(DataError, match="expected 512 dimensions"), transaction.atomic():
        remember(agents[0].pk, "observation", "What the guard prevents.", 5, 9000, Embedder())
    assert not checks.vectors_fit()
    embedder = checks.fitting_embedder(Embedder())
    assert embedder.name == "hash-v1@512"

    remember(agents[0].pk, "observation", "The bakery sells rye bread now.", 5, 9000, embedder)
    recalled = retrieve(agents[0].pk, "What does the bakery sell?", 10_000, embedder, k=3)

    assert "rye bread" in recalled[0].text


def test_dimension_change_end_to_end(settings):
    _, agents = town_with_memories(24)
    settings.EMBEDDING_DIMENSIONS = 64
    with pytest.raises(reembed.ReembedRefused, match="without --world"):
        reembed.reembed(world_id=agents[0].world_id)

    def stop_in(stage: str):
        def callback(p: reembed.Progress) -> None:
            if p.stage == stage and p.done:
                raise Stop

        return callback

    with pytest.raises(Stop):  # killed while filling the shadow table
        reembed.reembed(batch=10, progress=stop_in("embed"))
    plan = reembed.plan()
    assert plan.switching and plan.due == 14
    # The world goes on meanwhile, writing vectors of the old size.
    meanwhile = checks.fitting_embedder(Embedder())
    remember(agents[1].pk, "plan", "Meet at the river at noon.", 4, 50_000, meanwhile)
    with pytest.raises(Stop):  # killed after the swap, while copying the vectors in
        reembed.reembed(batch=10, progress=stop_in("copy"))
    assert checks.column_dimensions() == 64 and reembed.plan().copy_pending == 15

    report = reembed.reembed(batch=10)

    dims, indexes = column_and_index_dims()
    assert dims == 64 and len(indexes) == 17  # the parent's HNSW index and one per partition
    assert report.copied == 15 and checks.column_dimensions(reembed.SHADOW) is None
    memories = list(Memory.objects.all())
    assert len(memories) == 25 and {m.embedder for m in memories} == {HASH_EMBEDDER}
    for memory in memories:
        assert np.allclose(memory.embedding, hash_embed(memory.text, 64), atol=1e-5)
    recalled = retrieve(agents[1].pk, "Where do we meet at noon?", 60_000, Embedder(), k=1)
    assert "river at noon" in recalled[0].text
    assert reembed.plan().due == 0 and embeddings_match_settings() == []


def test_cli_prints_progress_and_refuses_bad_input(fake_llm):
    town_with_memories(12)
    out, err = io.StringIO(), io.StringIO()

    call_command("town", "reembed", "--dry-run", stdout=out, stderr=err)
    assert "Dry run, nothing changed: 12 memories (all worlds) to embed with" in out.getvalue()
    assert Memory.objects.filter(embedder=MODEL).count() == 0
    with pytest.raises(CommandError, match="at least 1"):
        call_command("town", "reembed", "--batch", "0")
    with pytest.raises(CommandError, match="there is no world 999"):
        call_command("town", "reembed", "--world", "999")

    call_command("town", "reembed", "--batch", "5", stdout=out, stderr=err)

    lines = err.getvalue().splitlines()
    assert lines[0].startswith("embedding  [") and "0/12" in lines[0]
    assert "12/12" in lines[-1] and "/s" in lines[-1] and "ETA" in lines[-1]
    assert "Re-embedded 12 memories with model:text-embedding-3-small" in out.getvalue()
    assert Memory.objects.filter(embedder=MODEL).count() == 12
