"""Account data beyond allauth's: the tokens people give their own AI agents."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AgentToken(models.Model):
    """A bearer token that lets an outside agent act as its owner in the town.

    Only a SHA-256 of the token is stored (plus a short prefix so a list can tell tokens
    apart): a leaked database or log line never hands out a working token.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_tokens"
    )
    label = models.CharField(max_length=40)
    prefix = models.CharField(max_length=16)  # the token's first characters, for lists
    digest = models.CharField(max_length=64, unique=True)  # sha256 hex of the whole token
    # A world the token is limited to; null: every world.
    world = models.ForeignKey(
        "town.World", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)
    revoked = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.label}) of {self.user}"

    @property
    def active(self) -> bool:
        return self.revoked is None
