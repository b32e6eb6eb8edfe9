"""`manage.py town …`: the operator's commands, each a thin call to one service function.

Every action writes an audit record (in the service). Refusals (wrong state, unknown names)
exit with status 1 and say why; usage mistakes exit with status 2.
"""

from __future__ import annotations

import getpass
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count, Q
from django.utils.timesince import timesince

from town import clock, headless, maintenance, selectors, services, transfer
from town.models import Player, World

ACTIONS = {
    "init": "create a fresh default world (map + residents) and make it current",
    "status": "worlds, players online, engines, heartbeats, spending, jobs",
    "freeze": "stop a world's engine and minds until `resume`",
    "resume": "restart a frozen world",
    "kick": "restart a stuck world's engine and minds",
    "archive": "stop a world for good (its data stays readable and replayable)",
    "wipe": "delete ALL town data (needs --yes)",
    "run": "fast-forward a world headless by N steps (no engine may hold it)",
    "fork": "copy a world with its memories into a new one",
    "load-history": "seed residents' memories from a CSV file",
    "interview": "ask a resident a question",
    "announce": "tell the whole town something (residents remember it and re-plan)",
    "export": "dump a world as JSON lines",
    "forget": "remove a person's messages and the memories of them",
    "music": "make a new background track now (--now)",
    "vacuum": "prune old history and inputs, expire stale leases, VACUUM",
}


class Command(BaseCommand):
    help = "Operate the town: " + ", ".join(ACTIONS)

    def add_arguments(self, parser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        sub = {
            name: actions.add_parser(name, help=text, description=text)
            for name, text in ACTIONS.items()
        }
        for name in sorted(set(ACTIONS) - {"init", "wipe", "fork", "forget", "vacuum"}):
            sub[name].add_argument("--world", type=int, help="world id (default: current)")
        sub["init"].add_argument("--name", default="Hearthvale")
        sub["wipe"].add_argument("--yes", action="store_true", help="really delete everything")
        sub["wipe"].add_argument("--i-know-this-is-production", action="store_true")
        sub["run"].add_argument("--steps", type=int, required=True)
        sub["fork"].add_argument("source", type=int, help="id of the world to copy")
        sub["fork"].add_argument("name", help="name of the new world")
        sub["load-history"].add_argument("file", help="CSV: name, memories separated by ;")
        sub["interview"].add_argument("agent", help="resident id or name")
        sub["interview"].add_argument("question")
        sub["announce"].add_argument("text", help='e.g. "A storm is coming tonight"')
        sub["export"].add_argument("--output", "-o", help="file (default: standard output)")
        sub["forget"].add_argument("--user", required=True, help="username")
        sub["music"].add_argument("--now", action="store_true", required=True)

    def handle(self, *args, action: str, **options) -> None:
        self.actor = f"cli:{getpass.getuser()}"
        method = getattr(self, "do_" + action.replace("-", "_"))
        try:
            method(**options)
        except (services.WrongState, services.Unavailable) as exc:
            raise CommandError(str(exc)) from None
        except LookupError as exc:  # NotFound, UnknownResident, DoesNotExist
            raise CommandError(f"not found: {exc}") from None
        except World.DoesNotExist:
            which = options.get("world") or options.get("source")
            raise CommandError(f"there is no world {which}") from None

    # -- helpers -----------------------------------------------------------------------

    def world(self, options: dict) -> World:
        world = selectors.world_or_current(options.get("world"))
        if world is None:
            if options.get("world") is None:
                raise CommandError("there is no current world: create one with `town init`")
            raise CommandError(f"there is no world {options['world']}")
        return world

    def ok(self, text: str) -> None:
        self.stdout.write(self.style.SUCCESS(text))

    # -- actions -----------------------------------------------------------------------

    def do_init(self, name: str, **options) -> None:
        world = services.init_world(name, actor=self.actor)
        residents = world.players.filter(kind=Player.Kind.AGENT).count()
        self.ok(
            f"Created world #{world.pk} {world.name} with {residents} residents; it is current."
        )

    def do_freeze(self, **options) -> None:
        world = services.freeze_world(self.world(options).pk, actor=self.actor)
        self.ok(f"Froze {world.name} (#{world.pk}): its engine stops and its residents rest.")

    def do_resume(self, **options) -> None:
        world = services.resume_world(self.world(options).pk, actor=self.actor)
        self.ok(f"Resumed {world.name} (#{world.pk}).")

    def do_kick(self, **options) -> None:
        world = self.world(options)
        outcome = services.kick_world(world.pk, actor=self.actor)
        self.ok(f"Kicked {world.name} (#{world.pk}): {outcome}.")

    def do_archive(self, **options) -> None:
        world = services.archive_world(self.world(options).pk, actor=self.actor)
        self.ok(f"Archived {world.name} (#{world.pk}); it stays readable at /worlds/{world.pk}/.")

    def do_wipe(self, yes: bool, i_know_this_is_production: bool, **options) -> None:
        if not yes:
            raise CommandError("wipe deletes every world and all town data; add --yes to do it")
        if not settings.DEBUG and not i_know_this_is_production:
            raise CommandError(
                "this is production (DEBUG is off): add --i-know-this-is-production as well"
            )
        counts = services.wipe_town(actor=self.actor)
        summary = ", ".join(f"{n} {what}" for what, n in counts.items())
        self.ok(f"Wiped the town: {summary}. Create a new world with `town init`.")

    def do_run(self, steps: int, **options) -> None:
        world = self.world(options)
        report = headless.fast_forward(world.pk, steps, actor=self.actor)
        seconds = (report["to_ms"] - report["from_ms"]) / 1000
        self.ok(
            f"Ran {world.name} (#{world.pk}) for {steps} steps ({seconds:.0f} s of world time): "
            f"{report['inputs']} inputs, {report['events']} events; snapshot saved."
        )

    def do_announce(self, text: str, **options) -> None:
        world = self.world(options)
        heard = services.announce(world.pk, text, actor=self.actor)
        self.ok(f"Announced in {world.name} (#{world.pk}); {heard} residents heard it.")

    def do_fork(self, source: int, name: str, **options) -> None:
        fork = transfer.fork_world(source, name, actor=self.actor)
        self.ok(
            f"Forked world #{source} into #{fork.pk} {fork.name} (frozen until someone opens "
            f"/worlds/{fork.pk}/ or you resume it)."
        )

    def do_load_history(self, file: str, **options) -> None:
        world = self.world(options)
        try:
            count = services.load_history(world.pk, file, actor=self.actor)
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc.strerror or exc}") from None
        self.ok(f"Loaded {count} memories into {world.name} (#{world.pk}).")

    def do_interview(self, agent: str, question: str, **options) -> None:
        world = self.world(options)
        answer = services.interview_resident(world.pk, agent, question, actor=self.actor)
        self.stdout.write(answer)

    def do_export(self, output: str | None, **options) -> None:
        world = self.world(options)
        lines = transfer.export_world(world.pk, actor=self.actor)
        if not output:
            for line in lines:
                self.stdout.write(line)
            return
        count = 0
        with open(output, "w", encoding="utf-8") as out:
            for line in lines:
                out.write(line + "\n")
                count += 1
        self.ok(f"Exported {world.name} (#{world.pk}) to {output}: {count} lines.")

    def do_forget(self, user: str, **options) -> None:
        counts = services.forget_user(user, actor=self.actor)
        self.ok(
            f"Forgot {user}: {counts['messages']} messages removed, {counts['inputs']} inputs "
            f"and {counts['history']} history lines redacted, {counts['memories']} memories "
            "removed."
        )

    def do_music(self, **options) -> None:
        from music.services import make_track

        world = self.world(options)
        track = make_track(world.pk, force=True, actor=self.actor)
        note = ""
        if "replicate_error" in track.detail:
            note = f" (Replicate failed: {track.detail['replicate_error'][:200]})"
        self.ok(f"New {track.source} track for {world.name} (#{world.pk}): {track.file.url}{note}")

    def do_vacuum(self, **options) -> None:
        report = maintenance.run_maintenance()
        services.audit(None, "vacuum", self.actor, **{k: v for k, v in report.items()})
        self.ok(
            f"Pruned {report['history']} history events and {report['inputs']} inputs, "
            f"expired {len(report['stale_leases'])} stale leases, removed {report['old_jobs']} "
            f"old jobs, vacuumed {len(report.get('vacuumed', []))} tables."
        )

    def do_status(self, **options) -> None:
        worlds = World.objects.order_by("id")
        if options.get("world") is not None:
            worlds = worlds.filter(pk=self.world(options).pk)
        holders = services.lease_holders()
        engines = _engine_names(holders.values())
        if not worlds:
            self.stdout.write("No worlds. Create one with `town init`.")
        residents = Count("players", filter=Q(players__kind=Player.Kind.AGENT))
        for world in worlds.annotate(residents=residents):
            online = world.players.filter(kind=Player.Kind.HUMAN, present=True).count()
            state = world.status + (f" ({world.frozen_reason})" if world.frozen_reason else "")
            pid = holders.get(world.pk)
            self.stdout.write(
                self.style.MIGRATE_HEADING(
                    f"#{world.pk} {world.name}{' [current]' if world.is_current else ''}"
                )
            )
            for label, value in (
                ("status", state),
                ("players online", f"{online} (and {world.residents} residents)"),
                ("engine", engines.get(pid, f"pid {pid}") if pid else "none"),
                ("last heartbeat", _ago(world.last_heartbeat)),
                ("tokens today", _spending(world.pk)),
                ("music", _music(world.pk)),
            ):
                self.stdout.write(f"  {label:<15} {value}")
        self.stdout.write(f"jobs: {_jobs()}")


def _ago(moment) -> str:
    if moment is None:
        return "never"
    if clock.now() - moment < timedelta(seconds=60):
        return "just now"
    return f"{timesince(moment, clock.now())} ago"


def _engine_names(pids) -> dict[int, str]:
    """Backend pid → "host (application)" of the engines' lease connections."""
    from django.db import connection

    pids = list(pids)
    if not pids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, application_name, client_addr, backend_start FROM pg_stat_activity"
            " WHERE pid = ANY(%s)",
            [pids],
        )
        return {
            pid: f"pid {pid} {app or ''} from {addr or 'local socket'} since {start:%Y-%m-%d %H:%M}"
            for pid, app, addr, start in cursor.fetchall()
        }


def _spending(world_id: int) -> str:
    """Today's tokens and the daily budget, from the minds' records when they exist."""
    try:
        from agents.budget import tokens_today
    except ImportError:
        return "n/a (no minds installed)"
    try:
        spent = tokens_today(world_id)
    except Exception as exc:  # the minds' tables may not be migrated yet
        return f"n/a ({type(exc).__name__})"
    budget = getattr(settings, "MIND_DAILY_TOKENS", 0)
    return f"{spent:,} of {budget:,}" if budget else f"{spent:,} (no budget)"


def _music(world_id: int) -> str:
    from music.selectors import current_track

    track = current_track(world_id)
    if track is None:
        return "none yet"
    return f"{track.day} {track.source} {track.file.url}"


def _jobs() -> str:
    try:
        from procrastinate.contrib.django.models import ProcrastinateJob
    except ImportError:
        return "n/a"
    counts = dict(ProcrastinateJob.objects.values_list("status").annotate(n=Count("id")).order_by())
    shown = ", ".join(f"{counts.get(s, 0)} {s}" for s in ("todo", "doing", "failed"))
    return shown + f" ({counts.get('succeeded', 0)} succeeded)"
