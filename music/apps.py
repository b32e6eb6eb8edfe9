from django.apps import AppConfig
from django.db.models.signals import post_save


class MusicConfig(AppConfig):
    name = "music"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from music import jobs  # noqa: F401 - registers the music tasks
        from music.models import Track

        post_save.connect(_track_saved, sender=Track, dispatch_uid="music-url-on-world")


def _track_saved(sender, instance, created: bool, **kwargs) -> None:
    if created and instance.file:
        from music.selectors import store_on_world

        store_on_world(instance)
