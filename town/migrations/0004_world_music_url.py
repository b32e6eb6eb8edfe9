"""The world owns the URL of its current track (music publishes it: publish_music)."""

from django.db import migrations, models


def copy_current_track_urls(apps, schema_editor):
    """Each world's newest track, as music's own selector found it before this field."""
    try:
        track_model = apps.get_model("music", "Track")
    except LookupError:  # music is not installed, or not migrated yet: nothing to copy
        return
    world_model = apps.get_model("town", "World")
    for world in world_model.objects.all():
        track = track_model.objects.filter(world_id=world.pk).order_by("-id").first()
        if track is not None and track.file:
            world.music_url = track.file.url
            world.save(update_fields=["music_url"])


class Migration(migrations.Migration):
    dependencies = [
        ("town", "0003_person_resident"),
    ]

    operations = [
        migrations.AddField(
            model_name="world",
            name="music_url",
            field=models.CharField(blank=True, max_length=500),
        ),
        migrations.RunPython(copy_current_track_urls, migrations.RunPython.noop),
    ]
