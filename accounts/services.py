"""Writes (and the one lookup) for agent tokens: create, revoke, resolve on a handshake.

A token is shown once, when it is made; the database keeps its SHA-256 and a short prefix.
Revoking commits, then tells every town process on the control path (town/control.py), and
each closes the sockets it holds for that token.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from accounts.models import AgentToken
from town import control
from town.models import World
from town.text import BadText, clean_name

TOKEN_PREFIX = "hv_"  # so a token pasted somewhere is recognisable (and scannable) as ours
VISIBLE = 10  # characters of the token kept in clear for lists: "hv_" + 7


class TokenRefused(ValueError):
    """A token cannot be made or changed as asked (the message says why)."""


@dataclass(frozen=True)
class AgentIdentity:
    """What a resolved token tells the socket: whose agent this is, and which token."""

    token_id: int
    user_id: int
    label: str


def digest(secret: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(user, label: str = "", world_id: int | None = None) -> tuple[AgentToken, str]:
    """Make a token for `user`'s agent; returns the row and the token (shown only now)."""
    label = (label or "").strip() or "agent"
    try:
        label = clean_name(label)[:40]
    except BadText as exc:
        raise TokenRefused(f"the label {exc}") from None
    if not user.is_active:
        raise TokenRefused(f"{user.get_username()} is not an active account")
    world = None
    if world_id is not None:
        world = World.objects.filter(pk=world_id).first()
        if world is None:
            raise TokenRefused(f"there is no world {world_id}")
    with transaction.atomic():
        # Locks the owner's row, so two requests at once cannot both pass the cap.
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        live = AgentToken.objects.filter(user=user, revoked__isnull=True).count()
        cap = settings.TOWN_AGENT_TOKENS_PER_USER
        if live >= cap:
            raise TokenRefused(f"at most {cap} agent tokens per person; revoke one first")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = AgentToken.objects.create(
            user=user, label=label, prefix=secret[:VISIBLE], digest=digest(secret), world=world
        )
    return token, secret


def revoke_token(token_id: int, *, user=None) -> AgentToken:
    """Revoke one token (only the owner's when `user` is given) and close its sockets."""
    with transaction.atomic():
        tokens = AgentToken.objects.select_for_update().filter(pk=token_id)
        if user is not None:
            tokens = tokens.filter(user=user)
        token = tokens.first()
        if token is None:
            raise AgentToken.DoesNotExist(f"there is no agent token {token_id}")
        if token.revoked is None:
            token.revoked = timezone.now()
            token.save(update_fields=["revoked"])
        # Sent again for a token revoked before: a socket that slipped through is closed too.
        control.send(None, "token_revoked", tokens=[token.pk])
    return token


def revoke_user_tokens(user) -> int:
    """Revoke every live token of `user`; how many were revoked."""
    with transaction.atomic():
        ids = list(
            AgentToken.objects.select_for_update()
            .filter(user=user, revoked__isnull=True)
            .values_list("pk", flat=True)
        )
        AgentToken.objects.filter(pk__in=ids).update(revoked=timezone.now())
        for start in range(0, len(ids), 500):  # a notice holds at most ~7.9 kB
            control.send(None, "token_revoked", tokens=ids[start : start + 500])
    return len(ids)


def tokens_of(user) -> list[AgentToken]:
    """A person's tokens, newest first (revoked ones included, marked)."""
    return list(AgentToken.objects.filter(user=user).select_related("world"))


def resolve(secret: str, world_id: int | None) -> tuple[AgentIdentity, object] | None:
    """The agent behind a token for a socket on `world_id` (None: the current world).

    None when the token is unknown, revoked, its owner inactive, or scoped to another world.
    Marks the token used.
    """
    if not secret or len(secret) > 200:
        return None
    token = (
        AgentToken.objects.select_related("user")
        .filter(digest=digest(secret), revoked__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    if token.world_id is not None:
        if world_id is None:
            world_id = World.objects.filter(is_current=True).values_list("pk", flat=True).first()
        if token.world_id != world_id:
            return None
    AgentToken.objects.filter(pk=token.pk).update(last_used=timezone.now())
    return AgentIdentity(token.pk, token.user_id, token.label), token.user
