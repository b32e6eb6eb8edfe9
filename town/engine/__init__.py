"""The pure world engine: map, pathfinding, movement, conversations, clock, agent requests.

Nothing here imports Django, a database driver or asyncio; the runner around it does I/O.
"""

from .clock import clock_at
from .config import EngineConfig
from .errors import InputRefused
from .map import Area, TownMap
from .movement import Player, player_position
from .pathfinding import find_path
from .world import World

__all__ = [
    "Area",
    "EngineConfig",
    "InputRefused",
    "Player",
    "TownMap",
    "World",
    "clock_at",
    "find_path",
    "player_position",
]
