"""A resident's memory stream (the generative-agents paper), stored with pgvector, plus the
state a mind keeps between decisions and the record of every model call."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from pgvector.django import HnswIndex, VectorField

from town.models import Conversation, Player, World


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
    # Which embedder made the vector: vectors of different embedders are not comparable.
    embedder = models.CharField(max_length=80, blank=True)
    created_t = models.BigIntegerField(default=0)  # world ms
    accessed_t = models.BigIntegerField(default=0)
    conversation = models.ForeignKey(
        Conversation, null=True, blank=True, on_delete=models.SET_NULL, related_name="memories"
    )
    # Provenance: the human whose words this memory holds (removable with `town forget`).
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    author_name = models.CharField(max_length=40, blank=True)
    source = models.CharField(max_length=20, blank=True)  # "history", "interview", "model" …
    # No database constraint: agents_memory is hash-partitioned (migration 0004), so its id
    # alone cannot be referenced by a foreign key. Deleting a memory still removes its links.
    evidence = models.ManyToManyField("self", symmetrical=False, blank=True, db_constraint=False)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "memories"
        indexes = [
            models.Index(fields=["agent", "-created_t"]),
            models.Index(fields=["agent", "-accessed_t"], name="memory_agent_accessed"),
            # Retrieval's "most important" candidates come straight off this index, ties
            # newest first, with no sort of a resident's whole top-importance group.
            models.Index(
                fields=["agent", "-importance", "-created_t"], name="memory_agent_importance_t"
            ),
            HnswIndex(
                name="memory_embedding_hnsw",
                fields=["embedding"],
                m=16,
                ef_construction=64,
                opclasses=["vector_cosine_ops"],
            ),
        ]

    def __str__(self) -> str:
        return f"[{self.kind} {self.importance}] {self.text[:60]}"


class MindState(models.Model):
    """What a resident's mind carries between decisions: today's plan, news already told."""

    agent = models.OneToOneField(Player, on_delete=models.CASCADE, related_name="mind")
    plan_day = models.IntegerField(default=0)  # game day the schedule is for
    schedule = models.JSONField(default=list, blank=True)  # [{hour, area, activity}]
    # Summed importance of memories since the last reflection.
    unreflected = models.IntegerField(default=0)
    told = models.JSONField(default=dict, blank=True)  # memory id → pids already told
    seen = models.JSONField(default=dict, blank=True)  # pid → world ms last noted
    # The last game day whose end-of-day reflection was made.
    day_reflected = models.IntegerField(default=0)
    updated = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"mind of {self.agent_id} (day {self.plan_day})"


class Relationship(models.Model):
    """What a resident thinks of someone it has talked with, renewed after each conversation."""

    agent = models.ForeignKey(Player, on_delete=models.CASCADE, related_name="relationships")
    other = models.ForeignKey(Player, on_delete=models.CASCADE, related_name="known_by")
    opinion = models.CharField(max_length=300)  # "what I think of X", a sentence or two
    last_summary = models.CharField(max_length=600, blank=True)  # our last conversation
    last_t = models.BigIntegerField(default=0)  # world ms that conversation ended
    talks = models.PositiveIntegerField(default=0)  # conversations so far
    conversation = models.ForeignKey(
        Conversation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Set when the note draws on a person's words: delimited in prompts, gone with `forget`.
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agent", "other"], name="relationship_pair"),
        ]

    def __str__(self) -> str:
        return f"{self.agent_id} → {self.other_id}: {self.opinion[:60]}"


class ModelCall(models.Model):
    """One call to the model provider: what for, how big, how long, what it cost."""

    world = models.ForeignKey(World, null=True, blank=True, on_delete=models.SET_NULL)
    agent = models.CharField(max_length=64, blank=True)  # resident pid
    purpose = models.CharField(max_length=30)  # reply, plan, summary, reflect, embed …
    model = models.CharField(max_length=80)
    tokens_in = models.PositiveIntegerField(default=0)
    tokens_out = models.PositiveIntegerField(default=0)
    latency_ms = models.PositiveIntegerField(default=0)
    cost_usd = models.FloatField(default=0.0)
    ok = models.BooleanField(default=True)
    error = models.CharField(max_length=200, blank=True)
    created = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["world", "created"])]

    def __str__(self) -> str:
        return f"{self.purpose} {self.model} {self.tokens_in}+{self.tokens_out}"


class EmbeddingCache(models.Model):
    """A text's vector from the model's embedder, kept so no text is paid for twice.

    Keyed by a hash of (embedding model, dimensions, text); shared by every process through
    the database.
    """

    key = models.CharField(max_length=64, primary_key=True)
    vector = VectorField()  # any width: the key holds the dimensions
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"embedding {self.key[:12]}"


class ChatCache(models.Model):
    """A chat answer kept for MIND_CHAT_CACHE_SECONDS: the same request within the window is
    answered from here (keyed by a hash of model, messages and options; every process)."""

    key = models.CharField(max_length=64, primary_key=True)
    content = models.TextField()
    created = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"chat {self.key[:12]}"


class ConversationMind(models.Model):
    """How the minds run one conversation: its mind mode, fixed when it starts and kept until
    it ends, and the script of a resident-only conversation written in one model call."""

    world = models.ForeignKey(World, on_delete=models.CASCADE, related_name="+")
    cid = models.CharField(max_length=64)
    mode = models.CharField(max_length=8)  # "llm" | "offline"
    residents = models.JSONField(default=list)  # resident pids taking part so far
    # [{"author": pid, "text": ...}, ...] revealed line by line; empty: turn by turn.
    script = models.JSONField(default=list, blank=True)
    scripted = models.BooleanField(default=False)  # a script was asked for (kept or dropped)
    # The script's summary, plans and views (prompts.Summary), used when it ran as written.
    summary = models.JSONField(null=True, blank=True)
    started = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["world", "cid"], name="conversation_mind_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.cid} ({self.mode})"
