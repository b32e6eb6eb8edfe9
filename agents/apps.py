from django.apps import AppConfig


class AgentsConfig(AppConfig):
    name = "agents"

    def ready(self) -> None:
        from agents import (
            checks,  # noqa: F401 - registers the start-up checks
            services,
        )
        from town.signals import resident_changed, world_forked

        # The world tells the minds; it never imports them (docs/architecture.md).
        resident_changed.connect(services.replan_resident, dispatch_uid="minds-replan")
        world_forked.connect(services.copy_memories, dispatch_uid="minds-copy-memories")
