from django.apps import AppConfig


class OpsConfig(AppConfig):
    """The operator's levers that span the world, the minds and music (nothing imports ops)."""

    name = "ops"

    def ready(self) -> None:
        from ops import jobs, roles  # noqa: F401 - the worker role and the scheduled jobs
