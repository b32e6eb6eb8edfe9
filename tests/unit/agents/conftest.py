"""Fixtures for the minds: a world with its residents, a mind, and the fake model provider."""

from __future__ import annotations

import pytest

from agents import budget
from agents.mind import Mind
from agents.residents import load_town
from tests.fakes.openai_server import FakeOpenAI
from town import services
from town.models import Player


@pytest.fixture(autouse=True)
def _fresh_budget():
    budget.reset()
    yield
    budget.reset()


@pytest.fixture
def fake_llm(settings):
    """The fake OpenAI-compatible server, with the settings pointing at it."""
    fake = FakeOpenAI().start()
    settings.LLM_BASE_URL = fake.url
    settings.LLM_API_KEY = "sk-test"
    settings.LLM_TIMEOUT = 1.0
    settings.LLM_MAX_RETRIES = 1
    yield fake
    fake.stop()


@pytest.fixture
def offline(settings):
    settings.LLM_BASE_URL = ""
    settings.LLM_API_KEY = ""


@pytest.fixture
def world(db):
    return services.create_world("Testville")


@pytest.fixture
def mind(world) -> Mind:
    return Mind(load_town(world.pk))


# Three residents of the default town, as the minds' tests meet them.
@pytest.fixture
def ada(world) -> Player:
    return Player.objects.get(world=world, pid="ada")


@pytest.fixture
def bram(world) -> Player:
    return Player.objects.get(world=world, pid="bram")


@pytest.fixture
def cora(world) -> Player:
    return Player.objects.get(world=world, pid="cora")
