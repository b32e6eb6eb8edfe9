"""The town's durable state: worlds, players, conversations, messages, inputs, snapshots, history."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from town.engine.config import MAX_CHARACTER, MAX_ID, MAX_NAME


class World(models.Model):
    """One shared town. Its live state lives in an engine; this row is its durable identity."""

    class Status(models.TextChoices):
        RUNNING = "running"
        FROZEN = "frozen"
        ARCHIVED = "archived"

    name = models.CharField(max_length=80)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    # Why it is frozen: "idle" thaws on a visitor's heartbeat, "operator" waits for resume.
    frozen_reason = models.CharField(max_length=20, blank=True)
    is_current = models.BooleanField(default=False)
    map_name = models.CharField(max_length=80, default="town")
    seed = models.BigIntegerField(default=0)
    settings = models.JSONField(default=dict, blank=True)
    # World time (ms) at the last snapshot: time stands still while the world is frozen.
    clock_ms = models.BigIntegerField(default=0)
    last_heartbeat = models.DateTimeField(null=True, blank=True)
    # The day's track pages play: published by music (town.services.publish_music).
    music_url = models.CharField(max_length=500, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["is_current"],
                condition=models.Q(is_current=True),
                name="one_current_world",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} (#{self.pk}, {self.status})"


class Player(models.Model):
    """A character in a world: a human's avatar or a resident (agent)."""

    class Kind(models.TextChoices):
        HUMAN = "human"
        AGENT = "agent"

    world = models.ForeignKey(World, on_delete=models.CASCADE, related_name="players")
    pid = models.CharField(max_length=MAX_ID)  # the engine's id for this character
    kind = models.CharField(max_length=5, choices=Kind.choices)
    name = models.CharField(max_length=MAX_NAME)
    character = models.CharField(max_length=MAX_CHARACTER)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    identity = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)  # resident definition (home, routine …)
    present = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["world", "pid"], name="player_pid_unique"),
            models.UniqueConstraint(
                fields=["world", "user"],
                condition=models.Q(user__isnull=False),
                name="one_player_per_user_per_world",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class Conversation(models.Model):
    """A conversation between characters, as the engine ran it."""

    world = models.ForeignKey(World, on_delete=models.CASCADE, related_name="conversations")
    cid = models.CharField(max_length=MAX_ID)
    participants = models.JSONField(default=list)  # player pids, inviter first
    started_t = models.BigIntegerField(null=True, blank=True)
    ended_t = models.BigIntegerField(null=True, blank=True)
    end_reason = models.CharField(max_length=40, blank=True)
    summary = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    ended = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["world", "cid"], name="conversation_unique")]

    def __str__(self) -> str:
        return f"{self.cid} in world {self.world_id}"


class Message(models.Model):
    """A chat line, written before it is acknowledged; its human author is kept for `forget`."""

    world = models.ForeignKey(World, on_delete=models.CASCADE, related_name="messages")
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    mid = models.CharField(max_length=MAX_ID)
    author = models.CharField(max_length=MAX_ID)  # player pid
    author_name = models.CharField(max_length=MAX_NAME)
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    text = models.TextField()
    t = models.BigIntegerField()
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["world", "mid"], name="message_unique")]
        indexes = [models.Index(fields=["conversation", "id"])]

    def __str__(self) -> str:
        return f"{self.author_name}: {self.text[:60]}"


class Input(models.Model):
    """An accepted input, in the order the engine applied it: snapshot + these = the world."""

    world = models.ForeignKey(World, on_delete=models.CASCADE, related_name="inputs")
    key = models.CharField(max_length=160)
    t = models.BigIntegerField()
    payload = models.JSONField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["world", "key"], name="input_key_unique")]
        indexes = [models.Index(fields=["world", "id"])]

    def __str__(self) -> str:
        return f"{self.payload.get('type')} {self.key}"


class WorldSnapshot(models.Model):
    """The whole engine state at a moment, plus the last input it includes."""

    world = models.ForeignKey(World, on_delete=models.CASCADE, related_name="snapshots")
    t = models.BigIntegerField()
    last_input = models.BigIntegerField(default=0)  # Input.id already folded in
    data = models.JSONField()
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["world", "-id"])]

    def __str__(self) -> str:
        return f"world {self.world_id} at {self.t} ms"


class HistoryEvent(models.Model):
    """Public events in order (compact: a move is one path, not frames), for replay."""

    world = models.ForeignKey(World, on_delete=models.CASCADE, related_name="history")
    t = models.BigIntegerField()
    kind = models.CharField(max_length=40)
    data = models.JSONField()

    class Meta:
        indexes = [models.Index(fields=["world", "t"])]

    def __str__(self) -> str:
        return f"{self.kind} at {self.t} ms"


class AuditEntry(models.Model):
    """Who did what to which world, and when (operators and staff actions)."""

    world = models.ForeignKey(World, null=True, blank=True, on_delete=models.SET_NULL)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    actor_label = models.CharField(max_length=80, blank=True)  # "cli", "idle-job", a username
    action = models.CharField(max_length=40)
    detail = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "audit entries"
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.created:%Y-%m-%d %H:%M} {self.actor_label} {self.action}"
