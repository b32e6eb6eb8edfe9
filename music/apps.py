from django.apps import AppConfig


class MusicConfig(AppConfig):
    name = "music"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_delete

        from music import jobs  # noqa: F401 - registers the music tasks
        from music.models import Track
        from music.services import track_deleted

        post_delete.connect(track_deleted, sender=Track, dispatch_uid="music-track-deleted")
