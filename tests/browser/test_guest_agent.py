"""The page marks a person's outside AI agent (docs/agents.md) as a guest agent."""

from __future__ import annotations

import json
import re

import pytest
import websockets
from playwright.sync_api import expect

from tests.browser.conftest import USERS
from tests.browser.test_town import close_card, open_page, sign_in
from tests.netclient import run

pytestmark = pytest.mark.browser


def test_a_guest_agent_is_marked_in_the_list_and_on_its_card(browser, pages, town):
    owner = USERS[1]
    out = town.manage("town", "agent-token", "create", owner, "--label", "Helper")
    token = re.search(r"^hv_\S+$", out, re.M).group(0)

    async def join_as_agent() -> str:
        url = town.url.replace("http://", "ws://") + "/ws/world/"
        headers = {"Authorization": f"Bearer {token}"}
        async with websockets.connect(url, additional_headers=headers) as ws:
            await ws.send(json.dumps({"type": "join", "id": "j", "name": "Helper Bot"}))
            while True:
                frame = json.loads(await ws.recv())
                if frame.get("type") in ("ack", "error") and frame.get("id") == "j":
                    assert frame["type"] == "ack", frame
                    return frame["player"]

    pid = run(join_as_agent())  # the character stays when the socket closes
    page = open_page(browser, pages, "guest-agent")
    sign_in(page, town, USERS[0])
    row = page.locator(f'[data-testid=player-item][data-player-id="{pid}"]')
    expect(row).to_contain_text("Helper Bot")
    expect(row).to_contain_text("guest agent")
    row.click()
    expect(page.get_by_test_id("card-kind")).to_have_text("Guest agent")
    close_card(page)
    page.context.close()
