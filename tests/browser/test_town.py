"""The town in a real browser: sign-up, join, walk, talk, watch, freeze, replay, reconnect.

The tests share one server and run in file order: later ones build on the players and
conversations the earlier ones made (a failure early on fails the dependants too).
"""

from __future__ import annotations

import json
import os
import re
import time

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PASSWORD, ROOT, STAFF, VIEWPORT

pytestmark = pytest.mark.browser

NAME_HTML = "<img src=x onerror=__pwned=1>"  # 29 of the 32 characters a name may have
MSG_HTML = "Hi <img src=x onerror=window.__pwned=1> <script>window.__pwned=2</script>"
REPLY_HTML = "<b>bold?</b> <script>window.__pwned=3</script> & <i>no</i>"
SCREENSHOT = ROOT / "docs" / "screenshot.png"

READY = """() => { const t = window.__town;
  return !!(t && t.map && t.store.synced && t.store.players.size > 0); }"""


# ---- helpers ------------------------------------------------------------------------------


def open_page(browser, pages, name: str, viewport=VIEWPORT) -> Page:
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(15_000)
    pages.watch(page, name)
    return page


def goto_town(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_function(READY)


def sign_in(page: Page, town, username: str) -> None:
    page.goto(f"{town.url}/accounts/login/?next=/")
    page.fill("#id_login", username)
    page.fill("#id_password", PASSWORD)
    page.press("#id_password", "Enter")
    page.wait_for_url(f"{town.url}/")
    page.wait_for_function(READY)


def join(page: Page, name: str, sprite: int = 0) -> str:
    page.get_by_test_id("join-button").click()
    expect(page.get_by_test_id("join-dialog")).to_be_visible()
    page.get_by_test_id("join-name").fill(name)
    page.get_by_test_id("sprite-option").nth(sprite).click()
    page.get_by_test_id("join-submit").click()
    page.wait_for_function("() => window.__town.store.me != null")
    expect(page.get_by_test_id("join-dialog")).to_be_hidden()
    return page.evaluate("window.__town.store.you.player")


def me_id(page: Page) -> str:
    return page.evaluate("window.__town.store.you.player")


def close_card(page: Page) -> None:
    if page.get_by_test_id("card").is_visible():
        page.get_by_test_id("card-close").click()


def dismiss_banners(page: Page) -> None:
    dismiss = page.get_by_test_id("banner-offline-dismiss")
    if dismiss.is_visible():
        dismiss.click()


# Free walkable tiles around me, nearest to `n` steps first, well inside the visible map.
TARGETS = """(n) => {
  const t = window.__town, map = t.map, me = t.store.positionOf(t.store.you.player);
  const taken = new Set([...t.renderer.positions.values()].map((p) => `${Math.round(p.x)},${Math.round(p.y)}`));
  const x0 = Math.round(me.x), y0 = Math.round(me.y), out = [];
  for (let dy = -n; dy <= n; dy++) for (let dx = -n; dx <= n; dx++) {
    const x = x0 + dx, y = y0 + dy;
    if (Math.abs(dx) + Math.abs(dy) < 2 || x < 0 || y < 0 || x >= map.width || y >= map.height) continue;
    if (map.isBlocked(x, y) || taken.has(`${x},${y}`) || taken.has(`${x},${y + 1}`)) continue;
    const s = t.camera.worldToScreen(x * 32 + 16, y * 32 + 16);
    if (Math.abs(s.x - t.camera.viewW / 2) > t.camera.viewW * 0.4) continue;
    if (Math.abs(s.y - t.camera.viewH / 2) > t.camera.viewH * 0.35) continue;
    out.push({ x, y, d: Math.abs(Math.abs(dx) + Math.abs(dy) - n) });
  }
  return out.sort((a, b) => a.d - b.d).slice(0, 8);
}"""

PATH_ENDS_AT = """([id, x, y]) => { const p = window.__town.store.players.get(id);
  const end = p && p.path && p.path.at(-1); return !!end && end[0] === x && end[1] === y; }"""


def click_to_move(page: Page, steps: int = 4) -> tuple[int, int]:
    """Click a free tile on the canvas; returns the tile once the server sent my new path."""
    close_card(page)
    page.get_by_test_id("centre-button").click()  # follow me again, wherever the view was
    page.wait_for_timeout(100)
    box = page.locator("#town-canvas").bounding_box()
    me = me_id(page)
    for target in page.evaluate(TARGETS, steps) + page.evaluate(TARGETS, steps + 2):
        x, y = target["x"], target["y"]
        s = page.evaluate(
            "([x, y]) => window.__town.camera.worldToScreen(x * 32 + 16, y * 32 + 16)", [x, y]
        )
        page.mouse.click(box["x"] + s["x"], box["y"] + s["y"])
        try:
            page.wait_for_function(PATH_ENDS_AT, arg=[me, x, y], timeout=4000)
            return x, y
        except Exception:  # unreachable tile (no path): try the next one
            continue
    raise AssertionError("no clickable free tile made my character walk")


def wait_arrived(page: Page, pid: str, x: int, y: int, timeout: float = 15_000) -> None:
    page.wait_for_function(
        """([id, x, y]) => { const t = window.__town, p = t.store.positionOf(id), d = t.renderer.positions.get(id);
           return p && d && Math.abs(p.x - x) < 0.01 && Math.abs(p.y - y) < 0.01
             && Math.abs(d.x - x) < 0.05 && Math.abs(d.y - y) < 0.05; }""",
        arg=[pid, x, y],
        timeout=timeout,
    )


def decline_invites_except(page: Page, wanted: str | None = None) -> None:
    """Say no to invitations from anyone but `wanted` (residents like to chat with visitors)."""
    for invite in page.get_by_test_id("invite").all():
        if wanted is None or wanted not in (invite.text_content() or ""):
            invite.get_by_test_id("invite-decline").click()


def invite_until_shown(inviter: Page, invitee: Page, inviter_name: str, open_card=None):
    """The inviter presses the talk button on the invitee's card until the invitee sees the
    invitation, which is returned. A resident may invite either of them first (an
    invitation makes both busy): those are declined and the invitation is tried again."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for page in (invitee, inviter):
            decline_invites_except(page, inviter_name)
        if chat_state(inviter) != "invited":
            if open_card is not None:
                open_card()
            talk = inviter.get_by_test_id("talk-button")
            if talk.count() and talk.is_enabled():
                talk.click()
        invite = invitee.get_by_test_id("invite").filter(has_text=inviter_name)
        try:
            invite.wait_for(timeout=6000)
        except Exception:
            continue
        return invite
    raise AssertionError(f"the invitation from {inviter_name} never arrived")


def chat_state(page: Page) -> str | None:
    return page.evaluate(
        "() => { const c = document.getElementById('chat'); return c.hidden ? null : c.dataset.state; }"
    )


def msg_texts(page: Page) -> list[str]:
    return page.locator("[data-testid=chat-messages] .msg__text").all_text_contents()


# ---- pages shared by the tests ----------------------------------------------------------


@pytest.fixture(scope="module")
def state() -> dict:
    return {}


@pytest.fixture(scope="module")
def spectator(browser, pages, town) -> Page:
    page = open_page(browser, pages, "spectator")
    goto_town(page, town.url + "/")
    return page


@pytest.fixture(scope="module")
def alice(browser, pages, town) -> Page:
    """Signs up through the allauth form, then joins through the join dialog."""
    page = open_page(browser, pages, "alice")
    page.goto(town.url + "/")
    page.wait_for_function(READY)
    page.get_by_role("link", name="Sign up").first.click()
    page.wait_for_url(re.compile(r"/accounts/signup/"))
    page.fill("#id_username", "alice")
    page.fill("#id_email", "alice@example.org")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.press("#id_password2", "Enter")
    page.wait_for_url(f"{town.url}/")
    page.wait_for_function(READY)
    page.alice_id = join(page, "Alice", sprite=10)
    return page


@pytest.fixture(scope="module")
def bob(browser, pages, town) -> Page:
    page = open_page(browser, pages, "bob")
    sign_in(page, town, "bob")
    page.bob_id = join(page, NAME_HTML, sprite=12)
    return page


@pytest.fixture(scope="module")
def staff(browser, pages, town) -> Page:
    page = open_page(browser, pages, "staff")
    sign_in(page, town, STAFF)
    return page


# ---- tests --------------------------------------------------------------------------------


def test_spectator_sees_the_town_but_join_leads_to_sign_in(spectator, town):
    page = spectator
    assert page.evaluate("window.__town.store.you.player") is None
    expect(page.get_by_test_id("player-item").first).to_be_visible()
    expect(page.get_by_test_id("replay-link")).to_have_attribute("href", re.compile(r"/replay/$"))
    # A resident's card offers sign-in, not talk.
    page.get_by_test_id("player-item").first.click()
    expect(page.get_by_test_id("talk-button")).to_have_text("Sign in to talk")
    page.get_by_test_id("card-close").click()
    page.get_by_test_id("join-button").click()
    page.wait_for_url(re.compile(r"/accounts/login/\?next=/"))
    expect(page.locator("#id_login")).to_be_visible()
    page.context.close()  # every open page paints 60 frames a second: keep few


def test_sign_up_and_join_through_the_ui(alice):
    page = alice
    assert page.alice_id
    me = page.locator(f'[data-testid=player-item][data-player-id="{page.alice_id}"]')
    expect(me).to_contain_text("Alice")
    expect(me).to_contain_text("you")
    expect(page.get_by_test_id("join-button")).to_have_count(0)
    expect(page.locator(".account__name")).to_contain_text("alice")
    page.wait_for_function(
        "(id) => window.__town.renderer.positions.has(id) && window.__town.camera.zoom >= 2",
        arg=page.alice_id,
    )


def test_click_to_move_walks_the_sprite(alice):
    page = alice
    me = page.alice_id
    before = page.evaluate("(id) => window.__town.store.positionOf(id)", me)
    canvas = page.locator("#town-canvas")
    shot_before = canvas.screenshot()
    x, y = click_to_move(page, 4)
    assert (x, y) != (round(before["x"]), round(before["y"]))
    # The sprite is drawn walking, then standing on the clicked tile.
    page.wait_for_function(
        "(id) => window.__town.renderer.positions.get(id)?.moving === true", arg=me
    )
    wait_arrived(page, me, x, y)
    assert canvas.screenshot() != shot_before


def test_chat_with_a_resident_gets_a_reply(alice, state):
    page = alice
    dismiss_banners(page)
    tried: list[str] = []
    deadline = time.monotonic() + 75
    resident = None
    others = """() => { const s = window.__town.store, c = s.myConversation();
        return c ? c.participants.find((p) => p !== s.you.player) : null; }"""
    while resident is None and time.monotonic() < deadline:
        # A resident may invite us first: that is a conversation with a resident too.
        if page.get_by_test_id("invite-accept").is_visible():
            page.get_by_test_id("invite-accept").click()
        if chat_state(page) == "active":
            resident = page.evaluate(others)
            break
        if chat_state(page) == "ended":
            page.get_by_test_id("chat-close").click()
        rid = page.evaluate(
            """(tried) => { const t = window.__town, me = t.store.positionOf(t.store.you.player);
                let best = null, bd = Infinity;
                for (const p of t.store.players.values()) {
                  if (p.kind !== 'agent' || p.conversation != null || tried.includes(p.id)) continue;
                  const q = t.store.positionOf(p.id), d = Math.abs(q.x - me.x) + Math.abs(q.y - me.y);
                  if (d < bd) { bd = d; best = p.id; }
                }
                return best; }""",
            tried,
        )
        if rid is None:
            tried.clear()
            page.wait_for_timeout(500)
            continue
        tried.append(rid)
        close_card(page)
        page.locator(f'[data-testid=player-item][data-player-id="{rid}"]').click()
        talk = page.get_by_test_id("talk-button")
        if talk.count() == 0 or not talk.is_enabled():
            continue
        talk.click()
        try:
            page.wait_for_function(
                """() => { const c = document.getElementById('chat');
                   return !c.hidden && ['active', 'ended'].includes(c.dataset.state)
                     || !!document.querySelector('[data-testid=invite-accept]'); }""",
                timeout=30_000,
            )
        except Exception:
            continue  # they got busy on the way: try someone else
    assert resident, f"no resident would talk (tried {tried})"
    state["resident"] = resident
    state["resident_name"] = page.evaluate("(id) => window.__town.store.nameOf(id)", resident)
    expect(page.get_by_test_id("chat-status")).to_contain_text("Talking with")
    theirs = page.locator("[data-testid=chat-messages] .msg:not(.msg--mine)")
    said = theirs.count()
    page.get_by_test_id("chat-input").fill("Hello there!")
    page.get_by_test_id("chat-input").press("Enter")
    expect(page.locator("[data-testid=chat-messages] .msg--mine")).to_contain_text("Hello there!")
    expect(theirs).to_have_count(said + 1, timeout=30_000)
    reply = theirs.last
    expect(reply).to_contain_text(state["resident_name"])
    # The reply is also a speech bubble over the resident.
    assert page.evaluate("(id) => !!window.__town.store.bubbleFor(id, performance.now())", resident)
    if os.environ.get("UPDATE_SCREENSHOT") == "1":
        close_card(page)
        for _ in range(2):  # 1×: more of the town and its residents
            page.get_by_test_id("zoom-out").click()
        page.wait_for_timeout(700)
        page.screenshot(path=str(SCREENSHOT))
        for _ in range(2):
            page.get_by_test_id("zoom-in").click()
    page.get_by_test_id("chat-leave").click()
    expect(page.get_by_test_id("chat-status")).to_contain_text("ended")
    page.get_by_test_id("chat-close").click()


def test_second_context_sees_movement_and_messages_and_html_stays_text(alice, bob, state):
    a_id, b_id = alice.alice_id, bob.bob_id
    # Bob's name is shown literally in Alice's list, and nothing ran.
    row = alice.locator(f'[data-testid=player-item][data-player-id="{b_id}"]')
    expect(row).to_contain_text(NAME_HTML)
    assert row.locator("img").count() == 0
    # Alice walks; Bob's page sees the path and draws her there.
    x, y = click_to_move(alice, 3)
    bob.wait_for_function(PATH_ENDS_AT, arg=[a_id, x, y])
    wait_arrived(bob, a_id, x, y)

    # Bob walks over to Alice and invites her; she accepts.
    bob.locator(f'[data-testid=player-item][data-player-id="{a_id}"]').click()
    expect(bob.get_by_test_id("card")).to_contain_text("Alice")
    invite_until_shown(bob, alice, NAME_HTML).get_by_test_id("invite-accept").click()
    for page in (alice, bob):
        expect(page.get_by_test_id("chat-status")).to_contain_text("Talking with", timeout=20_000)
    expect(alice.locator("#chat-title")).to_have_text(f"With {NAME_HTML}")

    alice.get_by_test_id("chat-input").fill(MSG_HTML)
    alice.get_by_test_id("chat-send").click()
    expect(bob.locator("[data-testid=chat-messages] .msg__text").last).to_have_text(MSG_HTML)
    bob.get_by_test_id("chat-input").fill(REPLY_HTML)
    bob.get_by_test_id("chat-input").press("Enter")
    expect(alice.locator("[data-testid=chat-messages] .msg__text").last).to_have_text(REPLY_HTML)
    # Bob's line, by name (a resident nearby may have joined and spoken since).
    reply = alice.locator("[data-testid=chat-messages] .msg", has_text=REPLY_HTML).last
    expect(reply.locator(".msg__author")).to_have_text(NAME_HTML)

    # The card shows the name as text too.
    alice.locator(f'[data-testid=player-item][data-player-id="{b_id}"]').click()
    expect(alice.locator("#card-name")).to_have_text(NAME_HTML)
    close_card(alice)
    for page in (alice, bob):
        assert page.evaluate("typeof window.__pwned") == "undefined"
        assert (
            page.locator("#chat-log img, #chat-log script, #chat-log b, #people-list img").count()
            == 0
        )
    state["conversation"] = alice.evaluate("window.__town.store.myConversation().id")


def test_older_messages_load_when_scrolling_up(alice, bob, state, town, pages):
    cid = state["conversation"]
    # Six more lines (the chat limit allows a burst of five per person).
    sent = [MSG_HTML, REPLY_HTML]
    for i in range(3):
        for page, who in ((alice, "a"), (bob, "b")):
            text = f"line {i} from {who}"
            page.get_by_test_id("chat-input").fill(text)
            page.get_by_test_id("chat-input").press("Enter")
            sent.append(text)
            expect(
                page.locator("[data-testid=chat-messages] .msg--mine .msg__text").last
            ).to_have_text(text)
    expect(bob.locator("[data-testid=chat-messages] .msg__text").last).to_have_text(sent[-1])

    # A second tab of Bob's, on a short screen: the snapshot only brings the last two lines
    # and the server pages by two, so everything else must come from scrolling up.
    page = bob.context.new_page()
    page.set_viewport_size({"width": 1280, "height": 560})
    pages.watch(page, "bob-2")
    befores: list[str | None] = []

    def trim(text: str) -> str:
        frame = json.loads(text)
        if frame.get("type") == "snapshot":
            mine = [m for m in frame["messages"] if m["conversation"] == cid]
            others = [m for m in frame["messages"] if m["conversation"] != cid]
            frame["messages"] = others + mine[-2:]
        return json.dumps(frame)

    def socket(ws):
        server = ws.connect_to_server()
        server.on_message(lambda m: ws.send(trim(m) if isinstance(m, str) else m))

    def two_at_a_time(route):
        befores.append(re.search(r"before=([^&]+)", route.request.url) and route.request.url)
        response = route.fetch()
        data = response.json()
        more = data["more"] or len(data["messages"]) > 2
        route.fulfill(
            response=response, json={**data, "messages": data["messages"][-2:], "more": more}
        )

    page.route_web_socket(re.compile(r"/ws/world/"), socket)
    page.route(re.compile(rf"/conversations/{cid}/messages/"), two_at_a_time)
    page.goto(town.url + "/")
    page.wait_for_function(READY)
    log = page.locator("#chat-log")
    expect(page.get_by_test_id("chat-status")).to_contain_text("Talking with")
    # A resident in the conversation may take up a line and answer at any moment: what the
    # second tab must end up showing is what Bob's first tab shows, the lines sent among it.
    deadline = time.monotonic() + 20
    while len(msg_texts(page)) < len(msg_texts(bob)) and time.monotonic() < deadline:
        log.evaluate("(el) => { el.scrollTop = 0; el.dispatchEvent(new Event('scroll')); }")
        page.wait_for_timeout(150)
    shown = msg_texts(page)
    assert shown == msg_texts(bob)
    assert [t for t in shown if t in sent] == sent
    assert len([b for b in befores if b]) >= 2, befores
    # Nothing more to load: scrolling up again asks no more.
    asked = len(befores)
    log.evaluate("(el) => { el.scrollTop = 0; el.dispatchEvent(new Event('scroll')); }")
    page.wait_for_timeout(300)
    assert len(befores) == asked
    bob.context.close()


def test_staff_freeze_shows_the_banner_elsewhere_and_resume_clears_it(staff, alice):
    freeze = staff.get_by_test_id("freeze-button")
    expect(freeze).to_have_text("Freeze")
    freeze.click()
    expect(alice.get_by_test_id("banner-frozen")).to_be_visible()
    expect(freeze).to_have_text("Resume")
    # While frozen nothing moves: the world clock stands still.
    t0 = alice.evaluate("window.__town.store.worldNow()")
    alice.wait_for_timeout(300)
    assert alice.evaluate("window.__town.store.worldNow()") == t0
    freeze.click()
    expect(alice.get_by_test_id("banner-frozen")).to_have_count(0)
    expect(freeze).to_have_text("Freeze")


def test_staff_interview_box(staff, alice, state, pages):
    rid = state["resident"]
    # Not for ordinary players.
    alice.locator(f'[data-testid=player-item][data-player-id="{rid}"]').click()
    expect(alice.get_by_test_id("card")).to_be_visible()
    expect(alice.get_by_test_id("interview")).to_have_count(0)
    close_card(alice)

    page = staff
    held = []
    page.route(
        re.compile(r"/api/worlds/\d+/players/[^/]+/interview/$"), lambda route: held.append(route)
    )
    page.locator(f'[data-testid=player-item][data-player-id="{rid}"]').click()
    box = page.get_by_test_id("interview")
    expect(box).to_be_visible()
    page.get_by_test_id("interview-input").fill("What do you bake?")
    page.get_by_test_id("interview-ask").click()
    expect(page.get_by_test_id("interview-spinner")).to_be_visible()
    deadline = time.monotonic() + 10
    while not held and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    request = held[0].request
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    assert request.method == "POST"
    assert request.headers["x-csrftoken"] == csrf
    assert request.post_data_json == {"question": "What do you bake?"}
    held[0].fulfill(status=200, json={"answer": "<b>Scones</b>, mostly."})
    answer = page.get_by_test_id("interview-answer")
    expect(answer).to_contain_text("<b>Scones</b>, mostly.")
    expect(answer).to_have_attribute("data-state", "answered")

    pages.allow(r"status of 500")
    page.get_by_test_id("interview-ask").click()
    deadline = time.monotonic() + 10
    while len(held) < 2 and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    held[1].fulfill(status=500, json={"error": "the mind is asleep"})
    expect(answer).to_have_attribute("data-state", "error")
    expect(answer).to_contain_text("HTTP 500")
    expect(answer).to_contain_text("the mind is asleep")
    page.unroute_all()
    close_card(page)


def test_past_conversation_opens_its_transcript(staff, state):
    page = staff
    rid = state["resident"]
    page.locator(f'[data-testid=player-item][data-player-id="{rid}"]').click()
    conv = page.get_by_test_id("card-conversation").filter(has_text="with Alice").first
    expect(conv).to_be_visible()
    conv.click()
    dialog = page.get_by_test_id("transcript-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_test_id("transcript-messages")).to_contain_text("Hello there!")
    expect(dialog.locator(".msg__author").filter(has_text="Alice").first).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    close_card(page)
    page.context.close()


def test_replay_page_plays_scrubs_and_shows_the_transcript(browser, pages, town, alice):
    hello_t = alice.evaluate(
        """() => [...window.__town.store.messages.values()].flatMap((m) => [...m.values()])
               .find((m) => m.text === 'Hello there!').t"""
    )
    page = open_page(browser, pages, "replay")
    replay_url = alice.get_by_test_id("replay-link").get_attribute("href")
    page.goto(town.url + replay_url)
    page.wait_for_function(
        "() => window.__town && window.__town.map && window.__town.player.loaded && window.__town.store.players.size > 0"
    )
    expect(page.locator("#loading")).to_be_hidden()
    expect(page.get_by_test_id("replay-play")).to_have_attribute("data-state", "playing")
    expect(page.get_by_test_id("player-item").first).to_be_visible()
    t1 = page.evaluate("window.__town.player.now()")
    page.wait_for_timeout(400)
    assert page.evaluate("window.__town.player.now()") > t1

    # Pause holds the playhead.
    page.get_by_test_id("replay-play").click()
    expect(page.get_by_test_id("replay-play")).to_have_attribute("data-state", "paused")
    held = page.evaluate("window.__town.player.now()")
    page.wait_for_timeout(300)
    assert page.evaluate("window.__town.player.now()") == held

    # Scrub to just before Alice's hello (refetches the state there), play at 8×.
    target = max(0, (hello_t - 3000) // 1000 * 1000)  # the slider moves in whole seconds
    with page.expect_response(re.compile(rf"/history/\?from={target}&")):
        page.get_by_test_id("replay-timeline").evaluate(
            "(el, t) => { el.value = t; el.dispatchEvent(new Event('input')); el.dispatchEvent(new Event('change')); }",
            target,
        )
    page.wait_for_function(f"() => Math.abs(window.__town.player.now() - {target}) < 1000")
    assert "Hello there!" not in page.get_by_test_id("replay-transcript").inner_text()
    clock_before = page.get_by_test_id("replay-clock").inner_text()
    speed = page.locator("[data-testid=replay-speed][data-speed='8']")
    speed.click()
    expect(speed).to_have_attribute("aria-checked", "true")
    page.get_by_test_id("replay-play").click()
    expect(page.get_by_test_id("replay-transcript")).to_contain_text("Hello there!", timeout=10_000)
    expect(page.get_by_test_id("replay-transcript")).to_contain_text("Alice")
    assert page.evaluate("window.__town.store.players.size") > 0
    page.wait_for_function(
        "(c) => document.querySelector('[data-testid=replay-clock]').textContent !== c",
        arg=clock_before,
    )
    assert re.match(r"Day \d+ · \d\d:\d\d", page.get_by_test_id("replay-clock").inner_text())
    page.context.close()


def test_killed_server_comes_back_and_the_page_resyncs(town, alice, pages):
    pages.allow(r"WebSocket", r"ERR_CONNECTION_REFUSED", r"net::ERR_")
    page = alice
    me = page.alice_id
    page.evaluate("window.__town.store.synced = false")
    town.kill()
    expect(page.get_by_test_id("banner-reconnecting")).to_be_visible(timeout=10_000)
    town.start()
    expect(page.get_by_test_id("banner-reconnecting")).to_have_count(0, timeout=40_000)
    # A fresh snapshot arrived: state is back, and I am still me.
    page.wait_for_function(
        "(id) => { const s = window.__town.store; return s.synced && s.you.player === id && s.players.has(id) && s.players.size > 3; }",
        arg=me,
    )
    expect(page.locator(f'[data-testid=player-item][data-player-id="{me}"]')).to_contain_text("you")
    # And the world takes input again.
    x, y = click_to_move(page, 3)
    wait_arrived(page, me, x, y)
