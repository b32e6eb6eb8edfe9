"""Names on the channel layer: who listens where."""

MINDS_CHANNEL = "town.minds"  # decision requests, consumed by any one worker
ENGINES_GROUP = "town.engines"  # every engine host: "look for worlds to run now"


def world_group(world_id: int) -> str:
    """Every socket watching a world."""
    return f"world.{world_id}"


def engine_group(world_id: int) -> str:
    """The engine running a world (at most one holds its lease)."""
    return f"world.{world_id}.engine"


def human_pid(user_id: int) -> str:
    """A signed-in person's character id: one per user per world."""
    return f"h{user_id}"
