"""`manage.py town agent-token …` and `town mcp`: the operator's side of agent tokens."""

from __future__ import annotations

from django.core.management.base import CommandError

from accounts import services
from accounts.models import AgentToken


def add_arguments(sub: dict) -> None:
    """The flags of `town agent-token` and `town mcp` (sub: action name -> subparser)."""
    p = sub["agent-token"]
    p.add_argument("change", choices=["create", "revoke", "list"])
    p.add_argument("target", nargs="?", help="create: USERNAME; revoke: token ID")
    p.add_argument("--label", default="", help="create: a name for the agent")
    p.add_argument("--user", help="revoke: every token of this username; list: only theirs")
    p = sub["mcp"]
    p.add_argument("--token", required=True, help="an agent token (`town agent-token create`)")
    p.add_argument("--url", default="http://127.0.0.1:8000", help="the town's address")


def agent_token(command, change: str, target: str | None, label: str, user: str | None, world):
    """Run `town agent-token create|revoke|list`; `command` is the management command."""
    from town.services import find_user

    if change == "create":
        if not target:
            raise CommandError("usage: town agent-token create USERNAME [--label L] [--world N]")
        try:
            token, secret = services.create_token(find_user(target), label, world)
        except services.TokenRefused as exc:
            raise CommandError(str(exc)) from None
        scope = f"world {token.world_id}" if token.world_id else "every world"
        command.ok(f"Agent token #{token.pk} ({token.label}) for {target}, {scope}:")
        # The one time the token is shown: on standard output, never in a log.
        command.stdout.write(secret)
        command.stdout.write("Keep it secret: it is not stored and cannot be shown again.")
    elif change == "revoke":
        if user:
            count = services.revoke_user_tokens(find_user(user))
            command.ok(f"Revoked {count} agent token(s) of {user}.")
            return
        if not target or not target.isdigit():
            raise CommandError("usage: town agent-token revoke ID|--user USERNAME")
        try:
            token = services.revoke_token(int(target))
        except AgentToken.DoesNotExist:
            raise CommandError(f"there is no agent token {target}") from None
        command.ok(f"Revoked agent token #{token.pk} ({token.label}) of {token.user}.")
    else:
        tokens = AgentToken.objects.select_related("user").order_by("id")
        if user:
            tokens = tokens.filter(user=find_user(user))
        if not tokens:
            command.stdout.write("No agent tokens.")
        for t in tokens:
            state = f"revoked {t.revoked:%Y-%m-%d %H:%M}" if t.revoked else "active"
            used = f"{t.last_used:%Y-%m-%d %H:%M}" if t.last_used else "never"
            scope = f"world {t.world_id}" if t.world_id else "all worlds"
            command.stdout.write(
                f"#{t.pk}  {t.prefix}…  {t.user}  {t.label!r}  {scope}  last used {used}  {state}"
            )


def mcp(token: str, url: str, world: int | None) -> None:
    """Serve MCP over standard input/output for one agent token."""
    from town.mcp_server import run_stdio

    run_stdio(token, url, world)
