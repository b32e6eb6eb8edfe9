"""A group conversation in three browsers: two people talk, a third walks up and joins from a
character card, and every line shows up in the same order on all three pages."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PASSWORD
from tests.browser.test_town import (
    READY,
    decline_invites_except,
    invite_until_shown,
    join,
    msg_texts,
    open_page,
)

pytestmark = pytest.mark.browser

PEOPLE = ("gwen", "hal", "ivy")
VIEWPORT = {"width": 1024, "height": 640}  # three pages paint at once: keep them small


@pytest.fixture(scope="module")
def trio(browser, pages, town):
    """Three signed-up people, each with a character in the town."""
    out = [open_page(browser, pages, name, viewport=VIEWPORT) for name in PEOPLE]
    for page, name in zip(out, PEOPLE, strict=True):
        sign_up(page, town, name)
        page.goto(town.url + "/", wait_until="commit")  # the three pages load side by side
    for n, (page, name) in enumerate(zip(out, PEOPLE, strict=True)):
        page.wait_for_function(READY)
        page.pid = join(page, name.title(), sprite=n + 1)
    yield out
    for page in out:
        page.context.close()


def sign_up(page: Page, town, name: str) -> None:
    """Sign up over HTTP in the page's context, so the page opens signed in."""
    url = f"{town.url}/accounts/signup/"
    form = page.request.get(url).text()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    fields = {"username": name, "email": f"{name}@example.org"}
    fields |= {"password1": PASSWORD, "password2": PASSWORD, "csrfmiddlewaretoken": token}
    done = page.request.post(url, form=fields, headers={"Referer": url})
    assert done.ok and "/accounts/signup/" not in done.url, done.url


def open_card(page: Page, pid: str) -> None:
    if page.get_by_test_id("card").is_visible():
        page.get_by_test_id("card-close").click()
    page.locator(f'[data-testid=player-item][data-player-id="{pid}"]').click()
    expect(page.get_by_test_id("card")).to_be_visible()


def start_pair(gwen: Page, hal: Page) -> None:
    """Hal invites Gwen from her card; she accepts."""
    invite = invite_until_shown(hal, gwen, "Hal", open_card=lambda: open_card(hal, gwen.pid))
    invite.get_by_test_id("invite-accept").click()


def test_a_third_person_joins_from_the_card_and_everyone_sees_the_same_talk(trio):
    gwen, hal, ivy = trio
    start_pair(gwen, hal)
    for page in (gwen, hal):
        expect(page.get_by_test_id("chat-status")).to_contain_text("Talking with", timeout=20_000)

    # Ivy opens Gwen's card: the conversation is under way, so she can join it.
    decline_invites_except(ivy)
    open_card(ivy, gwen.pid)
    button = ivy.get_by_test_id("join-conversation")
    expect(button).to_be_visible()
    button.focus()
    ivy.keyboard.press("Enter")  # works from the keyboard
    expect(ivy.get_by_test_id("chat-status")).to_contain_text("Talking with", timeout=20_000)
    names = {hal: "Hal", gwen: "Gwen", ivy: "Ivy"}  # the inviter first, then in order
    for page in trio:
        people = page.get_by_test_id("chat-participants").locator("li")
        expect(people).to_contain_text([("You" if p is page else n) for p, n in names.items()])
    expect(gwen.locator("#chat-title")).to_have_text("With Hal and Ivy")

    # All three speak at once; the server's order is everybody's order.
    lines = {gwen: "Gwen here, hello!", hal: "Hal says hi.", ivy: "Ivy joined you."}
    for page, text in lines.items():
        page.get_by_test_id("chat-input").fill(text)
    for page in trio:
        page.get_by_test_id("chat-input").press("Enter")
    seen = []
    for page in trio:
        for text in lines.values():
            expect(
                page.locator("[data-testid=chat-messages] .msg__text", has_text=text)
            ).to_have_count(1)
        seen.append([t for t in msg_texts(page) if t in lines.values()])
    assert seen[0] == seen[1] == seen[2] and sorted(seen[0]) == sorted(lines.values())

    # Ivy walks out; Gwen and Hal talk on without her.
    ivy.get_by_test_id("chat-leave").click()
    expect(ivy.get_by_test_id("chat-status")).to_have_text("You left the conversation.")
    expect(gwen.get_by_test_id("chat-participants")).not_to_be_visible()  # a pair again
    expect(gwen.locator("#chat-title")).to_have_text("With Hal")
    hal.get_by_test_id("chat-input").fill("Just us now.")
    hal.get_by_test_id("chat-input").press("Enter")
    expect(gwen.locator("[data-testid=chat-messages] .msg__text").last).to_have_text("Just us now.")
    gwen.get_by_test_id("chat-leave").click()
    expect(hal.get_by_test_id("chat-status")).to_contain_text("ended")

    # Leave the town tidy for the other browser tests.
    for page in trio:
        open_card(page, page.pid)
        page.get_by_test_id("leave-town").click()
        page.wait_for_function("() => window.__town.store.me == null")
