"""The bill's charts are laid out from the figures alone: bars stacked per hour by purpose,
scaled to the busiest hour, and one bar per resident scaled to the biggest spender."""

from __future__ import annotations

import datetime as dt

from agents import bill

START = dt.datetime(2026, 6, 21, 0, tzinfo=dt.UTC)


def hour(i: int, **purposes: int) -> bill.Hour:
    slot = bill.Hour(start=START + dt.timedelta(hours=i), purposes=dict(purposes))
    slot.tokens_in = sum(purposes.values())
    return slot


def test_hours_stack_their_purposes_from_the_baseline_scaled_to_the_busiest_hour():
    slots = [hour(0, reply=300, plan=100), hour(1), hour(2, reply=800)]
    chart = bill.hourly_chart(slots, width=300, height=100, order=["reply", "plan"])
    assert chart["peak"] == 800
    reply0, plan0, reply2 = chart["bars"]
    assert (reply0.x, reply0.y, reply0.height) == (1, 62.5, 37.5)  # 300 of 800 on a 100 axis
    assert (plan0.x, plan0.y, plan0.height) == (1, 50.0, 12.5)  # stacked on top of the reply
    assert (reply2.x, reply2.y, reply2.height, reply2.width) == (201, 0.0, 100.0, 98)
    assert reply0.colour == reply2.colour != plan0.colour
    assert plan0.title == "00:00 plan: 100 tokens"
    assert [t["label"] for t in chart["ticks"]] == ["00"]  # every third hour
    reply, plan = chart["legend"]  # under the hour labels, side by side
    assert (reply["name"], reply["colour"], reply["x"], reply["y"]) == (
        "reply",
        bill.COLOURS["reply"],
        0,
        132,
    )
    assert (plan["name"], plan["colour"], plan["y"]) == ("plan", bill.COLOURS["plan"], 132)
    assert plan["x"] > reply["text_x"] + 5 * 6  # after "reply"'s label


def test_a_long_legend_wraps_to_the_next_row():
    names = [f"purpose-{i}" for i in range(8)]
    chart = bill.hourly_chart([hour(0, **dict.fromkeys(names, 10))], width=300, order=names)
    rows = sorted({item["y"] for item in chart["legend"]})
    assert len(rows) > 1
    assert all(item["x"] + 16 + 6.5 * len(item["name"]) <= 300 for item in chart["legend"])
    assert chart["view_height"] == rows[-1] + 20


def test_an_empty_day_draws_no_bars():
    chart = bill.hourly_chart([hour(i) for i in range(24)])
    assert chart["bars"] == [] and chart["legend"] == []
    assert [t["label"] for t in chart["ticks"]] == ["00", "03", "06", "09", "12", "15", "18", "21"]


def test_unknown_purposes_get_distinct_spare_colours():
    names = ["reply", "gossip", "dream", "embed"]
    colours = bill.colours(names)
    assert colours["reply"] == bill.COLOURS["reply"]
    assert colours["gossip"] != colours["dream"]
    assert {colours["gossip"], colours["dream"]} <= set(bill.SPARE_COLOURS)


def test_the_cost_line_has_a_point_per_hour_on_its_own_scale():
    slots = [hour(0, reply=300), hour(1), hour(2, embed=900)]
    slots[0].cost, slots[2].cost = 0.004, 0.001
    chart = bill.hourly_chart(slots, width=300, height=100)
    assert chart["peak_cost"] == 0.004
    assert chart["cost_line"] == "50.00,0.00 150.00,100.00 250.00,75.00"
    assert bill.hourly_chart([hour(0)])["cost_line"] == ""  # nothing spent: no line


def test_residents_are_rows_of_hours_as_bright_as_their_tokens():
    slots = [hour(i) for i in range(4)]
    ada = bill.Spend("Ada", tokens_in=500, per_hour=[0, 400, 0, 100])
    bo = bill.Spend("Bo", tokens_in=200, per_hour=[200, 0, 0, 0])
    chart = bill.resident_chart([ada, bo], slots, width=376, row=20)
    first, second = chart["rows"]
    assert (first["name"], first["tokens"], first["y"]) == ("Ada", 500, 0)
    assert (second["name"], second["y"]) == ("Bo", 20)
    # 376 wide: 120 for names, 56 for totals, 200 for four hours of 50.
    assert [(c["x"], c["width"], c["opacity"]) for c in first["cells"]] == [
        (170, 49, "1.00"),  # the busiest cell of the grid
        (270, 49, "0.36"),  # a quarter of it: dim, but seen
    ]
    assert [(c["x"], c["opacity"]) for c in second["cells"]] == [(120, "0.57")]
    assert first["cells"][0]["title"] == "Ada, 01:00: 400 tokens"
    assert [t["label"] for t in chart["ticks"]] == ["00", "03"]
    assert chart["height"] == 40
