"""Where everything in the town goes (64 x 48 tiles, buildings face south)."""

from __future__ import annotations

from . import props as pr
from .buildings import Building
from .townmap import H, Town, W

# ----------------------------------------------------------- buildings
SCHOOL = Building(
    "school",
    8,
    6,
    3,
    "slate",
    "brick",
    (3,),
    ((1, 1), (5, 1), (6, 1), (1, 0), (2, 0), (5, 0), (6, 0)),
    style="school",
)
LIBRARY = Building(
    "library", 8, 6, 3, "plum", "stone", (3,), ((1, 1), (6, 1), (1, 0), (6, 0)), style="library"
)
HALL = Building(
    "town_hall",
    10,
    6,
    3,
    "teal",
    "plaster",
    (4,),
    ((1, 1), (8, 1), (1, 0), (8, 0), (3, 0), (6, 0)),
    style="hall",
)
WORKSHOP = Building(
    "workshop", 6, 5, 3, "brown", "wood", (2,), ((1, 0), (4, 0), (4, 1)), style="workshop"
)
CAFE = Building(
    "cafe",
    7,
    5,
    3,
    "red",
    "plaster",
    (3,),
    ((1, 1), (5, 1), (1, 0), (3, 0), (5, 0)),
    style="cafe",
    chimney=5,
)
SHOP = Building(
    "shop",
    7,
    5,
    3,
    "teal",
    "greenwood",
    (3,),
    ((1, 1), (5, 1), (1, 0), (3, 0), (5, 0)),
    style="shop",
)


def home(
    rid: str, roof: str, wall: str, door: int, shutters: str, chimney: int, gable: bool
) -> Building:
    wins = tuple((c, r) for c in (1, 3) for r in (0, 1) if not (c == door and r == 1))
    if door == 1:
        wins = ((1, 0), (3, 0), (3, 1))
    elif door == 3:
        wins = ((1, 0), (3, 0), (1, 1))
    return Building(
        f"home_{rid}",
        5,
        5,
        3,
        roof,
        wall,
        (door,),
        wins,
        "home",
        shutters,
        chimney,
        ("gable",) if gable else (),
    )


HOMES = {
    # id: (x, y, building)
    "ivo": (49, 5, home("ivo", "brown", "timber", 2, "red", 3, True)),
    "hana": (55, 5, home("hana", "slate", "brick", 2, "teal", 1, False)),
    "bram": (4, 18, home("bram", "plum", "plaster", 2, "teal", 3, True)),
    "cora": (54, 18, home("cora", "mustard", "bluewood", 2, "gold", 1, False)),
    "ada": (3, 28, home("ada", "terracotta", "plaster", 2, "teal", 3, True)),
    "edith": (15, 28, home("edith", "teal", "wood", 1, "red", 3, False)),
    "felix": (22, 28, home("felix", "plum", "brick", 3, "gold", 1, True)),
    "dev": (3, 37, home("dev", "red", "timber", 2, "blue", 1, False)),
    "gus": (15, 37, home("gus", "slate", "plaster", 3, "red", 1, True)),
    "mae": (22, 37, home("mae", "mustard", "brick", 1, "teal", 3, False)),
}


def forest(t: Town) -> None:
    for x in range(-1, W, 2):
        t.tree("oak" if x % 6 else "autumn", x + 1, -2)
        t.tree("oak", x, -1)
    for y in range(1, H - 3, 2):
        t.tree("oak", -1, y)
        t.tree("oak" if y % 8 else "autumn", W - 1, y)
        if y % 4 == 1:
            t.tree("oak", W - 2, y + 1)
    for x in range(-1, W, 2):
        t.tree("oak", x, H - 3)
        t.tree("oak" if x % 10 else "autumn", x + 1, H - 2)


def roads(t: Town) -> None:
    t.road("cobble", 0, 25, W - 1, 26)  # Main Street
    t.road("cobble", 2, 12, W - 3, 13)  # North Street
    t.road("plaza", 23, 10, 40, 24)  # plaza with the town hall forecourt
    t.road("dirt", 12, 14, 13, 44)  # West Lane
    t.road("dirt", 50, 14, 51, 24)  # East Lane
    t.road("cobble", 31, 27, 32, 44)  # Market Lane
    t.road("dirt", 2, 34, 30, 35)  # South Street
    t.road("dirt", 2, 43, 30, 44)  # Brook Lane
    t.road("plaza", 14, 23, 22, 24)  # cafe terrace


def park(t: Town) -> None:
    # a rounded, rectangular pond with a loop path around it
    for y in range(33, 40):
        for x in range(42, 56):
            corner = min(x - 42, 55 - x) + min(y - 33, 39 - y)
            if corner >= 1:
                t.water.add((x, y))
    for x in range(39, 59):
        t.road("dirt", x, 30, x, 30)
        t.road("dirt", x, 42, x, 42)
    for y in range(30, 43):
        t.road("dirt", 39, y, 39, y)
        t.road("dirt", 58, y, 58, y)
    t.road("dirt", 33, 36, 38, 36)  # from Market Lane
    t.road("dirt", 48, 27, 49, 29)  # from Main Street
    t.thing(pr.jetty(), 48, 39, solid=0)
    t.cv.open[39, 48] = True
    t.road("dirt", 48, 40, 48, 41)
    t.deco(pr.lily(0), 44, 35)
    t.deco(pr.lily(1), 52, 37)
    t.deco(pr.lily(2), 50, 34)
    t.deco(pr.reeds(), 43, 38)
    t.deco(pr.reeds(), 54, 34)
    for kind, x, y in (
        ("blossom", 35, 27), ("oak", 41, 27), ("apple", 54, 27), ("blossom", 59, 29),
        ("autumn", 34, 39), ("oak", 59, 38), ("blossom", 40, 43), ("apple", 55, 43),
        ("oak", 60, 33),
    ):  # fmt: skip
        t.tree(kind, x, y)
    t.pine(37, 32)
    t.pine(36, 29)
    t.thing(pr.bench(), 43, 31)
    t.thing(pr.bench(), 52, 31)
    t.thing(pr.bench(), 44, 41)
    t.thing(pr.bench(), 51, 41)
    t.bed(40, 41, 31, 0)
    t.bed(56, 57, 31, 3)
    t.bed(40, 41, 41, 4)
    t.bed(56, 57, 41, 1)
    t.thing(pr.lamp(), 46, 28, over_rows=1)
    t.thing(pr.lamp(), 51, 28, over_rows=1)
    t.thing(pr.bush("flower"), 40, 34)
    t.thing(pr.bush("berry"), 57, 37)
    t.thing(pr.bush("plain"), 35, 33)
    t.thing(pr.signpost(1), 34, 35)
    t.area("park", 34, 28, 27, 17)


def plaza(t: Town) -> None:
    ring = pr.mosaic(112, 84)
    t.cv.stamp("detail", ring, 1024 - ring.shape[1] // 2, 600 - ring.shape[0] // 2, z=5)
    t.thing(pr.fountain(), 30, 16, over_rows=1)
    for x, y in ((26, 14), (37, 14)):
        t.thing(pr.planter(), x, y, over_rows=1)
    t.bed(24, 26, 11, 2)
    t.bed(37, 39, 11, 5)
    t.thing(pr.bench(), 26, 18)
    t.thing(pr.bench(), 36, 18)
    for x, y in ((24, 14), (39, 14), (24, 21), (39, 21)):
        t.thing(pr.lamp(), x, y, over_rows=1)
    t.thing(pr.stall("red"), 34, 21, over_rows=1)
    t.thing(pr.stall("gold"), 26, 21, over_rows=1)
    t.thing(pr.signpost(0), 33, 24)
    t.area("plaza", 23, 14, 18, 11)
    t.spawns += [(29, 21), (34, 15), (29, 15), (37, 16), (30, 23)]


def public(t: Town) -> None:
    t.building(SCHOOL, 3, 4, "school")
    t.building(LIBRARY, 15, 4, "library")
    t.building(HALL, 27, 4, "town_hall")
    t.building(WORKSHOP, 41, 5, "workshop")
    t.building(CAFE, 15, 18)
    t.area("cafe", 14, 23, 9, 2)
    t.building(SHOP, 42, 18, "shop")
    # front paths
    t.road("cobble", 6, 10, 6, 11)
    t.road("cobble", 18, 10, 19, 11)
    t.road("dirt", 43, 10, 44, 11)
    t.road("cobble", 45, 23, 45, 24)
    # cafe terrace and shop front
    for x in (16, 20):
        t.thing(pr.cafe_table(), x, 23, over_rows=1)
    t.thing(pr.barrel(), 43, 23)
    t.thing(pr.crates(), 47, 23)
    t.thing(pr.woodpile(), 47, 9)
    t.thing(pr.bush("flower"), 14, 20)
    t.thing(pr.bush("plain"), 48, 22)
    t.thing(pr.bench(), 8, 10)
    t.deco(pr.hopscotch()[:32], 4, 10)
    t.deco(pr.hopscotch()[32:], 4, 11)
    t.thing(pr.well(), 10, 14, over_rows=1)


def homes(t: Town) -> None:
    for rid, (x, y, b) in HOMES.items():
        t.building(b, x, y, f"home_{rid}")
        dx = x + b.doors[0]
        yard_top = y + b.h
        # a short path from the door to the street
        street = next(yy for yy in range(yard_top, H) if (dx, yy) in t.paved)
        t.road("dirt", dx, yard_top, dx, street - 1)
        mx = dx + 1 if b.doors[0] < 3 else dx - 1
        t.thing(pr.mailbox(["red", "blue", "teal", "gold"][len(rid) % 4]), mx, yard_top)
    # the two southern rows have only one yard row: reach into the street
    for name in ("ada", "edith", "felix", "dev", "gus", "mae"):
        for i, a in enumerate(t.areas):
            if a[0] == f"home_{name}":
                t.areas[i] = (a[0], a[1], a[2], a[3], 2)


def greenery(t: Town) -> None:
    for kind, x, y in (
        ("oak", 4, 14), ("apple", 8, 14), ("oak", 16, 14), ("blossom", 19, 14),
        ("oak", 43, 14), ("apple", 46, 14), ("blossom", 55, 14), ("oak", 8, 27),
        ("blossom", 27, 27), ("oak", 8, 36), ("apple", 27, 36), ("blossom", 12, 1),
        ("oak", 23, 2), ("apple", 37, 2), ("oak", 60, 14),
    ):  # fmt: skip
        t.tree(kind, x, y)
    for x, y in ((2, 16), (52, 16), (20, 33), (20, 42), (47, 2), (54, 3), (60, 3), (25, 2)):
        t.pine(x, y)
    t.bed(16, 18, 17, 0)
    t.bed(43, 45, 17, 4)
    for x, y, k in ((60, 8, "berry"), (48, 16, "flower"), (2, 21, "plain"), (9, 21, "berry")):
        t.thing(pr.bush(k), x, y)
    t.fence(8, 10, 33)
    t.fence(8, 10, 42)
    for i, (x, y) in enumerate(((9, 30), (10, 30), (9, 31), (10, 31))):
        t.thing(pr.crops(i % 3), x, y)
    t.thing(pr.rock(1), 60, 24)


def build() -> Town:
    t = Town()
    roads(t)
    park(t)
    public(t)
    plaza(t)
    homes(t)
    greenery(t)
    forest(t)
    return t
