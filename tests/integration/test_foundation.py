"""The foundation: settings, pgvector, health check, accounts, and the runtown process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request

import pytest
from django.core import mail
from django.db import OperationalError, connection
from django.test import Client

from tests.conftest import ROOT

SETTINGS_PROBE = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'db': s.DATABASES['default']['HOST'], "
    "'layer': s.CHANNEL_LAYERS['default']['BACKEND'], 'debug': s.DEBUG, "
    "'key': s.SECRET_KEY, 'hosts': s.ALLOWED_HOSTS}))"
)


def probe_settings(tmp_path, **env: str) -> subprocess.CompletedProcess:
    full_env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS"}
    }
    full_env.update(
        {"DJANGO_SETTINGS_MODULE": "config.settings", "TOWN_VAR_DIR": str(tmp_path), **env}
    )
    return subprocess.run(
        [sys.executable, "-c", SETTINGS_PROBE],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_settings_follow_the_environment(tmp_path):
    out = probe_settings(
        tmp_path,
        DATABASE_URL="postgres://town:pw@db.example:5432/town",
        REDIS_URL="redis://127.0.0.1:6379/0",
        DEBUG="false",
        SECRET_KEY="k" * 50,
        ALLOWED_HOSTS="town.example",
    )
    assert out.returncode == 0, out.stderr
    assert '"db": "db.example"' in out.stdout
    assert "town.layers.TownRedisChannelLayer" in out.stdout
    assert '"debug": false' in out.stdout
    assert '"hosts": ["town.example"]' in out.stdout


def test_dev_secret_key_is_generated_once_and_kept(tmp_path):
    first = probe_settings(tmp_path, DATABASE_URL="postgres://x@localhost/x")
    second = probe_settings(tmp_path, DATABASE_URL="postgres://x@localhost/x")
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "secret_key").exists()
    assert first.stdout == second.stdout
    assert "InMemoryChannelLayer" in first.stdout


def test_production_without_secret_key_is_a_clear_error(tmp_path):
    out = probe_settings(tmp_path, DATABASE_URL="postgres://x@localhost/x", DEBUG="false")
    assert out.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in out.stderr


def test_deploy_check_is_clean_in_production(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "DEBUG"}}
    env.update(
        DEBUG="false",
        SECRET_KEY="a-long-random-production-secret-" + "x9Z" * 20,
        ALLOWED_HOSTS="town.example",
        DATABASE_URL="postgres://x@localhost/x",
        TOWN_VAR_DIR=str(tmp_path),
    )
    out = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "no issues" in out.stdout


@pytest.mark.django_db
def test_pgvector_round_trip_orders_by_cosine_distance():
    from pgvector.django import CosineDistance

    from agents.models import Memory
    from town.models import Player, World

    world = World.objects.create(name="Test")
    agent = Player.objects.create(world=world, pid="ada", kind="agent", name="Ada", character="a")
    dims = Memory._meta.get_field("embedding").dimensions

    def vec(i: int) -> list[float]:
        v = [0.0] * dims
        v[i] = 1.0
        return v

    Memory.objects.create(agent=agent, kind="observation", text="bakery", embedding=vec(0))
    Memory.objects.create(agent=agent, kind="observation", text="library", embedding=vec(1))
    nearest = Memory.objects.order_by(CosineDistance("embedding", vec(1))).first()
    assert nearest.text == "library"
    assert list(nearest.embedding) == vec(1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        assert cursor.fetchone() is not None


@pytest.mark.django_db
def test_healthz_reports_database_ok():
    resp = Client().get("/healthz")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok", "database": "ok", "channel_layer": "memory"}


@pytest.mark.django_db
def test_healthz_reports_a_broken_database(monkeypatch):
    def broken_cursor(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    resp = Client().get("/healthz")
    assert resp.status_code == 503
    assert resp.json()["status"] == "error"


@pytest.mark.django_db
def test_sign_up_log_out_and_log_in_again():
    client = Client()
    resp = client.post(
        "/accounts/signup/",
        {
            "username": "mira",
            "email": "mira@example.com",
            "password1": "a quiet harbour 42",
            "password2": "a quiet harbour 42",
        },
    )
    assert resp.status_code == 302, resp.content[:2000]
    page = client.get("/").content.decode()
    assert "mira" in page
    client.post("/accounts/logout/")
    assert "mira" not in client.get("/").content.decode()
    resp = client.post("/accounts/login/", {"login": "mira", "password": "a quiet harbour 42"})
    assert resp.status_code == 302
    assert "mira" in client.get("/").content.decode()


@pytest.mark.django_db
def test_sign_in_returns_to_the_page_it_came_from():
    from django.contrib.auth.models import User

    User.objects.create_user("oli", "oli@example.com", "tea and biscuits 9")
    resp = Client().post(
        "/accounts/login/?next=/healthz",
        {"login": "oli", "password": "tea and biscuits 9", "next": "/healthz"},
    )
    assert resp.status_code == 302
    assert resp["Location"] == "/healthz"


@pytest.mark.django_db
def test_wrong_password_is_refused():
    from django.contrib.auth.models import User

    User.objects.create_user("oli", "oli@example.com", "tea and biscuits 9")
    resp = Client().post("/accounts/login/", {"login": "oli", "password": "nope"})
    assert resp.status_code == 200
    assert b"not correct" in resp.content


@pytest.mark.django_db
def test_password_reset_sends_an_email():
    from django.contrib.auth.models import User

    User.objects.create_user("oli", "oli@example.com", "tea and biscuits 9")
    resp = Client().post("/accounts/password/reset/", {"email": "oli@example.com"})
    assert resp.status_code == 302
    assert len(mail.outbox) == 1
    assert "/accounts/password/reset/key/" in mail.outbox[0].body


@pytest.mark.django_db
def test_pages_send_a_strict_content_security_policy():
    resp = Client().get("/accounts/login/")
    assert resp.status_code == 200
    assert b'<body class="page page--account">' in resp.content  # the site's card look
    csp = resp["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp


def test_runtown_serves_and_stops_cleanly_on_sigint(town_process):
    town = town_process(fresh_database=True).start()  # initdb and migrations, as on a new machine
    town.wait_ready()
    with urllib.request.urlopen(town.url + "/", timeout=10) as resp:
        assert resp.status == 200
        assert b"<canvas" in resp.read()
    with urllib.request.urlopen(town.url + "/static/css/site.css", timeout=10) as resp:
        assert resp.status == 200
    assert f"running at http://127.0.0.1:{town.port}/" in town.output()
    assert town.stop(signal.SIGINT) == 0
    assert "The town has stopped." in town.output()


def test_second_runtown_on_a_busy_port_says_so(town_process):
    first = town_process().start()
    first.wait_ready()
    second = subprocess.run(
        [sys.executable, "manage.py", "runtown", "--port", str(first.port)],
        cwd=ROOT,
        env=first.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 1
    assert "already in use" in second.stderr
    # the first one is untouched
    with urllib.request.urlopen(first.url + "/healthz", timeout=10) as resp:
        assert resp.status == 200
    assert first.stop(signal.SIGTERM) == 0


def test_stale_database_handle_of_a_killed_process_is_recovered(town_process, tmp_path):
    town = town_process(var_dir=tmp_path / "v").start()
    town.wait_ready()
    town.proc.kill()  # no clean shutdown: leaves its handle in the pid list
    town.proc.wait()
    again = town_process(var_dir=tmp_path / "v").start()
    again.wait_ready()
    assert again.stop(signal.SIGINT) == 0
