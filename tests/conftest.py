"""Shared fixtures: the embedded PostgreSQL is started once by the settings for the whole run."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.embedded_db import pid_alive as _alive

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
        self.var_dir = var_dir
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

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """`manage.py ARGS` in a second process on this town's database (as an operator in
        another terminal); with `check`, a non-zero exit fails the test with its stderr."""
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check:
            assert done.returncode == 0, done.stderr[-3000:]
        return done

    def stop(self, sig: int = 2, timeout: float = 30.0) -> int:
        """Stop the process with `sig` (SIGKILL after `timeout`); a graceful stop also makes
        sure its embedded PostgreSQL is down once no other process of the var dir holds it."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        # A SIGKILL stands for a crash, which leaves the server running for the next process
        # to attach to (tests rely on that); after any other stop nothing should be left.
        if sig != signal.SIGKILL:
            stop_embedded_postgres(self.var_dir / "pgdata")
        return self.proc.returncode


def stop_embedded_postgres(pgdata: Path) -> bool:
    """Stop the embedded PostgreSQL of `pgdata` if it runs and no live process holds it.

    The library stops the server when its last process exits cleanly; a process killed with
    SIGKILL, or a server restarted behind the library's back (the database-fault test), is
    left running. Returns whether a server was stopped.
    """
    from config.embedded_db import forget_dead_handles

    pidfile = pgdata / "postmaster.pid"
    if not pidfile.exists() or forget_dead_handles(pgdata):
        return False
    try:
        pid = int(pidfile.read_text().splitlines()[0])
        os.kill(pid, 0)
    except (OSError, ValueError, IndexError):
        return False  # a stale pid file: nothing runs
    opts = shlex.split((pgdata / "postmaster.opts").read_text())
    owner = pgdata.stat().st_uid  # the server runs as the data directory's owner
    done = subprocess.run(
        [str(Path(opts[0]).parent / "pg_ctl"), "-D", str(pgdata), "-w", "stop", "-m", "fast"],
        user=owner if owner != os.geteuid() else None,
        capture_output=True,
        timeout=60,
    )
    if done.returncode != 0 and _alive(pid):
        os.kill(pid, signal.SIGKILL)  # its children exit when the postmaster is gone
    return True


@pytest.fixture(scope="session")
def migrated_pgdata(tmp_path_factory) -> Path:
    """An embedded PostgreSQL data directory with every migration applied, made once a session
    (per xdist worker) and copied into each new town's var dir: initdb and the migrations
    were most of a fresh `runtown`'s start. runtown still migrates (nothing left to do)."""
    var = tmp_path_factory.mktemp("migrated")
    env = {**os.environ, "TOWN_VAR_DIR": str(var)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "--verbosity", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    stop_embedded_postgres(var / "pgdata")  # the library stops it when the process exits
    return var / "pgdata"


def copy_pgdata(template: Path, var_dir: Path) -> None:
    """Give `var_dir` a copy of a stopped data directory (owner and modes kept: the server
    runs as the directory's owner), unless it has a database already."""
    if (var_dir / "pgdata").exists():
        return
    var_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cp", "-a", str(template), str(var_dir / "pgdata")], check=True, timeout=60)
    (var_dir / "pgdata" / ".handle_pids.json").unlink(missing_ok=True)


def _town_processes(tmp_path_factory, template: Path) -> Iterator:
    procs: list[TownProcess] = []

    def make(
        extra_env: dict[str, str] | None = None,
        var_dir: Path | None = None,
        fresh_database: bool = False,
    ) -> TownProcess:
        """A runtown to start; `fresh_database`: initdb and every migration on its first
        start, as on a new machine (otherwise a migrated copy, which starts faster)."""
        var_dir = var_dir or tmp_path_factory.mktemp("town")
        if not fresh_database:
            copy_pgdata(template, var_dir)
        p = TownProcess(var_dir, free_port(), extra_env)
        procs.append(p)
        return p

    yield make
    # Graceful first (each process detaches from its database), then the databases of every
    # var dir, also those of processes a test killed; one failure must not skip the rest.
    for p in procs:
        if p.proc:
            try:
                p.stop(signal.SIGINT, timeout=20)
            except Exception as exc:  # keep tearing down the others
                print(f"runtown on port {p.port} did not stop cleanly: {exc}", file=sys.stderr)
    for pgdata in {p.var_dir / "pgdata" for p in procs}:
        stop_embedded_postgres(pgdata)


@pytest.fixture
def town_process(tmp_path_factory, migrated_pgdata) -> Iterator:
    """Make runtown subprocesses, each with its own var/ (own embedded database) by default."""
    yield from _town_processes(tmp_path_factory, migrated_pgdata)


@pytest.fixture(scope="module")
def module_town_process(tmp_path_factory, migrated_pgdata) -> Iterator:
    """Like town_process, for servers shared by the tests of a module."""
    yield from _town_processes(tmp_path_factory, migrated_pgdata)


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
    try:
        yield url
    finally:
        proc.kill()
        proc.wait()


# -- parallel runs (pytest-xdist: `make test` runs `pytest -n 2`) ------------------------

# Groups that take longest on one worker, started first so that neither worker is left
# with a long group at the end (from `--durations`; a group not named here runs in file order).
SLOW_FIRST = (
    "tests/integration/test_agents_api.py",
    "tests/integration/test_abuse.py",
    "browser",
    "tests/integration/test_one_answer.py",
    "tests/integration/test_scale_out.py",
    "tests/integration/test_budget.py",
    "tests/integration/test_foundation.py",
    "tests/integration/test_control_path.py",
    "tests/integration/test_recovery.py",
    "tests/integration/test_minds.py",
    "tests/integration/test_http_security.py",
)


def worker_group(nodeid: str) -> str:
    """The tests one worker runs together: a module's (they share its live town), and all the
    browser tests (one server, one Chromium)."""
    module = nodeid.split("::")[0]
    return "browser" if module.startswith("tests/browser/") else module


def pytest_xdist_make_scheduler(config, log):
    """`-n N` (xdist's default `--dist load`) hands out whole groups. Not `--dist loadgroup`
    with xdist_group marks: xdist 3.8 renames items through an attribute pytest 9 ignores."""
    if config.getoption("dist") not in ("load", "loadgroup"):
        return None
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return worker_group(nodeid)

    return GroupScheduling(config, log)


def pytest_collection_modifyitems(config, items) -> None:
    """Under xdist, the slowest groups first (every worker sorts alike: xdist checks that)."""
    if hasattr(config, "workerinput"):

        def rank(item) -> int:
            group = worker_group(item.nodeid)
            return SLOW_FIRST.index(group) if group in SLOW_FIRST else len(SLOW_FIRST)

        items.sort(key=rank)  # stable: file order within a group


# -- session checks: no silent skips on CI, no processes left behind ---------------------

_skipped: list[str] = []
_session_problems: list[str] = []


def pytest_runtest_logreport(report) -> None:
    """Remember every skipped (or xfailed) test with its reason."""
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        reason = getattr(report, "wasxfail", None) or reason
        _skipped.append(f"{report.nodeid}: {str(reason).removeprefix('Skipped: ')}")


def _processes() -> dict[int, tuple[int, str, list[str]]]:
    """pid -> (parent pid, state, command line) of every visible process (Linux /proc)."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        out[int(entry.name)] = (
            int(fields[1]),
            fields[0],
            [a.decode(errors="replace") for a in args if a],
        )
    return out


def left_behind(basetemp: Path | None) -> dict[int, list[str]]:
    """Processes this test session started that still run (pid -> command line): its
    descendants, and PostgreSQL servers with their data directory under the session's temp
    dir (pg_ctl detaches those from us)."""
    procs = _processes()
    family = {os.getpid()}
    while True:
        children = {pid for pid, (ppid, _, _) in procs.items() if ppid in family} - family
        if not children:
            break
        family |= children
    found = {pid: procs[pid][2] for pid in family - {os.getpid()} if procs[pid][1] != "Z"}
    if basetemp is not None:
        root = str(basetemp.resolve()) + os.sep
        for pid, (_, state, args) in procs.items():
            if state != "Z" and _data_dir(args).startswith(root):
                found[pid] = args
    return found


def _data_dir(args: list[str]) -> str:
    """The `-D` directory of a postgres server's command line, else ""."""
    if args and Path(args[0]).name == "postgres" and "-D" in args[:-1]:
        return args[args.index("-D") + 1]
    return ""


@pytest.hookimpl(trylast=True)  # after the runner has torn down session fixtures
def pytest_sessionfinish(session, exitstatus) -> None:
    """Stop (and report) what the tests left running; on CI, skips and leftovers fail the run."""
    factory = getattr(session.config, "_tmp_path_factory", None)
    leftovers = left_behind(getattr(factory, "_basetemp", None))
    for pid, args in leftovers.items():
        _session_problems.append(
            f"left running by the tests, now stopped: {pid} {shlex.join(args)}"
        )
        if _data_dir(args):
            stop_embedded_postgres(Path(_data_dir(args)))
        elif _alive(pid):
            os.kill(pid, signal.SIGKILL)
    if not os.environ.get("CI"):
        return
    if _skipped:
        _session_problems.append(
            f"{len(_skipped)} test(s) skipped; on CI every test must run (install what the "
            "reason asks for, or remove the skip):"
        )
        _session_problems.extend(f"  {s}" for s in _skipped)
    if _skipped or leftovers:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter) -> None:
    """Print what pytest_sessionfinish found."""
    if _session_problems:
        terminalreporter.section("session checks", red=True)
        for line in _session_problems:
            terminalreporter.line(line)
