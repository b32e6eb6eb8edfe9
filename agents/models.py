"""A resident's memory stream (the generative-agents paper), stored with pgvector."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from pgvector.django import VectorField

from town.models import Conversation, Player


class Memory(models.Model):
    """One entry of a resident's memory stream."""

    class Kind(models.TextChoices):
        OBSERVATION = "observation"
        CONVERSATION = "conversation"
        REFLECTION = "reflection"
        PLAN = "plan"

    agent = models.ForeignKey(Player, on_delete=models.CASCADE, related_name="memories")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    text = models.TextField()
    importance = models.PositiveSmallIntegerField(default=3)  # 1–10
    embedding = VectorField(dimensions=settings.EMBEDDING_DIMENSIONS, null=True, blank=True)
    created_t = models.BigIntegerField(default=0)  # world ms
    accessed_t = models.BigIntegerField(default=0)
    conversation = models.ForeignKey(
        Conversation, null=True, blank=True, on_delete=models.SET_NULL, related_name="memories"
    )
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    evidence = models.ManyToManyField("self", symmetrical=False, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "memories"
        indexes = [models.Index(fields=["agent", "-created_t"])]

    def __str__(self) -> str:
        return f"[{self.kind} {self.importance}] {self.text[:60]}"
