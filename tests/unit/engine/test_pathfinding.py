"""A* pathfinding: optimal, soft blockers, limits."""

import heapq
import itertools
import random

from town.engine import TownMap, find_path
from town.engine.pathfinding import path_cost


def dijkstra_cost(town_map, start, goal, soft=frozenset(), soft_cost=4):
    """Reference shortest-path cost, or None when unreachable."""
    w = town_map.width
    best = {start: 0}
    frontier = [(0, start)]
    while frontier:
        d, (x, y) = heapq.heappop(frontier)
        if (x, y) == goal:
            return d
        if d > best[(x, y)]:
            continue
        for nx, ny in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
            if town_map.walkable(nx, ny):
                nd = d + 1 + (soft_cost if ny * w + nx in soft else 0)
                if nd < best.get((nx, ny), 1 << 30):
                    best[(nx, ny)] = nd
                    heapq.heappush(frontier, (nd, (nx, ny)))
    return None


def random_map(rng, width=18, height=12, density=0.3):
    blocked = [(x, y) for y in range(height) for x in range(width) if rng.random() < density]
    return TownMap(width, height, blocked)


def assert_valid(town_map, path, start, goal):
    assert path[0] == start and path[-1] == goal
    for (ax, ay), (bx, by) in itertools.pairwise(path):
        assert abs(ax - bx) + abs(ay - by) == 1
        assert town_map.walkable(bx, by)


def test_path_is_as_short_as_dijkstra_on_random_maps():
    rng = random.Random(42)
    found = unreachable = 0
    for _ in range(150):
        town_map = random_map(rng, density=rng.choice([0.1, 0.25, 0.4]))
        tiles = list(town_map.walkable_tiles())
        start, goal = rng.choice(tiles), rng.choice(tiles)
        path = find_path(town_map, start, goal)
        expected = dijkstra_cost(town_map, start, goal)
        if expected is None:
            assert path is None
            unreachable += 1
            continue
        found += 1
        assert_valid(town_map, path, start, goal)
        assert len(path) - 1 == expected
    assert found > 50 and unreachable > 5  # both cases were really exercised


def test_path_with_soft_blockers_is_cheapest_by_weighted_cost():
    rng = random.Random(7)
    for _ in range(80):
        town_map = random_map(rng, density=0.2)
        tiles = list(town_map.walkable_tiles())
        soft = {y * town_map.width + x for x, y in rng.sample(tiles, len(tiles) // 5)}
        start, goal = rng.choice(tiles), rng.choice(tiles)
        path = find_path(town_map, start, goal, soft, 4)
        expected = dijkstra_cost(town_map, start, goal, soft, 4)
        if expected is None:
            assert path is None
        else:
            assert path_cost(path, town_map.width, soft, 4) == expected


def test_soft_blockers_reroute_but_never_trap():
    street = TownMap(10, 2)  # two lanes
    w = street.width
    # Someone stands in the lower lane: step round them (cost 11) rather than through (9 + 4).
    path = find_path(street, (0, 1), (9, 1), {1 * w + 5}, 4)
    assert (5, 1) not in path and len(path) - 1 == 11
    # A crowd across both lanes slows the walk but never blocks it.
    crowd = {0 * w + 5, 1 * w + 5}
    path = find_path(street, (0, 1), (9, 1), crowd, 4)
    assert path is not None and len(path) - 1 == 9
    # Boxed in on every side, and the goal taken too: still free to go.
    everyone = {y * w + x for x in range(10) for y in range(2)}
    assert find_path(street, (0, 0), (9, 1), everyone, 4)[-1] == (9, 1)
    # A one-lane alley with someone in it is still passable.
    alley = TownMap(5, 1)
    assert find_path(alley, (0, 0), (4, 0), {2}, 4) == [(x, 0) for x in range(5)]


def test_unreachable_blocked_or_too_far_goals_give_none():
    town_map = TownMap(7, 3, [(3, 0), (3, 1), (3, 2)])
    assert find_path(town_map, (0, 1), (6, 1)) is None
    assert find_path(town_map, (0, 1), (3, 1)) is None
    assert find_path(town_map, (0, 1), (0, 1)) == [(0, 1)]
    walled = TownMap(40, 40, [(20, y) for y in range(39)])  # a long wall, gap at the bottom
    assert find_path(walled, (0, 0), (39, 0), max_nodes=20) is None  # gave up searching
    assert len(find_path(walled, (0, 0), (39, 0))) - 1 == 39 + 2 * 39
    assert len(find_path(TownMap(40, 40), (0, 0), (39, 39))) == 79  # open ground, straight away
