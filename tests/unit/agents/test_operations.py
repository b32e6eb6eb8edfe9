"""Operators: interviews (command line and staff-only HTTP), seeding memories from the
research CSV format, and forgetting a person's words."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from agents import services
from agents.embedding import Embedder
from agents.memory import remember
from agents.models import Memory
from town.models import Player

from .helpers import human, talk

pytestmark = pytest.mark.django_db

HISTORY = (
    "Name,Whisper\n"
    'Ada Byrne,"Ada is planning a Friday music night at the cafe;'
    'Ada thinks Mae plays the fiddle beautifully"\n'
    'bram,"Bram lost his reading glasses in the park"\n'
    'Nobody Here,"ignored"\n'
)


def test_load_history_seeds_memories_in_the_research_format(offline, world, tmp_path):
    path = tmp_path / "history.csv"
    path.write_text(HISTORY)
    assert services.load_history(world, path) == 3
    ada = Memory.objects.filter(agent__pid="ada", source="history")
    assert sorted(m.text for m in ada) == [
        "Ada is planning a Friday music night at the cafe",
        "Ada thinks Mae plays the fiddle beautifully",
    ]
    assert all(m.embedding is not None and m.embedder == "hash-v1" for m in ada)


def test_interview_answers_from_memory_on_the_command_line(offline, world, tmp_path, capsys):
    path = tmp_path / "history.csv"
    path.write_text(HISTORY)
    call_command("minds", "load-history", str(path))
    assert "Stored 3 memories" in capsys.readouterr().out
    call_command("minds", "interview", "Ada", "What do you think of Mae?")
    assert "fiddle" in capsys.readouterr().out


def test_interview_through_the_model(fake_llm, world, tmp_path):
    path = tmp_path / "history.csv"
    path.write_text(HISTORY)
    services.load_history(world, path)
    answer = services.interview(world, "bram", "Where are your glasses?")
    # The answer is the model's (streamed); the question and Bram's own memories reach it.
    assert answer == "I am not sure what to say."
    prompt = fake_llm.chats()[-1]["messages"][-1]["content"]
    assert "Where are your glasses?" in prompt
    remembered = prompt.split("What you remember:")[1].split("An interviewer asks")[0]
    assert "glasses" in remembered


def test_interview_endpoint_is_for_staff_only(offline, world):
    url = f"/api/worlds/{world.pk}/players/ada/interview/"
    body = json.dumps({"question": "How is the cafe?"})
    client = Client(enforce_csrf_checks=True)
    assert client.post(url, body, content_type="application/json").status_code == 403
    guest = User.objects.create_user("guest", "g@example.com", "pw-for-tests-1")
    client.force_login(guest)
    assert client.post(url, body, content_type="application/json").status_code == 403
    staff = User.objects.create_user("boss", "b@example.com", "pw-for-tests-1", is_staff=True)
    client.force_login(staff)
    # CSRF-protected as usual: without the token, refused
    assert client.post(url, body, content_type="application/json").status_code == 403
    client.get("/")  # sets the csrftoken cookie
    token = client.cookies["csrftoken"].value
    ok = client.post(url, body, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert ok.status_code == 200 and ok.json()["answer"].startswith("I'm Ada Byrne")
    bad = client.post(url, "{}", content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert bad.status_code == 400
    assert (
        client.post(url, "nope", content_type="text/plain", HTTP_X_CSRFTOKEN=token).status_code
        == 400
    )
    missing = f"/api/worlds/{world.pk}/players/nobody/interview/"
    assert (
        client.post(
            missing, body, content_type="application/json", HTTP_X_CSRFTOKEN=token
        ).status_code
        == 404
    )
    assert client.get(url).status_code == 405


def test_forget_user_removes_their_words_and_what_was_drawn_from_them(
    offline, mind, world, settings
):
    ada = Player.objects.get(world=world, pid="ada")
    bram = Player.objects.get(world=world, pid="bram")
    ana, user = human(world, "ana", "Ana")
    end = talk(world, "c1", [(ana, "My secret: I'm opening a bakery"), (ada, "Ooh")])
    mind.observe([{"kind": "conversation_ended", "t": end, "conversation": "c1"}])
    end = talk(world, "c2", [(bram, "The roof leaks"), (ada, "Oh no")], t0=end)
    mind.observe([{"kind": "conversation_ended", "t": end, "conversation": "c2"}])
    kept = Memory.objects.get(agent=ada, conversation__cid="c2")
    settings.MIND_REFLECTION_THRESHOLD = 1
    mind.reflect_if_due("ada", end)
    derived = remember(
        ada.pk,
        "reflection",
        "Ana has a secret",
        6,
        end,
        Embedder(),
        evidence=[Memory.objects.get(agent=ada, conversation__cid="c1").pk],
    )
    assert services.forget_user(user) >= 2
    assert not Memory.objects.filter(text__contains="bakery").exists()
    assert not Memory.objects.filter(pk=derived.pk).exists()
    assert Memory.objects.filter(pk=kept.pk).exists()
