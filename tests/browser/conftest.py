"""Browser tests: Playwright driving the system Chromium against a real `runtown` subprocess.

One town server and one browser for the whole session; pages are shared per module. Playwright
never downloads a browser: we launch Debian's Chromium by path. Without one the tests are
skipped locally and fail on CI (env `CI` set), where Chromium is installed.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, TownProcess, copy_pgdata, free_port  # noqa: F401 - ROOT: for the browser tests

os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}
PASSWORD = "lantern-and-scones-42"
STAFF = "warden"
USERS = ("bob", "cora-fan")


def find_chromium() -> str | None:
    candidates = [
        os.environ.get("CHROMIUM_PATH", ""),
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
    ]
    candidates += [shutil.which(n) or "" for n in ("chromium", "chromium-browser", "google-chrome")]
    for path in candidates:
        if path and os.access(path, os.X_OK):
            return path
    return None


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="package")
def chromium_path() -> str:
    path = find_chromium()
    if path is None:
        message = "no Chromium found (/usr/bin/chromium); install it or set CHROMIUM_PATH"
        if os.environ.get("CI"):
            pytest.fail(f"{message} — browser tests must run on CI", pytrace=False)
        pytest.skip(message)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("playwright is not installed", pytrace=False)
        pytest.skip("playwright is not installed")
    return path


class Town:
    """The server under test; can be killed and started again on the same port and var dir."""

    def __init__(self, var_dir: Path):
        self.var_dir = var_dir
        self.port = free_port()
        self.proc: TownProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Town:
        # TOWN_TESTING: fast password hashing and no sign-in rate limits, as in the test settings.
        self.proc = TownProcess(self.var_dir, self.port, {"TOWN_TESTING": "1"}).start()
        self.proc.wait_ready()
        return self

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.stop(9)

    def manage(self, *args: str) -> str:
        assert self.proc is not None
        return self.proc.manage(*args).stdout


@pytest.fixture(scope="package")
def town(chromium_path, tmp_path_factory, migrated_pgdata) -> Iterator[Town]:
    var_dir = tmp_path_factory.mktemp("browser-town")
    copy_pgdata(migrated_pgdata, var_dir)
    server = Town(var_dir).start()
    server.manage(
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model as g\n"
        "U = g()\n"
        f"U.objects.create_user({STAFF!r}, '{STAFF}@example.org', {PASSWORD!r}, is_staff=True)\n"
        f"for n in {USERS!r}: U.objects.create_user(n, n + '@example.org', {PASSWORD!r})\n",
    )
    yield server
    if server.proc and server.proc.proc and server.proc.proc.poll() is None:
        server.proc.stop(2)


@pytest.fixture(scope="package")
def browser(chromium_path) -> Iterator:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=15_000)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Watch:
    """Console errors and uncaught page errors of one page."""

    def __init__(self, page, name: str):
        self.name = name
        self.errors: list[str] = []
        self.allowed: list[re.Pattern] = []
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on(
            "console",
            lambda msg: (
                self.errors.append(f"console.{msg.type}: {msg.text}")
                if msg.type == "error"
                else None
            ),
        )

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(p.search(e) for p in self.allowed)]


class Pages:
    """Every page the tests open, so each test can check that none logged an error."""

    def __init__(self):
        self.watches: list[Watch] = []

    def watch(self, page, name: str) -> Watch:
        w = Watch(page, name)
        self.watches.append(w)
        return w

    def allow(self, *patterns: str) -> None:
        """Errors a test causes on purpose (a killed server, a failing endpoint)."""
        for w in self.watches:
            w.allowed += [re.compile(p) for p in patterns]

    def check_and_reset(self) -> list[str]:
        found = [f"[{w.name}] {e}" for w in self.watches for e in w.unexpected()]
        for w in self.watches:
            w.errors.clear()
            w.allowed.clear()
        return found


@pytest.fixture(scope="package")
def pages() -> Pages:
    return Pages()


@pytest.fixture(autouse=True)
def no_console_errors(request, pages):
    yield
    found = pages.check_and_reset()
    if found and getattr(request.node, "rep_call_passed", False):
        pytest.fail("the page logged errors:\n" + "\n".join(found), pytrace=False)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    rep = yield
    if rep.when == "call":
        item.rep_call_passed = rep.passed
    return rep
