"""Fixtures for tests that run a world: an engine and a worker in the test's event loop."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async

from agents import budget
from tests.fakes.openai_server import FakeOpenAI
from town import services
from town.management.commands.runtown import run_roles


@pytest.fixture
async def town():
    """A fresh world with its engine and a worker running in this event loop."""
    world = await database_sync_to_async(services.create_world)("Testville")
    stop = asyncio.Event()
    roles = asyncio.ensure_future(run_roles(["engine", "worker"], stop))
    yield world
    stop.set()
    await asyncio.wait_for(roles, 20)


@pytest.fixture
def fake_model(settings):
    """The fake OpenAI-compatible server, configured as the town's model provider."""
    fake = FakeOpenAI().start()
    settings.LLM_BASE_URL, settings.LLM_API_KEY = fake.url, "sk-test"
    budget.reset()
    yield fake
    fake.stop()
    budget.reset()
