"""`manage.py runtown`: the whole town (web, engine, worker) or one role, in one asyncio loop."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import signal
import socket
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

log = logging.getLogger("town.runtown")

ROLE_CHOICES = ("all", "web", "engine", "worker")


def port_is_free(host: str, port: int) -> bool:
    """True when nothing listens on host:port (checked by binding, as the server will)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


class Command(BaseCommand):
    help = "Run the town: web (daphne), engine and worker roles in one process, or one role."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--role", choices=ROLE_CHOICES, default="all")
        parser.add_argument(
            "--no-migrate", action="store_true", help="skip migrations and the default world"
        )

    def handle(self, *args, host: str, port: int, role: str, no_migrate: bool, **options) -> None:
        serve_web = role in ("all", "web")
        if serve_web and not port_is_free(host, port):
            raise CommandError(
                f"port {port} on {host} is already in use — is the town already running? "
                f"Stop it, or choose another port (make run PORT=8001)."
            )
        if not no_migrate and role in ("all", "web"):
            call_command("migrate", interactive=False, verbosity=0)
            from town import services

            world = services.ensure_default_world()
            log.info("current world: %s", world)
        roles = ["engine", "worker"] if role == "all" else [role] if role != "web" else []
        if serve_web:
            self._serve_with_daphne(host, port, roles)
        else:
            asyncio.run(self._run_roles_until_signal(roles))
        self.stdout.write("The town has stopped.")

    async def _run_roles_until_signal(self, roles: list[str]) -> None:
        from town import collector

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        self.stdout.write(f"Running role(s) {', '.join(roles)}; Ctrl-C to stop.")
        # An engine's full collections delayed whole broadcasts as a web process's did.
        collector.settle()
        short = asyncio.ensure_future(collector.keep_collections_short())
        try:
            await run_roles(roles, stop)
        finally:
            short.cancel()

    def _serve_with_daphne(self, host: str, port: int, roles: list[str]) -> None:
        from daphne.server import Server  # installs the asyncio reactor; import it first
        from twisted.internet import defer, reactor

        from config.asgi import application
        from town import collector
        from town.viewport import accept_deflate

        stop = asyncio.Event()
        loop = reactor._asyncioEventloop
        tasks: list[asyncio.Future] = []

        def start_roles() -> None:
            tasks.append(asyncio.ensure_future(run_roles(roles, stop), loop=loop))
            # Sockets live here: keep full collections from pausing deliveries.
            tasks.append(asyncio.ensure_future(collector.keep_collections_short(), loop=loop))

        def stop_roles() -> defer.Deferred | None:
            stop.set()
            for task in tasks[1:]:
                task.cancel()
            if not tasks:
                return None
            return defer.Deferred.fromFuture(
                asyncio.ensure_future(asyncio.wait_for(tasks[0], 15), loop=loop)
            )

        def request_shutdown(*_args) -> None:
            if reactor.running:
                reactor.callFromThread(reactor.stop)

        url_host = f"[{host}]" if ":" in host else host
        interface = host.replace(":", r"\:")

        def ready() -> None:
            self.stdout.write(
                self.style.SUCCESS(f"The town is running at http://{url_host}:{port}/")
                + "  (Ctrl-C to stop)"
            )
            sys.stdout.flush()

        reactor.callWhenRunning(start_roles)
        reactor.addSystemEventTrigger("before", "shutdown", stop_roles)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, request_shutdown)
        collector.settle()
        server = Server(
            application=application,
            endpoints=[f"tcp:port={port}:interface={interface}"],
            signal_handlers=False,
            ready_callable=ready,
            verbosity=0,
            websocket_max_message_size=64 * 1024,
            application_close_timeout=5,
            websocket_handshake_timeout=15,
        )
        if settings.TOWN_WS_DEFLATE:
            # daphne builds its WebSocket factory in run(), before the reactor starts.
            def compress() -> None:
                factory = server.ws_factory
                factory.setProtocolOptions(
                    perMessageCompressionAccept=accept_deflate,
                    # autobahn resets this one to False unless given: keep daphne's choice
                    # (a "null" Origin reaches our origin check and is refused there).
                    allowNullOrigin=factory.allowNullOrigin,
                )

            reactor.callWhenRunning(compress)
        server.run()
        if settings.DEBUG:
            log.debug("daphne stopped")


async def run_roles(roles: list[str], stop: asyncio.Event) -> None:
    """Run the named roles until `stop` is set; a crashed role is logged and restarted.

    Whatever the roles (a web-only process too), the process listens on the control path
    (town/control.py) for levers pulled anywhere, for as long as the roles run.
    """
    from channels.layers import get_channel_layer

    from town import control

    done = asyncio.Event()
    listener = asyncio.ensure_future(control.listen(get_channel_layer(), roles, done))
    try:
        await _run_roles(roles, stop)
    finally:
        done.set()
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await listener


async def _run_roles(roles: list[str], stop: asyncio.Event) -> None:
    from town.roles import ROLES

    async def supervise(name: str) -> None:
        while not stop.is_set():
            try:
                await ROLES[name](stop)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("role %s crashed; restarting in 2 s", name)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 2)

    if not roles:
        await stop.wait()
        return
    await asyncio.gather(*(supervise(name) for name in roles))
