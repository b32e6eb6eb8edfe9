"""Background tracks: one a day per world (or more on demand); the newest is the current one."""

from __future__ import annotations

from django.db import models

from town import clock
from town.models import World


class Track(models.Model):
    """A generated piece of background music, stored in Django storage."""

    class Source(models.TextChoices):
        REPLICATE = "replicate"
        PROCEDURAL = "procedural"

    world = models.ForeignKey(World, on_delete=models.CASCADE, related_name="tracks")
    day = models.DateField()  # the UTC day it was made for
    file = models.FileField(upload_to="music/", max_length=255)
    source = models.CharField(max_length=12, choices=Source.choices)
    prompt = models.TextField(blank=True)
    mood = models.CharField(max_length=20, blank=True)
    duration = models.FloatField(default=0.0)  # seconds
    # The prediction id, the seed, and why Replicate was not used when it was not.
    detail = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["world", "-id"]), models.Index(fields=["world", "day"])]

    def __str__(self) -> str:
        return f"{self.day} {self.source} track for world {self.world_id}"
