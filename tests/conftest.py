"""Shared fixtures: the embedded PostgreSQL is started once by the settings for the whole run."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status < 500:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


class TownProcess:
    """A real `manage.py runtown` subprocess on a free port."""

    def __init__(self, var_dir: Path, port: int, extra_env: dict[str, str] | None = None):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "TOWN_VAR_DIR": str(var_dir), "PYTHONUNBUFFERED": "1"}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        env.update(extra_env or {})
        self.env = env
        self.log_path = var_dir / f"runtown-{port}.log"  # one per process, even in a shared var/
        var_dir.mkdir(parents=True, exist_ok=True)
        self.proc: subprocess.Popen | None = None

    def start(self, *args: str) -> TownProcess:
        self.log = open(self.log_path, "ab")  # noqa: SIM115 - kept open for the process
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "runtown", "--port", str(self.port), *args],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        return self

    def wait_ready(self, timeout: float = 90.0) -> None:
        try:
            wait_for_http(self.url + "/healthz", timeout)
        except TimeoutError:
            raise TimeoutError(self.output()) from None

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = 2, timeout: float = 30.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


def _town_processes(tmp_path_factory) -> Iterator:
    procs: list[TownProcess] = []

    def make(extra_env: dict[str, str] | None = None, var_dir: Path | None = None) -> TownProcess:
        p = TownProcess(var_dir or tmp_path_factory.mktemp("town"), free_port(), extra_env)
        procs.append(p)
        return p

    yield make
    for p in procs:
        if p.proc and p.proc.poll() is None:
            p.stop(9)


@pytest.fixture
def town_process(tmp_path_factory) -> Iterator:
    """Make runtown subprocesses, each with its own var/ (own embedded database) by default."""
    yield from _town_processes(tmp_path_factory)


@pytest.fixture(scope="module")
def module_town_process(tmp_path_factory) -> Iterator:
    """Like town_process, for servers shared by the tests of a module."""
    yield from _town_processes(tmp_path_factory)


def start_redis(workdir: Path) -> tuple[subprocess.Popen, str]:
    """Debian's redis-server on a free port, without persistence; returns it and its URL."""
    port = free_port()
    proc = subprocess.Popen(
        [
            *("redis-server", "--port", str(port), "--save", "", "--appendonly", "no"),
            *("--dir", str(workdir)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    return proc, f"redis://127.0.0.1:{port}/0"


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory) -> Iterator[str]:
    """A real redis-server on a free port (Debian's package; CI installs it)."""
    if shutil.which("redis-server") is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is missing in CI")
        pytest.skip("redis-server not installed (apt-get install redis-server)")
    proc, url = start_redis(tmp_path_factory.mktemp("redis"))
    yield url
    proc.kill()
    proc.wait()
