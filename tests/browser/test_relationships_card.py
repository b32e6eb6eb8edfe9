"""The character card shows staff what a resident thinks of the people it talked with; other
visitors never ask for it nor see it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import STAFF
from tests.browser.test_town import close_card, goto_town, open_page, sign_in

pytestmark = pytest.mark.browser

RELATIONS = re.compile(r"/api/worlds/\d+/players/[^/]+/relationships/$")
ROWS = [
    {
        "id": "h7",
        "name": "Ana",
        "kind": "human",
        "opinion": "Keeps bees on the hill; <b>kind</b>.",
        "last_summary": "Ana keeps bees.",
        "last_when": "day 1, 09:12",
        "talks": 2,
    }
]


def a_resident(page: Page) -> str:
    return page.evaluate(
        "() => [...window.__town.store.players.values()].find((p) => p.kind === 'agent').id"
    )


def test_staff_see_what_a_resident_thinks_of_people(browser, pages, town):
    page = open_page(browser, pages, "staff-relations")
    sign_in(page, town, STAFF)
    asked = []

    def answer(route) -> None:
        asked.append(route.request.url)
        route.fulfill(status=200, json={"relationships": ROWS})

    page.route(RELATIONS, answer)
    rid = a_resident(page)
    page.locator(f'[data-testid=player-item][data-player-id="{rid}"]').click()
    section = page.get_by_test_id("card-relationships")
    expect(section).to_be_visible()
    row = page.get_by_test_id("card-relationship")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Ana")
    expect(row).to_contain_text("2 conversations")
    expect(row).to_contain_text("Keeps bees on the hill; <b>kind</b>.")  # as text, not markup
    assert asked and f"/players/{rid}/relationships/" in asked[0]
    page.unroute_all()
    close_card(page)
    page.context.close()


def test_spectators_neither_ask_for_nor_see_relationships(browser, pages, town):
    page = open_page(browser, pages, "spectator-relations")
    goto_town(page, town.url + "/")
    asked = []
    page.route(RELATIONS, lambda route: (asked.append(route.request.url), route.abort()))
    rid = a_resident(page)
    page.locator(f'[data-testid=player-item][data-player-id="{rid}"]').click()
    expect(page.get_by_test_id("card")).to_be_visible()
    expect(page.get_by_test_id("card-relationships")).to_be_hidden()
    # The card's details have arrived, so its fetches (sent together on opening) went out.
    expect(page.locator(".card__identity")).not_to_have_text("Getting to know them…")
    assert asked == []
    close_card(page)
    page.context.close()
