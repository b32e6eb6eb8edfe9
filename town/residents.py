"""Residents while the world runs: add, edit and retire them without a wipe or a restart.

Each action validates, writes the resident's `Player` row and an audit record, then (after
the commit) hands the running engine an ordinary logged input: `join` to add, `update_player`
to edit, `leave` to retire, so recovery and replay see them like any other input. An engine
that was not running (a frozen world) or missed the message catches up when it next loads
the world (`pending_inputs`). The minds re-read their residents when the version kept in the
cache changes (`residents_version`), so no worker needs a restart.
"""

from __future__ import annotations

import logging
import re
import time
import tomllib
import uuid
from pathlib import Path
from typing import Any

from django.core.cache import cache
from django.db import transaction

from town import control, engine, persistence, selectors
from town.engine import TownMap
from town.models import Input, Player, World
from town.services import NotFound, WrongState, audit
from town.signals import resident_changed

log = logging.getLogger(__name__)

ID_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
HUMAN_ID = re.compile(r"^h\d+$")  # a person's character id (town.groups.human_pid)
MAX_NAME = 40  # Player.name
MAX_IDENTITY = 4000
MAX_ACTIVITY = 120
MAX_TRAITS = 200
FIELDS = ("id", "name", "character", "identity", "home", "routine", "traits", "age")
ENGINE_FIELDS = ("name", "character", "identity")  # what the engine's player holds
PLAN_FIELDS = ("home", "routine")  # a change makes the mind plan the day again


class InvalidResident(WrongState):
    """A resident definition or change was refused; the message says why."""


# -- validation ----------------------------------------------------------------------------


def load_spec_file(path: str | Path) -> dict:
    """One resident from a TOML file: the fields at the top, or one [[resident]] table."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidResident(f"cannot read {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InvalidResident(f"{path} is not valid TOML: {exc}") from None
    tables = data.get("resident")
    if tables is None:
        return data
    if not isinstance(tables, list) or len(tables) != 1 or len(data) != 1:
        raise InvalidResident(f"{path} must hold exactly one [[resident]] (or the fields alone)")
    return tables[0]


def validate(spec: dict, town_map: TownMap, characters: list[str]) -> dict:
    """A cleaned resident definition (the residents.toml schema), or InvalidResident."""
    unknown = sorted(set(spec) - set(FIELDS))
    if unknown:
        raise InvalidResident(f"unknown field(s) {', '.join(unknown)}; known: {', '.join(FIELDS)}")
    pid = spec.get("id")
    if not isinstance(pid, str) or not ID_PATTERN.match(pid) or HUMAN_ID.match(pid):
        raise InvalidResident(
            "id must be 1-32 lowercase letters, digits, - or _, starting with a letter "
            "(and not h<number>, which people use)"
        )
    out: dict[str, Any] = {"id": pid}
    out["name"] = _text(spec.get("name"), "name", MAX_NAME)
    out["identity"] = _text(spec.get("identity"), "identity", MAX_IDENTITY)
    character = spec.get("character")
    if character not in characters:
        raise InvalidResident(
            f"unknown sprite {character!r}; one of: {', '.join(characters)} "
            "(static/sprites/characters.json)"
        )
    out["character"] = character
    areas = town_map.areas
    home = spec.get("home")
    if home is not None:
        if home not in areas:
            raise InvalidResident(f"unknown home area {home!r}; areas: {', '.join(sorted(areas))}")
        out["home"] = home
    if spec.get("routine") is not None:
        out["routine"] = _routine(spec["routine"], areas)
    if spec.get("traits") is not None:
        out["traits"] = _text(spec["traits"], "traits", MAX_TRAITS, required=False)
    age = spec.get("age")
    if age is not None:
        if isinstance(age, bool) or not isinstance(age, int) or not 0 <= age <= 150:
            raise InvalidResident("age must be a whole number from 0 to 150")
        out["age"] = age
    if "home" not in out and not out.get("routine"):
        raise InvalidResident("give a home area or a routine, so the resident knows where to go")
    return out


def _text(value: object, field: str, limit: int, required: bool = True) -> str:
    if not isinstance(value, str) or (required and not value.strip()):
        raise InvalidResident(f"{field} is required (text)")
    value = " ".join(value.split()) if field == "name" else value.strip()
    if len(value) > limit:
        raise InvalidResident(f"{field} is longer than {limit} characters")
    return value


def _routine(routine: object, areas: dict) -> list[dict]:
    if not isinstance(routine, list) or len(routine) > 24:
        raise InvalidResident("routine must be a list of at most 24 {hour, area, activity} entries")
    out, hours = [], set()
    for n, entry in enumerate(routine, 1):
        if not isinstance(entry, dict) or set(entry) - {"hour", "area", "activity"}:
            raise InvalidResident(f"routine entry {n}: only hour, area and activity are allowed")
        hour = entry.get("hour")
        if isinstance(hour, bool) or not isinstance(hour, int) or not 0 <= hour <= 23:
            raise InvalidResident(f"routine entry {n}: hour must be a whole number from 0 to 23")
        if hour in hours:
            raise InvalidResident(f"routine entry {n}: hour {hour} appears twice")
        hours.add(hour)
        if entry.get("area") not in areas:
            raise InvalidResident(
                f"routine entry {n}: unknown area {entry.get('area')!r}; "
                f"areas: {', '.join(sorted(areas))}"
            )
        activity = entry.get("activity")
        if not isinstance(activity, str) or not activity.strip():
            raise InvalidResident(f"routine entry {n}: activity is required (text)")
        if len(activity.strip()) > MAX_ACTIVITY:
            raise InvalidResident(f"routine entry {n}: activity is over {MAX_ACTIVITY} characters")
        out.append({"hour": hour, "area": entry["area"], "activity": activity.strip()})
    return sorted(out, key=lambda e: e["hour"])


def check(world: World, spec: dict) -> dict:
    """`validate` plus the checks against the world's other residents (for forms)."""
    clean = _checked(world, spec)
    _unique_name(world, clean)
    return clean


def definition(row: Player) -> dict:
    """A resident row as a residents.toml entry."""
    extra = {k: v for k, v in row.data.items() if k in FIELDS}
    return {**extra, "id": row.pid, "name": row.name, "character": row.character,
            "identity": row.identity}  # fmt: skip


# -- the three actions -----------------------------------------------------------------------


@transaction.atomic
def add_resident(world: World | int, spec: dict, actor: Any = None) -> Player:
    """A new resident walks in within seconds; a retired one's id brings it back with its
    memories (fields given replace the stored ones)."""
    row = _locked(world)
    pid = spec.get("id")
    existing = row.players.filter(pid=pid).first() if isinstance(pid, str) else None
    if existing is not None and existing.kind != Player.Kind.AGENT:
        raise InvalidResident(f"{pid!r} is a person's character, not a resident")
    if existing is not None and existing.present:
        raise InvalidResident(f"{pid!r} is already in the world (edit it instead)")
    merged = {**(definition(existing) if existing else {}), **spec}
    clean = _checked(row, merged)
    _unique_name(row, clean)
    fields = _row_fields(clean)
    if existing is None:
        resident = Player.objects.create(world=row, pid=clean["id"], kind=Player.Kind.AGENT,
                                         present=True, **fields)  # fmt: skip
    else:
        resident = existing
        for name, value in fields.items():
            setattr(resident, name, value)
        resident.present = True
        resident.save(update_fields=[*fields, "present"])
        resident_changed.send(sender=resident)  # its mind plans again
    audit(row, "resident_add", actor, resident=resident.pid, readded=existing is not None)
    join = persistence.resident_join(selectors.world_meta(row), resident)
    _after_commit(row, {**join, "key": _key(resident)})
    return resident


@transaction.atomic
def edit_resident(world: World | int, resident: Player | str, changes: dict, actor: Any = None):
    """Change a resident's name, sprite, identity, home or routine; clients and the mind see
    it at once. Returns the row and the names of the fields that changed."""
    row = _locked(world)
    current = _resident(row, resident)
    if "id" in changes and changes["id"] != current.pid:
        raise InvalidResident("a resident's id cannot change")
    before = definition(current)
    clean = _checked(row, {**before, **changes})
    changed = sorted(k for k in set(clean) | set(before) if clean.get(k) != before.get(k))
    if not changed:
        return current, []
    _unique_name(row, clean)
    fields = _row_fields(clean)
    for name, value in fields.items():
        setattr(current, name, value)
    current.save(update_fields=list(fields))
    if set(changed) & set(PLAN_FIELDS):
        resident_changed.send(sender=current)  # its mind plans again
    audit(row, "resident_edit", actor, resident=current.pid, fields=changed)
    # The input also wakes a resident pausing at an activity, so a new routine shows soon.
    live = {k: clean[k] for k in ENGINE_FIELDS if k in changed}
    inp = {"type": "update_player", "actor": current.pid, "key": _key(current), **live}
    _after_commit(row, inp if current.present else None)
    return current, changed


@transaction.atomic
def retire_resident(world: World | int, resident: Player | str, actor: Any = None) -> Player:
    """The resident leaves the world (ending its conversation); its row, memories and history
    stay, and `add_resident` with its id brings it back."""
    row = _locked(world)
    current = _resident(row, resident)
    if not current.present:
        raise InvalidResident(f"{current.pid!r} is already retired")
    current.present = False
    current.save(update_fields=["present"])
    audit(row, "resident_retire", actor, resident=current.pid)
    _after_commit(row, {"type": "leave", "actor": current.pid, "key": _key(current)})
    return current


def _key(resident: Player) -> str:
    """A fresh idempotency key: every operator action is one input, applied once."""
    return f"resident:{resident.pid}:{uuid.uuid4().hex[:16]}"


def _locked(world: World | int) -> World:
    pk = world.pk if isinstance(world, World) else world
    row = World.objects.select_for_update().get(pk=pk)
    if row.status == World.Status.ARCHIVED:
        raise WrongState(f"{row.name} is archived: its residents stay as they were")
    return row


def _resident(row: World, resident: Player | str) -> Player:
    pid = resident.pid if isinstance(resident, Player) else resident
    found = row.players.filter(pid=pid, kind=Player.Kind.AGENT).first()
    if found is None:
        raise NotFound(f"there is no resident {pid!r} in {row.name}")
    return found


def _checked(row: World, spec: dict) -> dict:
    return validate(spec, selectors.town_map(row.map_name), selectors.character_names())


def _unique_name(row: World, clean: dict) -> None:
    others = row.players.filter(kind=Player.Kind.AGENT, name__iexact=clean["name"])
    clash = others.exclude(pid=clean["id"]).first()
    if clash is not None:
        state = "" if clash.present else " (retired: add it back by id instead)"
        raise InvalidResident(f"the name {clean['name']!r} is taken by {clash.pid!r}{state}")


def _row_fields(clean: dict) -> dict:
    data = {k: v for k, v in clean.items() if k not in ("id", "name", "identity")}
    return {"name": clean["name"], "character": clean["character"],
            "identity": clean["identity"], "data": data}  # fmt: skip


def _after_commit(row: World, inp: dict | None) -> None:
    """Once committed: tell the minds to re-read, and give the running engine the input."""
    world_id, running = row.pk, row.status == World.Status.RUNNING

    def send() -> None:
        try:
            cache.set(_version_key(world_id), time.time_ns(), None)
            if inp is not None and running:  # else the engine catches up when it loads
                # Through the control path (any process): the engine holding the world
                # reads what changed from the rows (pending_inputs) and applies it.
                control.send(world_id, "residents")
        except Exception as exc:  # cache or database down: minds refresh within 30 s,
            # engines catch up on their next start (pending_inputs)
            log.warning("resident change not sent to world %s's engine: %s", world_id, exc)

    transaction.on_commit(send)


# -- minds and engines catching up -----------------------------------------------------------


def _version_key(world_id: int) -> str:
    return f"town:residents:{world_id}"


def residents_version(world_id: int) -> int | None:
    """Changes whenever a world's residents change (Django's cache: shared with Redis)."""
    return cache.get(_version_key(world_id))


def pending_inputs(
    meta: selectors.WorldMeta, world: engine.World, row: World, last_input: int
) -> list[dict]:
    """Inputs that bring a freshly loaded engine in line with the residents' rows: joins for
    residents it lacks, `leave` for retired ones, `update_player` for edited ones."""
    out: list[dict] = []
    for p in row.players.filter(kind=Player.Kind.AGENT).order_by("id"):
        live = world.players.get(p.pid)
        key = f"sync:{p.pid}:{last_input}"
        if p.present and live is None:
            join = persistence.resident_join(meta, p)
            if Input.objects.filter(world=row, key=join["key"]).exists():  # joined before
                join["key"] = f"{key}:join"
            out.append(join)
        elif live is not None and live.kind == "agent" and not p.present:
            out.append({"type": "leave", "actor": p.pid, "key": f"{key}:leave"})
        elif live is not None and p.present:
            wanted = {f: getattr(p, f).strip() for f in ENGINE_FIELDS}  # as the engine keeps it
            changed = {f: v for f, v in wanted.items() if getattr(live, f) != v}
            if changed:
                out.append({"type": "update_player", "actor": p.pid, "key": f"{key}:update",
                            **changed})  # fmt: skip
    return out
