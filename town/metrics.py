"""Metrics for `/metrics` (Prometheus text format) and the JSON log formatter.

Each process keeps its own numbers in memory (dict updates on the hot path, nothing else)
and publishes them to the cache every few seconds, so `/metrics` on any web process shows
the whole town: with Redis every process's entry, with the in-process cache its own. The
database figures (messages and tokens today, queued jobs) are read when `/metrics` is
asked for. Importing this module touches no models (the log formatter is loaded early).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections import defaultdict

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from pythonjsonlogger.json import JsonFormatter as JsonFormatterBase

log = logging.getLogger(__name__)

PUBLISH_EVERY = 5.0  # seconds between publications of a busy process
ENTRY_TTL = 90  # seconds a process's entry outlives its last publication
REGISTRY_KEY = "town:metrics:processes"
PROCESS_KEY = f"town:metrics:proc:{socket.gethostname()}:{os.getpid()}"

connections: dict[int, int] = defaultdict(int)  # world → open sockets in this process
counters: dict[str, int] = defaultdict(int)  # inputs, chat, refused:<code>, …
# What open sockets hold in this process: connection slots (per-address and per-user limits)
# and places in the world hubs. Both go back to zero when every socket is gone, however it
# ended (the abuse tests read them).
held = {"slots": 0, "watchers": 0, "backed_up": 0}
steps: dict[int, list[float]] = {}  # world → [last ms, total ms, count, queue depth]
_published = {"at": 0.0, "inputs": 0, "inputs_at": time.monotonic(), "rate": 0.0}


def connected(world_id: int, delta: int) -> None:
    connections[world_id] += delta
    if connections[world_id] <= 0:
        del connections[world_id]


def count(name: str, n: int = 1) -> None:
    counters[name] += n


def hold(what: str, delta: int) -> None:
    held[what] += delta


def engine_step(world_id: int, ms: float, queue_depth: int) -> None:
    entry = steps.setdefault(world_id, [0.0, 0.0, 0, 0])
    entry[0] = ms
    entry[1] += ms
    entry[2] += 1
    entry[3] = queue_depth


def engine_stopped(world_id: int) -> None:
    steps.pop(world_id, None)


def local_state() -> dict:
    """This process's numbers (JSON-able)."""
    now = time.monotonic()
    elapsed = now - _published["inputs_at"]
    if elapsed >= PUBLISH_EVERY:
        _published["rate"] = (counters["inputs"] - _published["inputs"]) / elapsed
        _published["inputs"], _published["inputs_at"] = counters["inputs"], now
    return {
        "pid": os.getpid(),
        "connections": {str(w): n for w, n in connections.items()},
        "counters": dict(counters),
        "steps": {str(w): s for w, s in steps.items()},
        "inputs_per_second": round(_published["rate"], 3),
        "held": dict(held),
    }


def publish_now() -> None:
    """Write this process's entry and list it in the registry (races only cost a beat)."""
    from django.core.cache import cache

    _published["at"] = time.monotonic()
    try:
        cache.set(PROCESS_KEY, local_state(), ENTRY_TTL)
        registry = cache.get(REGISTRY_KEY) or {}
        now = time.time()
        registry = {k: t for k, t in registry.items() if now - t < ENTRY_TTL}
        registry[PROCESS_KEY] = now
        cache.set(REGISTRY_KEY, registry, None)
    except Exception as exc:  # the cache (Redis) may be down: metrics must never hurt
        log.debug("metrics not published: %s", exc)


def due() -> bool:
    return time.monotonic() - _published["at"] >= PUBLISH_EVERY


def gather() -> list[dict]:
    """Every live process's numbers: the published entries, with ours fresh."""
    from django.core.cache import cache

    states = {PROCESS_KEY: local_state()}
    try:
        registry = cache.get(REGISTRY_KEY) or {}
        others = [k for k in registry if k != PROCESS_KEY]
        states.update({k: v for k, v in cache.get_many(others).items() if v})
    except Exception as exc:
        log.debug("metrics registry unreadable: %s", exc)
    return list(states.values())


def database_figures() -> dict:
    """Chat lines and model tokens today per world, and the job queue."""
    from django.db import connection
    from django.utils import timezone

    start = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    figures: dict = {"messages": {}, "tokens": {}, "jobs": {}}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT world_id, count(*) FROM town_message WHERE created >= %s GROUP BY world_id",
            [start],
        )
        figures["messages"] = dict(cursor.fetchall())
        cursor.execute("SELECT to_regclass('agents_modelcall') IS NOT NULL")
        if cursor.fetchone()[0]:
            cursor.execute(
                "SELECT coalesce(world_id, 0), sum(tokens_in + tokens_out) FROM agents_modelcall "
                "WHERE created >= %s GROUP BY 1",
                [start],
            )
            figures["tokens"] = {w: int(n) for w, n in cursor.fetchall()}
        cursor.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL")
        if cursor.fetchone()[0]:
            cursor.execute("SELECT status::text, count(*) FROM procrastinate_jobs GROUP BY 1")
            figures["jobs"] = dict(cursor.fetchall())
    return figures


class _Gathered:
    """A prometheus_client collector over figures already gathered (one scrape)."""

    def __init__(self, families: list) -> None:
        self.families = families

    def collect(self):
        return iter(self.families)


def _family(kind: str, name: str, help_: str, samples) -> GaugeMetricFamily | CounterMetricFamily:
    samples = list(samples)
    labels = sorted({k for sample_labels, _ in samples for k in sample_labels})
    family = (CounterMetricFamily if kind == "counter" else GaugeMetricFamily)(
        name, help_, labels=labels
    )
    for sample_labels, value in samples:
        family.add_metric([str(sample_labels[k]) for k in labels], value)
    return family


def render(states: list[dict], db: dict | None) -> str:
    """The Prometheus text exposition of everything gathered (prometheus_client's)."""
    conns: dict[str, int] = defaultdict(int)
    totals: dict[str, int] = defaultdict(int)
    rate = 0.0
    worlds_steps: dict[str, list[float]] = {}
    holdings: dict[str, int] = defaultdict(int)
    for state in states:
        for what, n in state.get("held", {}).items():
            holdings[what] += n
        for w, n in state.get("connections", {}).items():
            conns[w] += n
        for name, n in state.get("counters", {}).items():
            totals[name] += n
        rate += state.get("inputs_per_second", 0.0)
        worlds_steps.update(state.get("steps", {}))
    refused = [
        ({"code": name.split(":", 1)[1]}, n)
        for name, n in sorted(totals.items())
        if name.startswith("refused:")
    ]
    steps = sorted(worlds_steps.items())
    out = [
        ("gauge", "town_processes", "Town processes reporting.", [({}, len(states))]),
        (
            "gauge",
            "town_connected_clients",
            "Open world sockets per world.",
            [({"world": w}, n) for w, n in sorted(conns.items())],
        ),
        (
            "gauge",
            "town_connection_slots",
            "Connection slots (per-address and per-user limits) held by open sockets.",
            [({}, holdings["slots"])],
        ),
        (
            "gauge",
            "town_hub_watchers",
            "Sockets receiving broadcasts through the world hubs.",
            [({}, holdings["watchers"])],
        ),
        (
            "gauge",
            "town_sockets_backed_up",
            "Sockets whose client stopped reading (broadcasts held back until it catches up).",
            [({}, holdings["backed_up"])],
        ),
        (
            "counter",
            "town_slow_clients_total",
            "Slow clients: broadcasts skipped for them, sockets dropped for not reading.",
            [
                ({"what": "events_skipped"}, totals["dropped:slow"]),
                ({"what": "dropped"}, totals["closed:slow"]),
            ],
        ),
        (
            "counter",
            "town_inputs_total",
            "Inputs forwarded to engines (processes reporting).",
            [({}, totals["inputs"])],
        ),
        ("gauge", "town_inputs_per_second", "Recent input rate.", [({}, round(rate, 3))]),
        (
            "counter",
            "town_chat_lines_total",
            "Chat lines forwarded to engines (processes reporting).",
            [({}, totals["chat"])],
        ),
        ("counter", "town_frames_refused_total", "Client frames refused.", refused),
        (
            "gauge",
            "town_engine_step_ms",
            "Duration of the engine's last step per world.",
            [({"world": w}, round(s[0], 3)) for w, s in steps],
        ),
        (
            "gauge",
            "town_engine_step_avg_ms",
            "Average engine step duration per world since the engine started it.",
            [({"world": w}, round(s[1] / s[2], 3)) for w, s in steps if s[2]],
        ),
        (
            "gauge",
            "town_engine_input_queue",
            "Inputs waiting for the engine's next step per world.",
            [({"world": w}, int(s[3])) for w, s in steps],
        ),
    ]
    if db is not None:
        out += [
            (
                "gauge",
                "town_messages_today",
                "Chat lines stored today (UTC) per world.",
                [({"world": w}, n) for w, n in sorted(db["messages"].items())],
            ),
            (
                "gauge",
                "town_model_tokens_today",
                "Model tokens spent today (UTC) per world (0: not tied to a world).",
                [({"world": w}, n) for w, n in sorted(db["tokens"].items())],
            ),
            (
                "gauge",
                "town_jobs",
                "Scheduled jobs by status (todo = queued).",
                [({"status": s}, n) for s, n in sorted(db["jobs"].items())],
            ),
        ]
    out.append(("gauge", "town_database_up", "1 if the database answered.", [({}, int(bool(db)))]))
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Gathered([_family(*metric) for metric in out]))
    return generate_latest(registry).decode()


class JsonFormatter(JsonFormatterBase):
    """One JSON object per line (python-json-logger): time (UTC), level, logger, message,
    process, and the traceback as "exc" if any."""

    converter = time.gmtime

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("fmt", "%(asctime)s %(levelname)s %(name)s %(message)s %(process)d")
        kwargs.setdefault(
            "rename_fields",
            {"asctime": "time", "levelname": "level", "name": "logger", "exc_info": "exc"},
        )
        kwargs.setdefault("datefmt", "%Y-%m-%dT%H:%M:%S")
        super().__init__(*args, **kwargs)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return super().formatTime(record, datefmt) + f".{int(record.msecs):03d}Z"
