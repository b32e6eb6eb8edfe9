"""Language: the page in the visitor's language (Django i18n, Spanish shipped) and the
residents speaking their world's language (prompts to the fake model, offline templates)."""

from __future__ import annotations

import gettext
import os
import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client

from agents import budget
from agents.mind import Mind
from agents.models import Memory
from agents.phrases import SPANISH
from agents.residents import load_town
from agents.routine import RoutineMind
from tests.fakes.openai_server import FakeOpenAI
from tests.unit.agents.helpers import HOUR, next_request, reply_request, talk
from town import services
from town.language import set_world_language, world_language
from town.models import AuditEntry, Player, World

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "locale"
SOURCES = ["templates", "static/js", "accounts", "agents", "config", "music", "town"]


@pytest.fixture
def world():
    return services.create_world("Villaverde")


@pytest.fixture
def fake_llm(settings):
    budget.reset()
    fake = FakeOpenAI().start()
    settings.LLM_BASE_URL, settings.LLM_API_KEY = fake.url, "sk-test"
    settings.LLM_TIMEOUT, settings.LLM_MAX_RETRIES = 1.0, 1
    yield fake
    fake.stop()
    budget.reset()


@pytest.fixture
def offline(settings):
    budget.reset()
    settings.LLM_BASE_URL, settings.LLM_API_KEY = "", ""


# -- the page -------------------------------------------------------------------------------


def test_home_page_follows_accept_language(world, client):
    spanish = client.get("/", HTTP_ACCEPT_LANGUAGE="es-ES,es;q=0.9").content.decode()
    assert '<html lang="es">' in spanish
    assert "Entrar en el pueblo" in spanish and "Cómo moverse" in spanish
    assert "Join the town" not in spanish
    english = Client().get("/", HTTP_ACCEPT_LANGUAGE="en-US").content.decode()
    assert '<html lang="en">' in english and "Join the town" in english


def test_sign_in_page_in_spanish(client):
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Iniciar sesión" in page  # allauth's own Spanish, in our frame
    assert "Registrarse" in page and "Saltar al contenido" in page
    assert "Skip to content" not in page


def test_language_switcher_posts_with_csrf_and_sticks(world):
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/").content.decode()
    form = re.search(r'<form class="language"[^>]*action="([^"]+)"[^>]*>(.*?)</form>', page, re.S)
    assert form, "no language switcher in the header"
    action, body = form.groups()
    assert 'name="language"' in body and 'value="es"' in body
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1)
    assert browser.post(action, {"language": "es", "next": "/"}).status_code == 403  # no token
    answer = browser.post(action, {"language": "es", "next": "/", "csrfmiddlewaretoken": token})
    assert answer.status_code == 302 and answer["Location"] == "/"
    again = browser.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="es">' in again and "Entrar en el pueblo" in again
    assert 'value="es" lang="es" selected' in again


def test_js_catalog_is_a_script_file_in_spanish(world, client):
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert '<script src="/jsi18n/" defer></script>' in page  # CSP: a file, never inline
    catalog = client.get("/jsi18n/", HTTP_ACCEPT_LANGUAGE="es")
    assert "javascript" in catalog["Content-Type"]
    text = catalog.content.decode()
    assert "Despertando a los vecinos" in text and "Entrar en el pueblo" in text
    assert "Sitio de administración" not in text  # the admin's strings stay out
    assert "Despertando" not in client.get("/jsi18n/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


# -- the residents ----------------------------------------------------------------------------


def _system(request: dict) -> str:
    return next(m["content"] for m in request["messages"] if m["role"] == "system")


def test_world_language_reaches_the_model_without_a_restart(fake_llm, world):
    ada = Player.objects.get(world=world, pid="ada")
    bram = Player.objects.get(world=world, pid="bram")
    mind = Mind(load_town(world.pk))
    set_world_language(world, "es", actor="test")
    said = mind.decide(reply_request(ada, bram, "c1", [(bram, "Hola, Ada")], 2 * HOUR))
    assert said[0]["type"] == "say"
    system = _system(fake_llm.chats("Reply")[-1])
    assert "in Spanish" in system and "Ada Byrne" in system  # names stay as they are
    mind.decide(next_request(ada, 2 * HOUR, 1, 1))
    assert "in Spanish" in _system(fake_llm.chats("DayPlan")[-1])
    end = talk(world, "c1", [(ada, "Hola, Bram"), (bram, "Buenos días, Ada")])
    mind.observe([{"kind": "conversation_ended", "t": end, "conversation": "c1"}])
    assert "in Spanish" in _system(fake_llm.chats("Summary")[-1])
    assert Memory.objects.get(agent=ada, kind="conversation").text.startswith("Hablé con Bram")

    set_world_language(world, "en", actor="test")  # the same mind, no reload
    mind.decide(reply_request(ada, bram, "c2", [(bram, "Hi Ada")], 3 * HOUR, rid="r2"))
    assert "Spanish" not in _system(fake_llm.chats("Reply")[-1])


def test_offline_mind_speaks_spanish(offline, world):
    set_world_language(world, "es", actor="test")
    ada = Player.objects.get(world=world, pid="ada")
    bram = Player.objects.get(world=world, pid="bram")
    mind = Mind(load_town(world.pk))
    t = 2 * HOUR  # 09:00, morning
    first = mind.decide(reply_request(ada, bram, "c1", [], t))[0]["text"]
    greetings = [g.format(other="Bram") for g in SPANISH["greetings"]["morning"]]
    assert any(first.startswith(g) for g in greetings), first
    mind.decide(next_request(ada, t, 1, 1))
    plan = Memory.objects.get(agent=ada, kind="plan").text
    assert plan.startswith("Mi plan para el día 1:") and "el café" in plan
    end = talk(world, "c1", [(ada, first), (bram, "Abro una panadería el viernes")], t0=t)
    mind.observe([{"kind": "conversation_ended", "t": end, "conversation": "c1"}])
    memory = Memory.objects.get(agent=ada, kind="conversation").text
    assert memory.startswith("Hablé con Bram Okafor (día 1, ") and "Bram Okafor dijo:" in memory
    goodbye = reply_request(ada, bram, "c1", [(ada, first), (bram, "Tengo que irme ya.")], t)
    answer = mind.decide({**goodbye, "id": "r9"})
    farewells = [f.format(other="Bram") for f in SPANISH["farewells"]]
    assert answer[0]["text"] in farewells and answer[-1]["type"] == "leave_conversation"


@pytest.mark.django_db(transaction=True)
async def test_routine_fallback_still_answers_on_the_workers_event_loop(world):
    """The worker runs RoutineMind on its loop, where the database cannot be read."""
    await database_sync_to_async(set_world_language)(world, "es", "test")
    town = await database_sync_to_async(load_town)(world.pk)
    ada, bram = (SimpleNamespace(pid=p, name=town.names[p], kind="agent") for p in ("ada", "bram"))
    request = reply_request(ada, bram, "c1", [], 2 * HOUR)
    residents = list(town.residents.values())
    fallback = RoutineMind(residents, town.town_map).decide(request, {})
    assert fallback[0]["type"] == "say"  # in TOWN_LANGUAGE: it cannot read the world here
    told = RoutineMind(residents, town.town_map, language="es").decide(request, {})
    assert told[0]["text"].startswith(("¡Buenos días", "Buenos días")), told


# -- operators ------------------------------------------------------------------------------


def test_cli_sets_shows_and_refuses_languages(world, capsys):
    call_command("town", "language", "ES", "--world", str(world.pk))
    assert world_language(world.pk) == "es"
    assert "speaks Spanish (es)" in capsys.readouterr().out
    call_command("town", "language", "--world", str(world.pk))
    assert capsys.readouterr().out.strip() == "es"
    with pytest.raises(CommandError, match="unknown language code 'xx'") as refused:
        call_command("town", "language", "xx", "--world", str(world.pk))
    assert refused.value.returncode == 1
    assert world_language(world.pk) == "es"  # nothing lost
    assert AuditEntry.objects.filter(action="language").count() == 1
    worlds = World.objects.count()
    with pytest.raises(CommandError, match="unknown language code"):
        call_command("town", "init", "--language", "klingon")
    assert World.objects.count() == worlds  # refused before anything was made
    call_command("town", "init", "--name", "Pueblo", "--language", "es")
    assert world_language(World.objects.get(name="Pueblo")) == "es"


def test_admin_changes_the_language_through_the_service(world, client):
    client.force_login(User.objects.create_superuser("root", "r@example.com", "pw-for-tests-1"))
    page = client.get(f"/admin/town/world/{world.pk}/change/").content.decode()
    assert 'name="language"' in page
    fields = {"name": world.name, "map_name": world.map_name, "seed": "0", "settings": "{}"}
    answer = client.post(f"/admin/town/world/{world.pk}/change/", {**fields, "language": "es"})
    assert answer.status_code == 302
    assert world_language(world.pk) == "es"
    entry = AuditEntry.objects.get(action="language")
    assert entry.actor.username == "root" and entry.detail == {"language": "es", "was": "en"}


# -- the shipped translation ----------------------------------------------------------------


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m[1], m[1]), text)


def _po(path: Path) -> dict:
    """A .po file as msgid (or (msgid, n) for plural forms) → msgstr; fuzzy ones → ""."""
    entries: dict = {}
    fields: dict[str, str] = {}
    field, fuzzy, next_fuzzy = "", False, False

    def store() -> None:
        for name, value in fields.items():
            if name.startswith("msgstr") and fields.get("msgid"):
                n = re.search(r"\[(\d)\]", name)
                msgid = _unescape(fields["msgid"])
                key = (msgid, int(n[1])) if n else msgid
                entries[key] = "" if fuzzy else _unescape(value)

    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#,") and "fuzzy" in line:
            next_fuzzy = True
        elif match := re.match(r'^(msgid|msgid_plural|msgstr(?:\[\d\])?) "(.*)"$', line):
            if match[1] == "msgid":
                store()
                fields, fuzzy, next_fuzzy = {}, next_fuzzy, False
            field = match[1]
            fields[field] = match[2]
        elif line.startswith('"') and field:
            fields[field] += line[1:-1]
    store()
    return entries


@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_spanish_is_complete_and_compiled(domain, tmp_path, settings, monkeypatch):
    if shutil.which("xgettext") is None:
        if os.environ.get("CI"):
            pytest.fail("gettext is missing in CI")
        pytest.skip("gettext not installed (apt-get install gettext)")
    shipped = _po(LOCALE / "es" / "LC_MESSAGES" / f"{domain}.po")
    untranslated = [k for k, v in shipped.items() if not v]
    assert not untranslated, f"untranslated or fuzzy in {domain}.po: {untranslated}"
    with open(LOCALE / "es" / "LC_MESSAGES" / f"{domain}.mo", "rb") as mo:
        compiled = {k: v for k, v in gettext.GNUTranslations(mo)._catalog.items() if k != ""}
    assert compiled == shipped, f"{domain}.mo is older than {domain}.po: run compilemessages"
    # The strings in the sources now, extracted as `makemessages` would: from a copy, since
    # makemessages writes into any locale/ folder above the files it reads.
    src = tmp_path / "src"
    for part in SOURCES:
        skip = shutil.ignore_patterns("__pycache__", "maps", "migrations", "*.png", "*.tmj")
        shutil.copytree(ROOT / part, src / part, ignore=skip)
    settings.LOCALE_PATHS = [src / "locale"]
    monkeypatch.chdir(src)
    call_command("makemessages", locale=["es"], domain=domain, no_location=True, verbosity=0)
    extracted = _po(src / "locale" / "es" / "LC_MESSAGES" / f"{domain}.po")
    wanted = {k if isinstance(k, str) else k[0] for k in extracted}
    have = {k if isinstance(k, str) else k[0] for k in shipped}
    assert not wanted - have, f"new strings to translate in {domain}.po: {sorted(wanted - have)}"
    assert not have - wanted, f"strings no longer used in {domain}.po: {sorted(have - wanted)}"
