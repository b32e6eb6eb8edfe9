from django.apps import AppConfig


class MusicConfig(AppConfig):
    name = "music"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from music import jobs  # noqa: F401 - registers the music tasks
