"""Every write to the town goes through one named function here.

Views, consumers, admin actions and management commands all call these; each does the
write, its audit record and the realtime notice. Notices travel the control path
(town/control.py): a NOTIFY inside the transaction, delivered to every town process when it
commits, whichever process made the change.
"""

from __future__ import annotations

import time
import tomllib
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Q

from town import clock, control
from town.groups import human_pid
from town.lease import lease_holders
from town.models import AuditEntry, HistoryEvent, Input, Message, Player, World, WorldSnapshot

RESIDENTS_FILE = settings.BASE_DIR / "town" / "data" / "residents.toml"


IDLE = "idle"  # frozen for having no visitors: the next heartbeat thaws it
OPERATOR = "operator"  # frozen by a person: only `resume` restarts it
FORGOTTEN = "[forgotten]"


class WrongState(Exception):
    """The world is not in a state that allows this action."""


class NotFound(LookupError):
    """No such world, person or resident."""


def load_residents() -> list[dict]:
    """The default residents, from the editable data file."""
    if not RESIDENTS_FILE.exists():
        return []
    return tomllib.loads(RESIDENTS_FILE.read_text())["resident"]


@transaction.atomic
def create_world(name: str, *, make_current: bool = True, seed: int = 0) -> World:
    """A fresh world with the default map and residents."""
    if make_current:
        World.objects.filter(is_current=True).update(is_current=False)
    world = World.objects.create(
        name=name, is_current=make_current, map_name=settings.TOWN_MAP, seed=seed
    )
    for resident in load_residents():
        Player.objects.create(
            world=world,
            pid=resident["id"],
            kind=Player.Kind.AGENT,
            name=resident["name"],
            character=resident["character"],
            identity=resident.get("identity", ""),
            data={k: v for k, v in resident.items() if k not in {"id", "name", "identity"}},
        )
    return world


def ensure_default_world() -> World:
    """Return the current world, creating the default one if there is none."""
    with transaction.atomic():
        world = World.objects.select_for_update().filter(is_current=True).first()
        if world is not None:
            return world
    return create_world("Hearthvale")


def init_world(name: str = "Hearthvale", *, actor: Any = None) -> World:
    """A fresh default world (map and residents), made the current one."""
    world = create_world(name, make_current=True)
    World.objects.filter(pk=world.pk).update(last_heartbeat=clock.now())
    audit(world, "init", actor, name=name)
    control.send(world.pk, "init")
    return world


def record_heartbeat(world_id: int) -> bool:
    """Someone is watching: keep the world running, and thaw it if it froze for being idle.

    One UPDATE on the usual path; the thaw path runs only for an idle-frozen world.
    """
    now = clock.now()
    watched = (
        World.objects.filter(pk=world_id)
        .exclude(status=World.Status.FROZEN, frozen_reason=IDLE)
        .update(last_heartbeat=now)
    )
    if watched:
        return False
    thawed = World.objects.filter(
        pk=world_id, status=World.Status.FROZEN, frozen_reason=IDLE
    ).update(status=World.Status.RUNNING, frozen_reason="", last_heartbeat=now)
    if not thawed:
        return False
    world = World.objects.get(pk=world_id)
    audit(world, "thaw", "visitor")
    control.send(world_id, "thaw")  # the engine that starts it tells the pages
    return True


def audit(world: World | None, action: str, actor: Any = None, **detail: Any) -> None:
    """Write one audit record: who did what to which world."""
    user = actor if getattr(actor, "pk", None) else None
    label = actor.get_username() if user else str(actor or "system")
    AuditEntry.objects.create(
        world=world, actor=user, actor_label=label, action=action, detail=detail
    )


def broadcast_events(world_id: int, events: list[dict], *, status: str | None = None) -> None:
    """Send non-engine events (announcements, music) to every page watching a world.

    Through the control path, so it reaches the pages from any process; inside a
    transaction the events go out when it commits.
    """
    data = {"status": status} if status else {}
    control.send(world_id, "events", events=events, **data)


def publish_music(world_id: int, url: str | None) -> None:
    """Make `url` the world's current track: stored on the world, told to every page.

    Music calls this when it made a track; the snapshot reads the stored URL, so the
    world never asks music for it. Inside a transaction the pages hear it on commit.
    """
    world = World.objects.filter(pk=world_id).only("clock_ms").first()
    if world is None:
        raise NotFound(f"there is no world {world_id}")
    World.objects.filter(pk=world_id).update(music_url=url or "")
    broadcast_events(world_id, [{"kind": "music", "t": world.clock_ms, "url": url}])


def _freeze(world: World, actor: Any, reason: str) -> World:
    world.status, world.frozen_reason = World.Status.FROZEN, reason
    world.save(update_fields=["status", "frozen_reason"])
    audit(world, "freeze", actor, reason=reason)
    control.send(world.pk, "freeze", t=world.clock_ms)  # its engine stops and tells the pages
    return world


@transaction.atomic
def freeze_world(world_id: int, *, actor: Any = None, reason: str = OPERATOR) -> World:
    """Stop a world's engine and minds; visitors thaw it only if it froze for being idle."""
    world = World.objects.select_for_update().get(pk=world_id)
    if world.status != World.Status.RUNNING:
        raise WrongState(f"{world.name} is {world.status}, not running")
    return _freeze(world, actor, reason)


@transaction.atomic
def resume_world(world_id: int, *, actor: Any = None) -> World:
    """Restart a frozen world (it counts as watched, so the idle pause waits a full timeout)."""
    world = World.objects.select_for_update().get(pk=world_id)
    if world.status != World.Status.FROZEN:
        raise WrongState(f"{world.name} is {world.status}, not frozen")
    world.status, world.frozen_reason = World.Status.RUNNING, ""
    world.last_heartbeat = clock.now()
    world.save(update_fields=["status", "frozen_reason", "last_heartbeat"])
    audit(world, "resume", actor)
    # No status for the pages yet: the engine that starts the world announces `running`
    # once it takes inputs, so nobody's move goes to an engine that is not there.
    control.send(world.pk, "resume")
    return world


def _idle_since(cutoff) -> Q:
    return Q(last_heartbeat__lt=cutoff) | Q(last_heartbeat__isnull=True, created__lt=cutoff)


def freeze_idle_worlds(*, actor: Any = "idle-job") -> list[int]:
    """Freeze every running world nobody has watched for TOWN_IDLE_TIMEOUT seconds."""
    cutoff = clock.now() - timedelta(seconds=settings.TOWN_IDLE_TIMEOUT)
    candidates = World.objects.filter(status=World.Status.RUNNING).filter(_idle_since(cutoff))
    frozen = []
    for world_id in candidates.values_list("id", flat=True):
        with transaction.atomic():
            # Checked again under the row lock: a heartbeat may have arrived meanwhile.
            world = (
                World.objects.select_for_update()
                .filter(pk=world_id, status=World.Status.RUNNING)
                .filter(_idle_since(cutoff))
                .first()
            )
            if world is not None:
                _freeze(world, actor, IDLE)
                frozen.append(world_id)
    return frozen


def kick_world(world_id: int, *, actor: Any = None, wait: float = 10.0) -> str:
    """Restart a stuck world's engine and minds; returns what happened, for the operator.

    The world is briefly frozen so its engine lets go of the lease (that is how we see it
    stopped), then set running again so an engine starts it from the last snapshot.
    """
    with transaction.atomic():
        world = World.objects.select_for_update().get(pk=world_id)
        if world.status != World.Status.RUNNING:
            raise WrongState(f"{world.name} is {world.status}, not running: resume it instead")
        World.objects.filter(pk=world_id).update(status=World.Status.FROZEN, frozen_reason=OPERATOR)
    holder = lease_holders().get(world_id)
    control.send(world_id, "kick")  # its engine stops quietly; the minds re-read residents
    outcome = "no engine was running it; engines were asked to start it"
    if holder is not None:
        outcome = "its engine stopped and starts again from the last snapshot"
        if not _lease_freed(world_id, wait):
            # The engine does not answer: close its lease connection so the lease frees.
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [holder])
            outcome = "its engine did not answer; its lease connection was closed"
    with transaction.atomic():
        World.objects.filter(pk=world_id).update(
            status=World.Status.RUNNING, frozen_reason="", last_heartbeat=clock.now()
        )
        world.refresh_from_db()
        audit(world, "kick", actor, outcome=outcome)
        control.send(world_id, "wake")
    return outcome


def _lease_freed(world_id: int, wait: float) -> bool:
    deadline = time.monotonic() + wait
    while world_id in lease_holders():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@transaction.atomic
def archive_world(world_id: int, *, actor: Any = None) -> World:
    """Stop a world for good; its data stays readable and replayable."""
    world = World.objects.select_for_update().get(pk=world_id)
    if world.status == World.Status.ARCHIVED:
        raise WrongState(f"{world.name} is already archived")
    was = world.status
    world.status, world.frozen_reason = World.Status.ARCHIVED, ""
    world.save(update_fields=["status", "frozen_reason"])
    audit(world, "archive", actor, was=was)
    control.send(world.pk, "archive", t=world.clock_ms)
    return world


def stop_all_engines(*, wait: float = 10.0) -> None:
    """Freeze every running world and wait until no engine holds one (before a wipe)."""
    running = list(World.objects.filter(status=World.Status.RUNNING).values_list("id", flat=True))
    World.objects.filter(pk__in=running).update(status=World.Status.FROZEN, frozen_reason=OPERATOR)
    for world_id in running:
        control.send(world_id, "stop")
    if not all(_lease_freed(world_id, wait) for world_id in running):
        # Engines that did not hear us (another process, no shared channel layer): close
        # their lease connections; the worlds are frozen, so no engine takes them again.
        for pid in set(lease_holders().values()):
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])
    if held := set(lease_holders()):
        ids = ", ".join(str(i) for i in sorted(held))
        raise WrongState(f"engines still hold world(s) {ids}; stop the town and try again")


@transaction.atomic
def delete_all_worlds(*, actor: Any = None, **removed_elsewhere: int) -> dict[str, int]:
    """Delete every world and all its rows; the audit names what other apps removed too."""
    counts = {
        "worlds": World.objects.count(),
        "players": Player.objects.count(),
        "messages": Message.objects.count(),
        "inputs": Input.objects.count(),
        "history": HistoryEvent.objects.count(),
        **removed_elsewhere,
    }
    World.objects.all().delete()
    AuditEntry.objects.all().delete()
    audit(None, "wipe", actor, **counts)
    return counts


def find_user(username: str):
    """A person by username."""
    try:
        return get_user_model().objects.get_by_natural_key(username)
    except get_user_model().DoesNotExist:
        raise NotFound(f"there is no user {username!r}") from None


@transaction.atomic
def forget_user(username: str, *, actor: Any = None, **removed_elsewhere: int) -> dict[str, int]:
    """Remove what a person said in the world: chat lines, their text in inputs and history.

    What other apps removed of it first (the minds' memories: ops.services.forget_user)
    is counted in the audit record too.
    """
    user = find_user(username)
    pid = human_pid(user.pk)
    messages = Message.objects.filter(author_user=user)
    worlds = set(messages.values_list("world_id", flat=True))
    worlds |= set(Player.objects.filter(user=user).values_list("world_id", flat=True))
    removed = messages.delete()[0]
    redacted = 0
    for inp in Input.objects.filter(user=user, payload__type="say"):
        inp.payload = {**inp.payload, "text": FORGOTTEN}
        inp.save(update_fields=["payload"])
        redacted += 1
    history = HistoryEvent.objects.filter(kind="message", data__author=pid).delete()[0]
    for snap in WorldSnapshot.objects.filter(world_id__in=worlds):
        if redact_author(snap.data, pid):
            snap.save(update_fields=["data"])
    counts = {"messages": removed, "inputs": redacted, "history": history, **removed_elsewhere}
    audit(None, "forget", actor, user=username, **counts)
    # Running engines still hold the words (recent lines, conversations): they scrub them,
    # save a clean snapshot and tell their pages; pages of worlds no engine runs hear it
    # from their process's control listener.
    for world_id, t in World.objects.filter(pk__in=worlds).values_list("pk", "clock_ms"):
        control.send(world_id, "forget", author=pid, t=t)
    return counts


def redact_author(data: dict, pid: str) -> bool:
    """Replace a person's lines in a world snapshot's state with the FORGOTTEN marker."""
    changed = False
    lines = [line for conv in data.get("conversations", []) for line in conv.get("messages", [])]
    # A resident's pending reply request quotes the conversation too.
    for request in data.get("requests", []):
        lines += request.get("context", {}).get("messages", [])
    for line in lines:
        if line.get("author") == pid and line.get("text") != FORGOTTEN:
            line["text"], changed = FORGOTTEN, True
    return changed


MAX_ANNOUNCEMENT = 300


def notice_text(world_id: int, text: str) -> str:
    """An operator's notice as it will be shown; refuses an empty or overlong one, and an
    archived world."""
    text = " ".join(text.split())
    if not 1 <= len(text) <= MAX_ANNOUNCEMENT:
        raise WrongState(f"a notice is 1 to {MAX_ANNOUNCEMENT} characters")
    world = World.objects.get(pk=world_id)
    if world.status == World.Status.ARCHIVED:
        raise WrongState(f"{world.name} is archived: nobody is there to hear it")
    return text


@transaction.atomic
def record_announcement(world_id: int, text: str, *, heard: int, actor: Any = None) -> None:
    """Keep an operator's notice in the world's history and show it on every page.

    The residents' memories of it are written before, outside this transaction (the
    minds embed it through the model): ops.services.announce does both.
    """
    world = World.objects.select_for_update().get(pk=world_id)
    event = {"kind": "announcement", "t": world.clock_ms, "text": text}
    HistoryEvent.objects.create(world=world, t=world.clock_ms, kind="announcement", data=event)
    audit(world, "announce", actor, text=text, residents=heard)
    broadcast_events(world.pk, [event])  # a NOTIFY: the pages hear it on commit
