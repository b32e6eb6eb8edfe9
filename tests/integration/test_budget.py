"""The daily token budget as an operator's lever: `town budget`, `town budget set TOKENS`,
`town budget reset` — in this process, and from a second process against a running town
whose residents think through the fake model provider."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command

from agents import budget, services
from agents.models import ModelCall
from tests.conftest import ROOT
from tests.fakes.openai_server import FakeOpenAI
from tests.netclient import NetSocket
from town import services as town_services
from town.models import AuditEntry, World


def spend(world: World, tokens: int) -> None:
    """Calls already made today (as the client records them)."""
    ModelCall.objects.create(
        world=world, purpose="reply", model="fake", tokens_in=tokens, tokens_out=0
    )


def town(*args: str) -> str:
    out = io.StringIO()
    call_command("town", "budget", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def world(db, settings):
    settings.LLM_BASE_URL, settings.LLM_API_KEY = "http://127.0.0.1:9/v1", "sk-test"
    settings.MIND_DAILY_TOKENS = 1000
    budget.reset()
    yield town_services.create_world("Ledgerton")
    budget.reset()


def test_budget_shows_todays_spend_and_the_limit(world):
    spend(world, 250)
    said = town("--world", str(world.pk))
    assert "250 tokens spent today" in said and "daily limit 1,000 tokens" in said
    assert "(MIND_DAILY_TOKENS)" in said


def test_set_gives_the_world_its_own_limit_and_brings_the_model_back(world):
    spend(world, 1200)
    assert not budget.budget_left(world.pk) and budget.mind_mode(world.pk) == "offline"
    said = town("set", "5000", "--world", str(world.pk))
    assert "daily limit 5,000 tokens" in said and "MIND_DAILY_TOKENS" not in said
    assert budget.budget_left(world.pk) and budget.mind_mode(world.pk) == "llm"
    world.refresh_from_db()
    assert world.settings["daily_tokens"] == 5000
    entry = AuditEntry.objects.get(world=world, action="budget_set")
    assert entry.detail == {"daily_tokens": 5000, "was": None}
    town("set", "0", "--world", str(world.pk))  # 0: no limit at all
    spend(world, 10**6)
    budget.forget(world.pk)
    assert budget.budget_left(world.pk)


def test_reset_starts_todays_count_again(world):
    spend(world, 1500)
    assert not budget.budget_left(world.pk)
    said = town("reset", "--world", str(world.pk))
    assert "0 tokens spent today" in said
    assert budget.budget_left(world.pk) and budget.mind_mode(world.pk) == "llm"
    assert AuditEntry.objects.get(world=world, action="budget_reset").detail == {
        "spent_before": 1500
    }
    spend(world, 1000)  # spending after the reset counts again
    budget.forget(world.pk)
    assert not budget.budget_left(world.pk)


def test_a_limit_raised_elsewhere_is_noticed_and_the_spent_flag_goes(world, monkeypatch):
    spend(world, 1200)
    assert not budget.budget_left(world.pk) and budget.mind_mode(world.pk) == "offline"
    # Another process raises the limit in the database; this one's cache keeps its flag …
    World.objects.filter(pk=world.pk).update(settings={"daily_tokens": 10_000})
    assert cache.get(budget._spent_key(world.pk))
    monkeypatch.setattr(budget, "REFRESH", 0)  # … until its figures are a few seconds old
    assert budget.budget_left(world.pk)
    assert budget.mind_mode(world.pk) == "llm"


def test_bad_limits_are_refused_and_change_nothing(world):
    for bad in (["set"], ["set", "-5"], ["reset", "7"]):
        with pytest.raises(CommandError):
            town(*bad, "--world", str(world.pk))
    for bad in (-1, 2.5, True, "100"):
        with pytest.raises(services.BadBudget):
            services.set_daily_tokens(world, bad)
    world.refresh_from_db()
    assert "daily_tokens" not in world.settings
    assert not AuditEntry.objects.filter(action__startswith="budget").exists()


async def mind_of_a_new_page(base_url: str) -> tuple[int, str]:
    sock = NetSocket(base_url)
    hello, _ = await sock.open()
    await sock.ws.close()
    return hello["world"], hello["mind"]


async def until_mind(base_url: str, mode: str, timeout: float) -> int:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        world, mind = await mind_of_a_new_page(base_url)
        if mind == mode:
            return world
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"the page still says {mind!r}, not {mode!r}")
        await asyncio.sleep(0.5)


def manage(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_raising_the_budget_from_a_second_process_brings_a_running_town_back(
    town_process,
):
    fake = FakeOpenAI().start()
    try:
        env = {
            "LLM_BASE_URL": fake.url,
            "LLM_API_KEY": "sk-test",
            "MIND_DAILY_TOKENS": "1",  # spent by the first call
        }
        running = town_process(env).start()
        await asyncio.to_thread(running.wait_ready)
        world = await until_mind(running.url, "offline", 60)
        assert fake.requests, "the residents never asked the model"

        shown = await asyncio.to_thread(manage, running.env, "town", "budget")
        assert shown.returncode == 0, shown.stderr
        assert "daily limit 1 tokens (MIND_DAILY_TOKENS)" in shown.stdout
        refused = await asyncio.to_thread(manage, running.env, "town", "budget", "set", "many")
        assert refused.returncode == 2 and "invalid int value" in refused.stderr

        asked = len(fake.requests)
        raised = await asyncio.to_thread(
            manage, running.env, "town", "budget", "set", "10000000", "--world", str(world)
        )
        assert raised.returncode == 0, raised.stderr
        assert "daily limit 10,000,000 tokens" in raised.stdout
        # The town, a separate process with its own cache, notices within a few seconds.
        await until_mind(running.url, "llm", 10)
        # (Texts embedded before come from the embedding cache: the first call that goes
        # out may wait for a new conversation or memory.)
        for _ in range(180):
            if len(fake.requests) > asked:
                break
            await asyncio.sleep(0.5)
        assert len(fake.requests) > asked  # the residents think through the model again
    finally:
        fake.stop()
