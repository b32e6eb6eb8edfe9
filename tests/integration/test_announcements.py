"""Announcements from the staff panel and the command line reach every open page."""

from __future__ import annotations

import io
import json

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client

from tests.wsclient import Socket

pytestmark = [pytest.mark.django_db(transaction=True)]


def post_as(username: str, staff: bool, world_id: int, body: str) -> tuple[int, dict]:
    user = User.objects.create_user(username, f"{username}@example.com", "pw-for-tests-1")
    user.is_staff = staff
    user.save()
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get("/")  # sets the CSRF cookie, as the page does
    resp = client.post(
        f"/api/worlds/{world_id}/announce/",
        body,
        content_type="application/json",
        HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value,
    )
    return resp.status_code, resp.json()


async def test_staff_announcement_shows_on_every_open_page(town):
    watcher = Socket(town.pk)
    await watcher.open()
    body = json.dumps({"text": "A storm is coming tonight"})
    status, data = await database_sync_to_async(post_as)("sam", True, town.pk, body)
    assert status == 200 and data["residents"] >= 8
    notice = await watcher.until(lambda e: e.get("kind") == "announcement")
    assert notice["text"] == "A storm is coming tonight"
    status, data = await database_sync_to_async(post_as)("pat", False, town.pk, body)
    assert status == 403
    status, data = await database_sync_to_async(post_as)("kai", True, town.pk, "not json")
    assert status == 400
    await watcher.close()


async def test_town_announce_command(town):
    def run(*args: str) -> str:
        out = io.StringIO()
        call_command("town", "announce", *args, "--world", str(town.pk), stdout=out)
        return out.getvalue()

    said = await database_sync_to_async(run)("The market opens early")
    assert "residents heard it" in said
    with pytest.raises(CommandError):
        await database_sync_to_async(run)("   ")
