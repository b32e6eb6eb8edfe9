"""What a hostile visitor can do over HTTP and at sign-up (issue #20, docs/security.md).

Each finding is reproduced as it was tried: guessing a staff password at /admin/login/,
control characters in URLs and forms, tracebacks on DEBUG pages, WebSocket handshakes on
unknown paths and from other origins, look-alike usernames, reset links in the log and
sign-up confirming which e-mail addresses exist. Django's test client where that is
enough; a live `runtown` for the sockets and the log.
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import logging
import re
import urllib.error
import urllib.parse
import urllib.request

import pytest
import websockets
from django.contrib.auth.models import User
from django.core import mail
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.test import Client
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

from accounts.adapter import AccountAdapter
from accounts.mail import UnsentMailBackend
from config.middleware import origin_allowed
from tests.netclient import NetSocket, make_sessions, run
from town import views

PASSWORD = "lanterns over the harbour 7"


def stranger() -> Client:
    """A client from a public address; errors come back as responses, not exceptions."""
    return Client(raise_request_exception=False, REMOTE_ADDR="203.0.113.9")


def healthy(client: Client) -> bool:
    return client.get("/healthz").status_code == 200


# -- 3. staff passwords cannot be guessed without limit ---------------------------------


@pytest.mark.django_db
def test_admin_login_is_limited_like_every_sign_in(settings):
    del settings.ACCOUNT_RATE_LIMITS  # the tests switch limits off; allauth's defaults here
    cache.clear()
    User.objects.create_user("warden", "warden@example.com", PASSWORD, is_staff=True)
    client = stranger()
    for attempt in range(8):
        client.post("/admin/login/", {"username": "warden", "password": f"guess {attempt}"})
        client.post("/accounts/login/", {"login": "warden", "password": f"guess {attempt}"})
    # The right password now opens neither form: the admin's sends to allauth's, which
    # refuses while the failed attempts are counted.
    resp = client.post("/admin/login/", {"username": "warden", "password": PASSWORD})
    assert resp.status_code == 302 and resp["Location"].startswith("/accounts/login/")
    resp = client.post("/accounts/login/", {"login": "warden", "password": PASSWORD})
    assert resp.status_code == 200 and b"Too many failed login attempts" in resp.content
    assert client.get("/admin/").status_code == 302  # still not signed in
    assert healthy(client)


@pytest.mark.django_db
def test_staff_still_reach_the_admin_through_the_sign_in_page():
    User.objects.create_user("warden", "warden@example.com", PASSWORD, is_staff=True)
    client = stranger()
    resp = client.get("/admin/")
    assert resp.status_code == 302
    resp = client.get(resp["Location"])
    assert resp.status_code == 302
    assert resp["Location"] == "/accounts/login/?next=%2Fadmin%2F"
    resp = client.post(resp["Location"], {"login": "warden", "password": PASSWORD})
    assert resp.status_code == 302 and resp["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_a_signed_in_player_at_the_admin_gets_a_refusal_not_a_redirect_loop():
    User.objects.create_user("pip", "pip@example.com", PASSWORD)
    client = stranger()
    client.post("/accounts/login/", {"login": "pip", "password": PASSWORD})
    resp = client.get("/admin/login/?next=/admin/")
    assert resp.status_code == 403 and b"Not allowed" in resp.content


@pytest.mark.django_db
def test_admin_login_never_redirects_off_site():
    resp = stranger().get("/admin/login/?next=https://evil.example/")
    assert resp["Location"] == "/accounts/login/?next=%2Fadmin%2F"


# -- 4. control characters in URLs and forms: a 400, never a traceback -------------------

BAD_URLS = [
    "/?x=%00",
    "/accounts/login/?next=%00",
    "/worlds/1/replay/?t=%00",
    "/api/worlds/1/players/%00/",
    "/api/worlds/1/conversations/%00/messages/",
    "/api/worlds/1/conversations/c1/messages/?before=%00",
    "/api/worlds/1/history/?from=%7f",
    "/?%00=1",
    "/?x=%07",  # bell
    "/?x=%1b%5b2J",  # escape: clears a terminal that tails the log
    "/?x=a%0d%0aSet-Cookie:%20x=1",
    "/accounts/%00/",
    "/static/%00",
]


@pytest.mark.django_db
@pytest.mark.parametrize("url", BAD_URLS)
def test_control_characters_in_a_url_get_a_plain_400(url):
    client = stranger()
    resp = client.get(url)
    assert resp.status_code == 400, (url, resp.status_code)
    body = resp.content.decode()
    assert "could not be read" in body
    assert "Traceback" not in body and "SECRET_KEY" not in body
    assert healthy(client)


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["mira\x00", "mi\x1bra", "\x7fmira", "mi\x08ra"])
def test_control_characters_in_a_form_get_a_400_and_change_nothing(value):
    client = stranger()
    resp = client.post(
        "/accounts/signup/",
        {"username": value, "email": "m@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert resp.status_code == 400
    assert not User.objects.exists()
    assert healthy(client)


@pytest.mark.django_db
def test_a_line_break_in_a_form_field_is_the_forms_business_not_a_400():
    resp = stranger().post("/accounts/login/", {"login": "two\nlines", "password": "x\ty"})
    assert resp.status_code == 200 and b"not correct" in resp.content


@pytest.fixture
def broken_view(monkeypatch):
    """A view that fails with a secret in its message."""

    def fail(*args, **kwargs):
        raise RuntimeError("hidden-detail-4711")

    monkeypatch.setattr(views.selectors, "player_detail", fail)


@pytest.mark.django_db
def test_with_debug_on_strangers_get_the_plain_500_page(settings, broken_view):
    settings.DEBUG = True
    resp = stranger().get("/api/worlds/1/players/p1/")
    assert resp.status_code == 500
    body = resp.content.decode()
    assert "Something went wrong" in body
    for leak in ("hidden-detail-4711", "Traceback", "SECRET_KEY", "DATABASES"):
        assert leak not in body
    # Also when the visitor asks for text, and when a proxy forwards a loopback request.
    resp = stranger().get("/api/worlds/1/players/p1/", HTTP_ACCEPT="text/plain")
    assert resp.status_code == 500 and "hidden-detail" not in resp.content.decode()
    proxied = Client(raise_request_exception=False, HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert "hidden-detail" not in proxied.get("/api/worlds/1/players/p1/").content.decode()


@pytest.mark.django_db
def test_with_debug_on_loopback_and_staff_still_see_the_traceback(settings, broken_view):
    settings.DEBUG = True
    local = Client(raise_request_exception=False, REMOTE_ADDR="127.0.0.1")
    assert "hidden-detail-4711" in local.get("/api/worlds/1/players/p1/").content.decode()
    staff = stranger()
    staff.force_login(User.objects.create_user("warden", "w@example.com", is_staff=True))
    assert "hidden-detail-4711" in staff.get("/api/worlds/1/players/p1/").content.decode()


@pytest.mark.django_db
def test_with_debug_on_strangers_get_the_plain_404_page(settings):
    settings.DEBUG = True
    for url in ("/no/such/page/", "/worlds/987654/"):
        resp = stranger().get(url)
        assert resp.status_code == 404
        body = resp.content.decode()
        assert "Nothing here" in body
        assert "URLconf" not in body and "admin/" not in body
    local = Client(raise_request_exception=False, REMOTE_ADDR="127.0.0.1")
    assert "URLconf" in local.get("/no/such/page/").content.decode()


@pytest.mark.django_db
def test_error_pages_are_the_towns_own():
    resp = stranger().get("/no/such/page/")
    assert resp.status_code == 404 and b"Hearthvale" in resp.content


# -- 5. WebSocket origins: scheme, host and port, exactly ------------------------------


def ws_scope(origin: str | None, host: str | None = "127.0.0.1:8000", **extra) -> dict:
    headers = [] if host is None else [(b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    return {"type": "websocket", "scheme": "ws", "headers": headers, **extra}


@pytest.mark.parametrize(
    "origin,host",
    [
        ("http://127.0.0.1:8000", "127.0.0.1:8000"),
        ("http://localhost:8000", "localhost:8000"),
        ("http://[::1]:8000", "[::1]:8000"),
        ("http://127.0.0.1", "127.0.0.1:80"),  # a default port is left out of an Origin
        ("HTTP://LOCALHOST:8000", "localhost:8000"),
        ("http://127.0.0.1", None),  # in-process clients send no Host
    ],
)
def test_the_pages_own_origin_is_allowed(origin, host):
    assert origin_allowed(ws_scope(origin, host))


@pytest.mark.parametrize(
    "origin,host",
    [
        ("http://localhost:9999", "127.0.0.1:8000"),
        ("http://127.0.0.1:9999", "127.0.0.1:8000"),
        ("https://127.0.0.1:8000", "127.0.0.1:8000"),
        ("http://localhost:8000", "127.0.0.1:8000"),
        ("http://[::1]:8000", "127.0.0.1:8000"),
        ("http://[::1]:9999", "[::1]:8000"),
        ("http://127.0.0.1.evil.com:8000", "127.0.0.1:8000"),
        ("http://evil.com:8000", "evil.com:8000"),  # DNS rebinding: not an allowed host
        ("null", "127.0.0.1:8000"),
        ("ws://127.0.0.1:8000", "127.0.0.1:8000"),
        ("http://127.0.0.1:8000/page", "127.0.0.1:8000"),
        ("http://user@127.0.0.1:8000", "127.0.0.1:8000"),
        ("http://127.0.0.1:99999", "127.0.0.1:8000"),
        ("", "127.0.0.1:8000"),
        (None, "127.0.0.1:8000"),
        ("http://127.0.0.1:8000", None),  # no Host: only the default port
    ],
)
def test_other_origins_are_refused(origin, host):
    assert not origin_allowed(ws_scope(origin, host))


def test_two_origin_headers_are_refused():
    scope = ws_scope("http://127.0.0.1:8000")
    scope["headers"].append((b"origin", b"http://evil.com"))
    assert not origin_allowed(scope)


def test_https_origin_behind_a_trusted_tls_proxy(settings):
    settings.ALLOWED_HOSTS = ["town.example.com"]
    scope = ws_scope("https://town.example.com", "town.example.com")
    assert not origin_allowed(scope)  # the proxy's word is not trusted by default
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    scope["headers"].append((b"x-forwarded-proto", b"https"))
    assert origin_allowed(scope)
    assert not origin_allowed(dict(scope, headers=[*scope["headers"][:1], scope["headers"][2]]))
    assert origin_allowed(ws_scope("https://town.example.com", "town.example.com", scheme="wss"))


def test_csrf_trusted_origins_are_allowed_exactly(settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://play.example.com", "https://*.example.org"]
    assert origin_allowed(ws_scope("https://play.example.com"))
    assert not origin_allowed(ws_scope("http://play.example.com"))
    assert not origin_allowed(ws_scope("https://play.example.com:8443"))
    assert origin_allowed(ws_scope("https://a.example.org"))
    assert not origin_allowed(ws_scope("https://example.org.evil.com"))


# -- 6. usernames --------------------------------------------------------------------------


def clean(name: str) -> str:
    return AccountAdapter().clean_username(name)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name,why",
    [
        ("p\u0430ul", "alphabets"),  # Cyrillic a among Latin letters
        ("zoe\u200b", "invisible"),  # zero-width space
        ("zo\u202eeyb", "invisible"),  # right-to-left override
        ("bell\x07", "control"),
        ("esc\x1b", "control"),
        ("admin", "reserved"),
        ("Admin.", "reserved"),
        ("Town_notice", "reserved"),
        ("staff", "reserved"),
        ("SYSTEM", "reserved"),
        ("Ada", "residents"),  # Ada Byrne's first name
        ("ada_byrne", "residents"),
        ("Br\u0430m", "alphabets"),
    ],
)
def test_misleading_usernames_are_refused(name, why):
    with pytest.raises(ValidationError) as refusal:
        clean(name)
    assert why in str(refusal.value)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name", ["0liver", "o1iver", "OLIVER", "\uff4f\uff4c\uff49\uff56\uff45\uff52", "Olíver"]
)
def test_names_like_an_existing_users_are_refused(name):
    User.objects.create_user("oliver", "o@example.com", PASSWORD)
    with pytest.raises(ValidationError):
        clean(name)


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["mira", "José", "Ελένη", "李雷", "maya_2", "ann.b"])
def test_ordinary_usernames_pass(name):
    assert clean(name) == name


@pytest.mark.django_db
def test_sign_up_stores_the_normalised_name_and_refuses_a_look_alike():
    client = stranger()
    form = {"email": "m@example.com", "password1": PASSWORD, "password2": PASSWORD}
    resp = client.post("/accounts/signup/", {**form, "username": "\uff4d\uff41\uff59\uff41"})
    assert resp.status_code == 302, resp.content[:2000]
    assert User.objects.filter(username="maya").exists()
    other = stranger()
    resp = other.post(
        "/accounts/signup/", {**form, "email": "n@example.com", "username": "m\u0430y\u0430"}
    )
    assert resp.status_code == 200 and b"alphabets" in resp.content
    assert User.objects.count() == 1


# -- 7 and 8. e-mail: no links in the log, no answer to "is this address registered?" ----


def test_without_a_mail_server_messages_are_dropped_and_only_described(caplog):
    message = EmailMessage(
        "Password Reset", "Go to /accounts/password/reset/key/abc-123/", to=["kim@example.com"]
    )
    with caplog.at_level(logging.WARNING, logger="accounts.mail"):
        assert UnsentMailBackend().send_messages([message]) == 0
    assert "e-mail not sent (no EMAIL_HOST configured)" in caplog.text
    assert "Password Reset" in caplog.text and "example.com" in caplog.text
    assert "reset/key" not in caplog.text and "kim@" not in caplog.text


SIGN_UP = {"password1": PASSWORD, "password2": PASSWORD}


@pytest.mark.django_db
def test_sign_up_does_not_say_an_address_is_taken():
    User.objects.create_user("first", "taken@example.com", PASSWORD)
    fresh = stranger().post(
        "/accounts/signup/", {**SIGN_UP, "username": "second", "email": "free@example.com"}
    )
    taken = stranger().post(
        "/accounts/signup/", {**SIGN_UP, "username": "third", "email": "taken@example.com"}
    )
    assert b"already registered" not in taken.content
    assert (taken.status_code, taken.get("Location")) == (fresh.status_code, fresh.get("Location"))
    assert fresh.status_code == 302  # and a new person is in


@pytest.mark.django_db
def test_with_mandatory_verification_the_owner_is_told_instead(settings):
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    settings.ACCOUNT_PREVENT_ENUMERATION = True
    User.objects.create_user("first", "taken@example.com", PASSWORD)
    fresh = stranger().post(
        "/accounts/signup/", {**SIGN_UP, "username": "second", "email": "free@example.com"}
    )
    taken = stranger().post(
        "/accounts/signup/", {**SIGN_UP, "username": "third", "email": "taken@example.com"}
    )
    assert (taken.status_code, taken.get("Location")) == (fresh.status_code, fresh.get("Location"))
    assert not User.objects.filter(username="third").exists()
    assert sorted(m.to[0] for m in mail.outbox) == ["free@example.com", "taken@example.com"]


# -- against a live runtown: sockets, origins and the log -----------------------------------


@pytest.fixture(scope="module")
def live(module_town_process):
    proc = module_town_process().start()
    proc.wait_ready()
    proc.sessions = make_sessions(proc.env, ["visitor"])
    yield proc
    proc.stop()


def live_healthy(live) -> bool:
    with urllib.request.urlopen(live.url + "/healthz", timeout=10) as resp:
        return resp.status == 200


async def handshake(url: str, origin: str | None, session: str | None = None) -> int:
    """The HTTP status of a WebSocket handshake: 101 when accepted."""
    headers = {"Cookie": f"sessionid={session}"} if session else {}
    try:
        ws = await websockets.connect(
            url, origin=origin, additional_headers=headers, open_timeout=15
        )
    except websockets.InvalidStatus as exc:
        return exc.response.status_code
    await ws.close()
    return 101


@pytest.mark.parametrize(
    "path", ["/ws/world/abc/", "/ws/nope/", "/ws/", "/ws/world/1/extra/", "/ws/world/-1/"]
)
def test_unknown_socket_paths_are_refused_without_a_traceback(live, path):
    ws_url = live.url.replace("http://", "ws://")
    assert run(handshake(ws_url + path, live.url)) == 403
    assert run(handshake(ws_url + "/ws/world/", live.url)) == 101  # the real path still opens
    assert live_healthy(live)
    assert "Traceback" not in live.output() and "No route found" not in live.output()


def test_socket_origins_must_match_scheme_host_and_port(live):
    ws_url = live.url.replace("http://", "ws://") + "/ws/world/"
    port = live.port
    session = live.sessions["visitor"]
    for origin in (
        f"http://localhost:{port + 1}",
        f"https://127.0.0.1:{port}",
        f"http://127.0.0.1:{port + 1}",
        f"http://localhost:{port}",  # another host than the page's own (127.0.0.1)
        f"http://[::1]:{port}",
        "http://127.0.0.1.evil.com",
        "null",
        None,
    ):
        assert run(handshake(ws_url, origin, session)) == 403, origin
        assert live_healthy(live)
    assert run(handshake(ws_url, live.url, session)) == 101
    local = f"ws://localhost:{port}/ws/world/"
    assert run(handshake(local, f"http://localhost:{port}", session)) == 101
    assert "Traceback" not in live.output()


def extensions(sock: NetSocket) -> str:
    return sock.ws.response.headers.get("Sec-WebSocket-Extensions", "")


def test_pages_that_offer_deflate_get_the_same_events_in_fewer_bytes(live):
    """permessage-deflate (issue #19): a page that offers it gets every frame compressed,
    broadcasts compressed once per process; the same events as a page without it, in fewer
    bytes; a page whose offer the server cannot share gets plain frames."""

    async def scenario() -> None:
        walker = NetSocket(live.url, live.sessions["visitor"])
        await walker.open()
        await walker.send(type="join", id="j", name="Wanda", character="kit")
        me = (await walker.ack("j"))["player"]
        packed = NetSocket(live.url)  # websockets offers deflate, as browsers do
        plain = NetSocket(live.url, compression=None)
        narrow = NetSocket(  # asks for a server window the shared frames do not fit
            live.url,
            compression=None,
            extensions=[ClientPerMessageDeflateFactory(server_max_window_bits=10)],
        )
        watchers = (packed, plain, narrow)
        for sock in watchers:
            await sock.open()
        assert "permessage-deflate" in extensions(packed)
        assert extensions(plain) == "" and extensions(narrow) == ""
        for sock in watchers:
            sock.wire_in = 0
        seen: dict[NetSocket, list[dict]] = {sock: [] for sock in watchers}
        for n, (x, y) in enumerate([(20, 20), (24, 20), (24, 24), (20, 24)]):
            await walker.send(type="move", id=f"m{n}", x=x, y=y)
            await walker.ack(f"m{n}")
            for sock in watchers:
                seen[sock].append(
                    await sock.until(lambda e: e.get("kind") == "move" and e["player"] == me)
                )
        assert seen[packed] == seen[plain] == seen[narrow]
        assert len({tuple(map(tuple, e["path"])) for e in seen[packed]}) == 4
        # The same events, fewer bytes on the wire (WebSocket headers included).
        assert packed.wire_in < 0.8 * min(plain.wire_in, narrow.wire_in)
        await asyncio.gather(*(s.close() for s in (walker, *watchers)))

    run(scenario())


def test_control_characters_over_the_wire_get_a_400(live):
    for url in ("/api/worlds/1/players/%00/", "/?x=%00", "/accounts/login/?next=%1b"):
        with pytest.raises(urllib.error.HTTPError) as refusal:
            urllib.request.urlopen(live.url + url, timeout=10)
        assert refusal.value.code == 400
        assert b"Traceback" not in refusal.value.read()
    assert live_healthy(live)
    assert "Traceback" not in live.output()


def test_a_password_reset_link_never_reaches_the_log(live):
    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = browser.open(live.url + "/accounts/password/reset/", timeout=10).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "email": "visitor@example.com"})
    with browser.open(live.url + "/accounts/password/reset/", form.encode(), timeout=30) as resp:
        assert resp.status == 200 and "/accounts/password/reset/done/" in resp.url
    log = live.output()
    assert "e-mail not sent (no EMAIL_HOST configured)" in log
    assert "/password/reset/key/" not in log and "visitor@example.com" not in log
    assert live_healthy(live)
