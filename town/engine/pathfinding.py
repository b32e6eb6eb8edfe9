"""A* on the 4-connected tile grid; standing characters are soft, never hard, blockers."""

from __future__ import annotations

from collections.abc import Container
from heapq import heappop, heappush

from .map import TownMap

Tile = tuple[int, int]
_H_SHIFT = 24  # maps up to 16.7 million tiles
_F_SHIFT = 48
_MASK = (1 << 24) - 1
_FAR = 1 << 60


def find_path(
    town_map: TownMap,
    start: Tile,
    goal: Tile,
    soft: Container[int] | None = None,
    soft_cost: int = 4,
    max_nodes: int = 6000,
) -> list[Tile] | None:
    """Cheapest path from start to goal inclusive, or None (unreachable or too costly to find).

    Each step costs 1, plus soft_cost when the step enters a tile index listed in `soft`.
    The Manhattan heuristic never overestimates (every step costs at least 1): paths are optimal.
    """
    if start == goal:
        return [start]
    if not town_map.walkable(*goal) or not town_map.in_bounds(*start):
        return None
    w = town_map.width
    s, g = start[1] * w + start[0], goal[1] * w + goal[0]
    component = town_map.component
    # A start on a blocked tile (placed there by an operator) may still step off it.
    if component[s] >= 0 and component[s] != component[g]:
        return None  # known unreachable without searching the whole region
    straight = _straight_path(town_map, start, goal, soft)
    if straight is not None:
        return straight  # as long as Manhattan distance: nothing can be shorter
    xs, ys, neighbours = town_map.xs, town_map.ys, town_map.neighbours
    gx, gy = goal
    h0 = abs(start[0] - gx) + abs(start[1] - gy)
    # Heap entries are single ints (f, h, index packed in bit fields): comparing ints is much
    # cheaper than comparing tuples. Ties on f go to the node nearer the goal (smaller h),
    # which saves most expansions on open ground; then to the lower index, for determinism.
    frontier = [(h0 << _F_SHIFT) | (h0 << _H_SHIFT) | s]
    cost = {s: 0}
    parent = {s: -1}
    known = cost.get
    push, pop = heappush, heappop
    has_soft = bool(soft)
    expanded = 0
    while frontier:
        key = pop(frontier)
        i = key & _MASK
        if i == g:
            return _unwind(parent, g, w)
        gi = (key >> _F_SHIFT) - ((key >> _H_SHIFT) & _MASK)
        if gi > cost[i]:
            continue  # a stale entry superseded by a cheaper route
        expanded += 1
        if expanded > max_nodes:
            return None
        step = gi + 1
        for n in neighbours[i]:
            ng = step + soft_cost if has_soft and n in soft else step
            if ng < known(n, _FAR):
                cost[n] = ng
                parent[n] = i
                dx = xs[n] - gx
                dy = ys[n] - gy
                nh = (dx if dx >= 0 else -dx) + (dy if dy >= 0 else -dy)
                push(frontier, ((ng + nh) << _F_SHIFT) | (nh << _H_SHIFT) | n)
    return None


def _straight_path(
    town_map: TownMap, start: Tile, goal: Tile, soft: Container[int] | None
) -> list[Tile] | None:
    """An L-shaped path (x then y, or y then x) when one is clear of walls and people.

    Most clicks land in open ground, where this answers in a few microseconds.
    """
    (sx, sy), (gx, gy) = start, goal
    w, blocked = town_map.width, town_map.blocked
    dx, dy = (1 if gx > sx else -1), (1 if gy > sy else -1)
    along_x = range(sx + dx, gx + dx, dx) if gx != sx else range(0)
    along_y = range(sy + dy, gy + dy, dy) if gy != sy else range(0)
    for path in (
        [(x, sy) for x in along_x] + [(gx, y) for y in along_y],
        [(sx, y) for y in along_y] + [(x, gy) for x in along_x],
    ):
        # The goal's own soft cost is paid by every path, so only the tiles before it matter.
        if all(not blocked[y * w + x] for x, y in path) and not (
            soft and any(y * w + x in soft for x, y in path[:-1])
        ):
            return [start, *path]
        if gx == sx or gy == sy:
            break  # both orders are the same straight line
    return None


def path_cost(path: list[Tile], width: int, soft: Container[int] | None, soft_cost: int) -> int:
    """The cost find_path assigns to a path (for tests and diagnostics)."""
    extra = 0
    if soft is not None:
        extra = sum(soft_cost for x, y in path[1:] if y * width + x in soft)
    return len(path) - 1 + extra


def _unwind(parent: dict[int, int], goal: int, w: int) -> list[Tile]:
    """Follow parent links back from the goal."""
    out = []
    i = goal
    while i != -1:
        out.append((i % w, i // w))
        i = parent[i]
    out.reverse()
    return out
