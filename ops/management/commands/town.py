"""`manage.py town …`: the operator's commands, each a thin call to one service function
(the world's own in town/services.py, those spanning apps in ops/services.py).

Every action writes an audit record (in the service). Refusals (wrong state, unknown names)
exit with status 1 and say why; usage mistakes exit with status 2.
"""

from __future__ import annotations

import argparse
import getpass
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from django.db.models import Count, Q
from django.utils.timesince import timesince

from accounts import cli as agent_cli
from agents.bill import status_lines
from ops import services as levers
from town import clock, maintenance, residents, selectors, services, transfer
from town.language import UnknownLanguage, name_of, normalise, set_world_language, world_language
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
    "evaluate": "believability battery: plant facts, interview residents, print scores",
    "language": "show or set the language the residents think and speak in",
    "announce": "tell the whole town something (residents remember it and re-plan)",
    "export": "dump a world as JSON lines",
    "forget": "remove a person's messages and the memories of them",
    "music": "make a new background track now (--now)",
    "resident": "add, edit or retire a resident while the world runs",
    "reembed": "re-embed memories with the configured embedding model (resumable)",
    "vacuum": "prune old history and inputs, expire stale leases, VACUUM",
    "budget": "show today's model spend and limit; `set TOKENS` or `reset` it",
    "agent-token": "create (printed once), revoke or list tokens for people's AI agents",
    "mcp": "serve the MCP tools over stdio for an agent token (docs/agents.md)",
}


class Command(BaseCommand):
    help = "Operate the town: " + ", ".join(ACTIONS)

    def add_arguments(self, parser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        sub = {
            name: actions.add_parser(name, help=text, description=text)
            for name, text in ACTIONS.items()
        }
        for name in sorted(set(ACTIONS) - {"init", "wipe", "fork", "forget", "vacuum", "reembed"}):
            sub[name].add_argument("--world", type=int, help="world id (default: current)")
        sub["init"].add_argument("--name", default="Hearthvale")
        sub["init"].add_argument("--language", help="residents' language code (e.g. es)")
        sub["language"].add_argument("code", nargs="?", help="e.g. en, es, fr (none: show)")
        sub["wipe"].add_argument("--yes", action="store_true", help="really delete everything")
        sub["wipe"].add_argument("--i-know-this-is-production", action="store_true")
        sub["run"].add_argument("--steps", type=int, required=True)
        sub["fork"].add_argument("source", type=int, help="id of the world to copy")
        sub["fork"].add_argument("name", help="name of the new world")
        sub["load-history"].add_argument("file", help="CSV: name, memories separated by ;")
        sub["interview"].add_argument("agent", help="resident id or name")
        sub["interview"].add_argument("question")
        sub["evaluate"].add_argument("--fresh", action="store_true", help="a new world, no fork")
        sub["evaluate"].add_argument("--keep", action="store_true", help="keep the world it used")
        sub["evaluate"].add_argument("--answers", action="store_true", help="print every answer")
        sub["evaluate"].add_argument(
            "--via", choices=["interview", "conversation", "both"], default="both"
        )
        sub["announce"].add_argument("text", help='e.g. "A storm is coming tonight"')
        sub["export"].add_argument("--output", "-o", help="file (default: standard output)")
        sub["forget"].add_argument("--user", required=True, help="username")
        sub["music"].add_argument("--now", action="store_true", required=True)
        sub["reembed"].add_argument("--batch", type=int, default=64, help="memories per batch")
        sub["reembed"].add_argument("--world", type=int, help="only this world (default: all)")
        sub["reembed"].add_argument("--dry-run", action="store_true", help="only count")
        _resident_arguments(sub["resident"])
        agent_cli.add_arguments(sub)  # agent-token, mcp (accounts/cli.py)
        sub["budget"].add_argument("change", nargs="?", choices=["set", "reset"])
        sub["budget"].add_argument("tokens", nargs="?", type=int, help="daily limit (0: none)")

    def handle(self, *args, action: str, **options) -> None:
        self.actor = f"cli:{getpass.getuser()}"
        method = getattr(self, "do_" + action.replace("-", "_"))
        try:
            method(**options)
        except services.WrongState as exc:
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

    def do_init(self, name: str, language: str | None = None, **options) -> None:
        if language:
            language = self.language_code(language)  # refused before any world is made
        world = services.init_world(name, actor=self.actor)
        if language:
            set_world_language(world, language, actor=self.actor)
        residents = world.players.filter(kind=Player.Kind.AGENT).count()
        self.ok(
            f"Created world #{world.pk} {world.name} with {residents} residents; it is current."
        )

    def language_code(self, code: str) -> str:
        try:
            return normalise(code)
        except UnknownLanguage as exc:
            raise CommandError(str(exc)) from None

    def do_language(self, code: str | None, **options) -> None:
        world = self.world(options)
        if code is None:
            self.stdout.write(world_language(world))
            return
        language = set_world_language(world, self.language_code(code), actor=self.actor)
        self.ok(
            f"{world.name} (#{world.pk}) now speaks {name_of(language)} ({language}); "
            "residents use it from their next line."
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
        counts = levers.wipe_town(actor=self.actor)
        summary = ", ".join(f"{n} {what}" for what, n in counts.items())
        self.ok(f"Wiped the town: {summary}. Create a new world with `town init`.")

    def do_run(self, steps: int, **options) -> None:
        world = self.world(options)
        report = levers.fast_forward(world.pk, steps, actor=self.actor)
        seconds = (report["to_ms"] - report["from_ms"]) / 1000
        self.ok(
            f"Ran {world.name} (#{world.pk}) for {steps} steps ({seconds:.0f} s of world time): "
            f"{report['inputs']} inputs, {report['events']} events; snapshot saved."
        )

    def do_resident(self, change: str, **options) -> None:
        world = self.world(options)
        live = "now" if world.status == World.Status.RUNNING else "when the world runs again"
        if change == "retire":
            gone = residents.retire_resident(world, options["resident"], actor=self.actor)
            self.ok(f"Retired {gone.name} ({gone.pid}) from {world.name}: leaves {live}.")
            return
        spec = _resident_spec(options)
        if change == "add":
            added = residents.add_resident(world, spec, actor=self.actor)
            self.ok(f"Added {added.name} ({added.pid}) to {world.name}: walks in {live}.")
            return
        row, changed = residents.edit_resident(world, options["resident"], spec, actor=self.actor)
        if not changed:
            self.ok(f"{row.name} ({row.pid}) already looks like that; nothing changed.")
        else:
            self.ok(f"Edited {row.name} ({row.pid}): {', '.join(changed)}; in effect {live}.")

    def do_announce(self, text: str, **options) -> None:
        world = self.world(options)
        heard = levers.announce(world.pk, text, actor=self.actor)
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
            count = levers.load_history(world.pk, file, actor=self.actor)
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc.strerror or exc}") from None
        self.ok(f"Loaded {count} memories into {world.name} (#{world.pk}).")

    def do_interview(self, agent: str, question: str, **options) -> None:
        world = self.world(options)
        answer = levers.interview_resident(world.pk, agent, question, actor=self.actor)
        self.stdout.write(answer)

    def do_evaluate(self, fresh: bool, keep: bool, answers: bool, via: str, **options) -> None:
        from agents import evaluation  # loads the model client: only when asked

        if options.get("world") is not None and fresh:
            raise CommandError("--fresh uses a new world: leave out --world")
        ways = evaluation.WAYS if via == "both" else (via,)
        report = evaluation.evaluate(
            options.get("world"), fresh=fresh, keep=keep, ways=ways, actor=self.actor
        )
        if answers:
            self.stdout.write(evaluation.transcript(report) + "\n")
        self.stdout.write(report.table())

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
        counts = levers.forget_user(user, actor=self.actor)
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

    def do_reembed(self, batch: int, world: int | None, dry_run: bool, **options) -> None:
        from agents import reembed

        if world is not None and not World.objects.filter(pk=world).exists():
            raise CommandError(f"there is no world {world}")
        if dry_run:
            plan = reembed.plan(world)
            self.stdout.write("Dry run, nothing changed: " + reembed.describe(plan, world))
            return
        err = self.stderr
        bar = reembed.ProgressBar(lambda s: (err.write(s, ending=""), err.flush()), err.isatty())
        report = reembed.reembed(batch=batch, world_id=world, progress=bar, actor=self.actor)
        self.ok(reembed.summary(report))

    def do_budget(self, change: str | None, tokens: int | None, **options) -> None:
        from agents import services as minds

        world = self.world(options)
        if change == "set":
            if tokens is None or tokens < 0:
                raise CommandError("usage: town budget set TOKENS (a whole number, 0: no limit)")
            figures = minds.set_daily_tokens(world, tokens, actor=self.actor)
        elif change == "reset":
            if tokens is not None:
                raise CommandError("`town budget reset` takes no number")
            figures = minds.reset_budget(world, actor=self.actor)
        else:
            figures = minds.budget_status(world)
        limit = f"{figures['limit']:,} tokens" if figures["limit"] else "no limit"
        self.stdout.write(
            f"{world.name} (#{world.pk}): {figures['spent']:,} tokens spent today "
            f"(since {figures['since']:%Y-%m-%d %H:%M} UTC), daily limit {limit}"
            + ("" if figures["own_limit"] else " (MIND_DAILY_TOKENS)")
        )

    def do_vacuum(self, **options) -> None:
        report = maintenance.run_maintenance()
        services.audit(None, "vacuum", self.actor, **{k: v for k, v in report.items()})
        self.ok(
            f"Pruned {report['history']} history events and {report['inputs']} inputs, "
            f"expired {len(report['stale_leases'])} stale leases, removed {report['old_jobs']} "
            f"old jobs, vacuumed {len(report.get('vacuumed', []))} tables."
        )

    def do_agent_token(self, change: str, target, label: str, user, **options) -> None:
        agent_cli.agent_token(self, change, target, label, user, options.get("world"))

    def do_mcp(self, token: str, url: str, **options) -> None:
        agent_cli.mcp(token, url, options.get("world"))

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
                ("language", world_language(world)),
                ("last heartbeat", _ago(world.last_heartbeat)),
                ("music", _music(world.pk)),
            ):
                self.stdout.write(f"  {label:<15} {value}")
            for line in _bill(world.pk):
                self.stdout.write(f"  {line}")
        self.stdout.write(f"jobs: {_jobs()}")


def _resident_arguments(parser) -> None:
    """`town resident add|edit|retire`: the fields of town/data/residents.toml as flags."""
    changes = parser.add_subparsers(dest="change", required=True, metavar="add|edit|retire")
    add = changes.add_parser("add", help="a new resident, or a retired one back (by --id)")
    add.add_argument("--id", dest="id", help="lowercase id, e.g. zoe (required)")
    edit = changes.add_parser("edit", help="change fields of a resident")
    retire = changes.add_parser("retire", help="take a resident out (memories are kept)")
    for sub in (edit, retire):
        sub.add_argument("resident", help="the resident's id")
    for sub in (add, edit, retire):
        sub.add_argument("--world", type=int, default=argparse.SUPPRESS, help="world id")
    for sub in (add, edit):
        sub.add_argument("--from", dest="spec_file", help="TOML: one entry of residents.toml")
        sub.add_argument("--name")
        sub.add_argument("--sprite", dest="character", help="a sheet in static/sprites/")
        sub.add_argument("--identity", help="who they are, in a few sentences")
        sub.add_argument("--home", help="an area of the map")
        sub.add_argument("--traits")
        sub.add_argument("--age", type=int)
        sub.add_argument(
            "--routine",
            nargs=3,
            action="append",
            metavar=("HOUR", "AREA", "ACTIVITY"),
            help="one routine entry, repeated (replaces the whole routine)",
        )


def _resident_spec(options: dict) -> dict:
    """The resident fields an operator gave: the --from file, then the flags over it."""
    spec = residents.load_spec_file(options["spec_file"]) if options.get("spec_file") else {}
    for field in ("id", "name", "character", "identity", "home", "traits", "age"):
        if options.get(field) is not None:
            spec[field] = options[field]
    if options.get("routine"):
        try:
            spec["routine"] = [
                {"hour": int(hour), "area": area, "activity": activity}
                for hour, area, activity in options["routine"]
            ]
        except ValueError:
            raise residents.InvalidResident("--routine HOUR must be a whole number") from None
    return spec


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


def _bill(world_id: int) -> list[str]:
    """Today's spend against the budget and the last day's bill (the staff bill page's figures)."""
    try:
        return status_lines(world_id)
    except DatabaseError as exc:  # the minds' tables may not be migrated yet
        return [f"tokens today: n/a ({type(exc).__name__})"]


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
