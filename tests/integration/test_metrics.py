"""/metrics (Prometheus text), who may read it, /healthz's channel layer, JSON logs."""

from __future__ import annotations

import json
import logging
import re

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.models import User
from django.test import AsyncClient, Client

from tests.wsclient import Socket, make_user
from town.metrics import JsonFormatter

pytestmark = [pytest.mark.django_db(transaction=True)]


def value(text: str, name: str, labels: str = "") -> float:
    match = re.search(rf"^{re.escape(name + labels)} (\S+)$", text, re.M)
    assert match, f"{name}{labels} missing in:\n{text}"
    return float(match.group(1))


async def test_metrics_show_the_town_and_are_protected(town, settings):
    settings.METRICS_TOKEN = ""
    cookie = await database_sync_to_async(make_user)("tia")
    tia = Socket(town.pk, cookie)
    await tia.open()
    await tia.send(type="join", id="j", name="Tia")
    assert (await tia.ack("j"))["type"] == "ack"
    await tia.until(lambda f: f.get("type") == "events", 5)  # the engine has stepped

    local = AsyncClient()  # REMOTE_ADDR 127.0.0.1: a local scraper needs no token
    response = await local.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    text = response.content.decode()
    world = f'{{world="{town.pk}"}}'
    assert value(text, "town_connected_clients", world) == 1
    assert value(text, "town_engine_step_ms", world) >= 0
    assert value(text, "town_engine_step_avg_ms", world) >= 0
    assert value(text, "town_engine_input_queue", world) >= 0
    assert value(text, "town_inputs_total") >= 1
    assert value(text, "town_database_up") == 1
    assert "# TYPE town_jobs gauge" in text
    assert "# TYPE town_model_tokens_today gauge" in text
    assert "# TYPE town_inputs_per_second gauge" in text

    remote = Client(REMOTE_ADDR="203.0.113.7")
    assert (await database_sync_to_async(remote.get)("/metrics")).status_code == 403
    proxied = await local.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"})
    assert proxied.status_code == 403  # through a local proxy: not a local scraper

    settings.METRICS_TOKEN = "s3cret-token"
    assert (await local.get("/metrics")).status_code == 403
    bearer = await database_sync_to_async(remote.get)(
        "/metrics", headers={"Authorization": "Bearer s3cret-token"}
    )
    assert bearer.status_code == 200
    wrong = await database_sync_to_async(remote.get)(
        "/metrics", headers={"Authorization": "Bearer nope"}
    )
    assert wrong.status_code == 403
    await database_sync_to_async(make_user)("root", staff=True)
    staff = Client(REMOTE_ADDR="203.0.113.8")
    await database_sync_to_async(staff.force_login)(
        await database_sync_to_async(User.objects.get)(username="root")
    )
    assert (await database_sync_to_async(staff.get)("/metrics")).status_code == 200

    await tia.close()
    text = (await database_sync_to_async(staff.get)("/metrics")).content.decode()
    assert f"town_connected_clients{world}" not in text


async def test_healthz_reports_the_channel_layer(town):
    response = await AsyncClient().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "channel_layer": "memory"}


def test_json_log_lines():
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.getLogger("town.test").makeRecord(
            "town.test", logging.ERROR, __file__, 1, "world %s crashed", (3,), None
        )
        import sys

        record.exc_info = sys.exc_info()
    entry = json.loads(JsonFormatter().format(record))
    assert entry["level"] == "ERROR" and entry["logger"] == "town.test"
    assert entry["message"] == "world 3 crashed"
    assert "ValueError: boom" in entry["exc"]
    assert entry["time"].endswith("Z")
