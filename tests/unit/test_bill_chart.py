"""The bill's charts are laid out from the figures alone: bars stacked per hour by purpose,
scaled to the busiest hour, and one bar per resident scaled to the biggest spender."""

from __future__ import annotations

import datetime as dt

import pytest

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


def test_resident_bars_are_scaled_to_the_biggest_spender():
    spends = [bill.Spend("Ada", tokens_in=1000), bill.Spend("Bo", tokens_in=250, tokens_out=250)]
    chart = bill.share_chart(spends, width=490, row=20)
    ada, bo = chart["bars"]
    assert chart["height"] == 40
    assert ada["width"] == 300  # 490 wide, 130 for names, 60 for the figures
    assert bo["width"] == pytest.approx(150)
    assert (ada["y"], bo["y"]) == (0, 20)
    assert (bo["name"], bo["tokens"]) == ("Bo", 500)
