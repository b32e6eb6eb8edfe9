"""The operator's bill: the minds' calls summed by hour, purpose and resident, today's spend
against the budget, the staff page with its charts, and the lines `town status` prints."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from agents import bill, budget
from agents.models import ModelCall
from town import services as town_services
from town.models import Player

NOW = dt.datetime(2026, 6, 21, 15, 40, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def prices(settings):
    settings.LLM_PRICE_IN, settings.LLM_PRICE_OUT, settings.EMBEDDING_PRICE = 2.0, 8.0, 1.0
    budget.reset()
    yield settings
    budget.reset()


@pytest.fixture
def world(db):
    return town_services.create_world("Ledgerton")


@pytest.fixture
def residents(world) -> list[Player]:
    return list(world.players.filter(kind=Player.Kind.AGENT).order_by("pid")[:2])


def call(world, agent: str, purpose: str, tokens_in: int, tokens_out: int, cost: float, at=None):
    row = ModelCall.objects.create(
        world=world,
        agent=agent,
        purpose=purpose,
        model="m",
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        cost_usd=cost,
    )
    if at is not None:  # `created` is set on insert; move it afterwards
        ModelCall.objects.filter(pk=row.pk).update(created=at)
    return row


def spend_a_day(world, residents, now):
    """Two residents, three purposes over two hours, plus calls the bill must leave out."""
    ada, bo = residents
    call(world, ada.pid, "reply", 1000, 200, 0.01, at=now - dt.timedelta(hours=2))
    call(world, bo.pid, "plan", 500, 100, 0.0, at=now - dt.timedelta(hours=2, minutes=5))
    call(world, bo.pid, "reply", 300, 50, 0.002, at=now)
    call(world, "", "embed", 40, 0, 0.0, at=now)
    call(world, ada.pid, "reply", 9000, 900, 0.5, at=now - dt.timedelta(hours=30))  # too old
    elsewhere = town_services.create_world("Elsewhere", make_current=False)
    call(elsewhere, ada.pid, "reply", 7000, 700, 0.3, at=now)  # another world's


def test_hourly_has_every_hour_and_splits_them_by_purpose(world, residents):
    spend_a_day(world, residents, NOW)
    hours = bill.hourly(world.pk, now=NOW)
    assert len(hours) == 24
    assert hours[-1].start == dt.datetime(2026, 6, 21, 15, tzinfo=dt.UTC)
    assert hours[0].start == dt.datetime(2026, 6, 20, 16, tzinfo=dt.UTC)
    assert [h.start.hour for h in hours if h.calls] == [13, 15]
    two_ago, this = hours[-3], hours[-1]
    assert (two_ago.tokens_in, two_ago.tokens_out, two_ago.calls) == (1500, 300, 2)
    assert two_ago.purposes == {"reply": 1200, "plan": 600}
    # The plan was recorded without a cost: priced at 2 $/M in and 8 $/M out.
    assert two_ago.cost == pytest.approx(0.01 + (500 * 2 + 100 * 8) / 1e6)
    assert this.purposes == {"reply": 350, "embed": 40}
    assert this.cost == pytest.approx(0.002 + 40 * 1.0 / 1e6)
    assert sum(h.tokens for h in hours) == 2190


def test_purposes_and_residents_are_summed_and_ranked(world, residents):
    spend_a_day(world, residents, NOW)
    ada, bo = residents
    purposes = bill.by_purpose(world.pk, now=NOW)
    assert [(p.name, p.tokens, p.calls) for p in purposes] == [
        ("reply", 1550, 2),
        ("plan", 600, 1),
        ("embed", 40, 1),
    ]
    assert purposes[0].cost == pytest.approx(0.012)
    people = bill.by_resident(world.pk, now=NOW)
    assert [(p.name, p.tokens) for p in people] == [
        (ada.name, 1200),
        (bo.name, 950),
        ("(no resident)", 40),
    ]
    assert people[1].cost == pytest.approx(0.002 + 0.0018)
    # Only the last `hours`: with two, the calls of two hours ago fall out.
    assert [p.name for p in bill.by_purpose(world.pk, hours=2, now=NOW)] == ["reply", "embed"]


def test_today_is_measured_against_the_worlds_budget(world, residents):
    world.settings = {"daily_tokens": 10_000}
    world.save(update_fields=["settings"])
    ada, bo = residents
    call(world, ada.pid, "reply", 1000, 200, 0.01)
    call(world, bo.pid, "plan", 500, 100, 0.0)
    call(world, ada.pid, "reply", 9000, 900, 0.5, at=timezone.now() - dt.timedelta(days=2))
    day = bill.today(world.pk)
    assert (day["spent"], day["limit"], day["left"], day["percent"]) == (1800, 10_000, 8200, 18)
    assert day["calls"] == 2
    assert day["cost"] == pytest.approx(0.01 + 0.0018)
    lines = bill.status_lines(world.pk)
    assert lines[0] == "tokens today: 1,800 of 10,000 (18%), 8,200 left; $0.0118 in 2 calls"
    assert lines[1].startswith("last 24 h: 1,800 tokens (in 1,500, out 300), $0.0118, 2 calls")
    assert "this hour so far: 1,800 tokens" in lines[2]
    assert lines[3] == "by purpose: reply 1,200 ($0.0100), plan 600 ($0.0018)"
    assert lines[4] == f"by resident: {ada.name} 1,200 ($0.0100), {bo.name} 600 ($0.0018)"


def test_the_residents_allowance_is_shown_by_status_and_page(
    world, residents, monkeypatch, settings
):
    """What residents among themselves may have used by now, and whether they are past it."""
    settings.MIND_BUDGET_PEOPLE_SHARE = 0.8
    world.settings = {"daily_tokens": 24_000}
    world.save(update_fields=["settings"])
    call(world, residents[0].pid, "script", 1500, 300, 0.0)
    midnight = budget.day_start()
    clock = [midnight + dt.timedelta(minutes=30)]
    monkeypatch.setattr(budget.timezone, "now", lambda: clock[0])
    # 00:30, paced, one hour ahead: 80 % of 24,000 x 1.5 / 24 = 1,200 < 1,800 spent.
    lines = bill.status_lines(world.pk)
    assert lines[-1] == (
        "residents among themselves: 1,200 allowed by now (paced over the day); "
        "past it, they think offline and the model is kept for people"
    )
    page = staff_client().get("/staff/bill/").content.decode()
    allowed = re.search(r'data-testid="bill-allowed">(.*?)</p>', page, re.S)[1]
    assert "may have used 1,200 tokens by now" in allowed and "past it" in allowed
    assert 'x1="24.0"' in re.search(r"<line [^>]*bill-allowed-mark", page)[0]  # 1,200/24,000
    # 12:00: 80 % of 24,000 x 13 / 24 = 10,400.
    clock[0] = midnight + dt.timedelta(hours=12)
    budget.forget(world.pk)
    assert bill.status_lines(world.pk)[-1].endswith(
        "10,400 allowed by now (paced over the day); within it, they use the model"
    )


def test_status_lines_of_a_quiet_world_without_a_limit(world, settings):
    settings.MIND_DAILY_TOKENS = 0
    budget.reset()
    assert bill.status_lines(world.pk) == [
        "tokens today: 0 (no daily limit); $0.0000 in 0 calls",
        "last 24 h: 0 tokens (in 0, out 0), $0.0000, 0 calls",
    ]


def test_status_lines_name_the_top_residents_and_sum_the_rest(world):
    agents = list(world.players.filter(kind=Player.Kind.AGENT).order_by("pid")[:7])
    assert len(agents) == 7
    for i, resident in enumerate(agents):
        call(world, resident.pid, "reply", 100 * (i + 1), 0, 0.0)
    [line] = [line for line in bill.status_lines(world.pk) if line.startswith("by resident:")]
    assert line.startswith(f"by resident: {agents[6].name} 700 ($0.0014), {agents[5].name} 600")
    assert line.endswith(", 2 more 300 ($0.0006)")  # 200 + 100 tokens at 2 $/M


def staff_client() -> Client:
    client = Client()
    client.force_login(User.objects.create_user("purser", "p@example.com", is_staff=True))
    return client


def test_staff_see_the_bill_with_its_figures_and_charts(world, residents):
    world.settings = {"daily_tokens": 10_000}
    world.save(update_fields=["settings"])
    ada, bo = residents
    call(world, ada.pid, "reply", 1000, 200, 0.01)
    call(world, bo.pid, "plan", 500, 100, 0.0)
    call(world, bo.pid, "reply", 300, 50, 0.002)
    response = staff_client().get("/staff/bill/")
    assert response.status_code == 200
    page = response.content.decode()
    today = re.search(r'data-testid="bill-today">(.*?)</p>', page, re.S)[1]
    assert "2,150 tokens of a daily budget of 10,000 (22 %)" in today
    assert "7,850 left" in today
    assert "$0.0138" in today  # 0.01 + 0.002 + the plan priced at 2 and 8 $/M: 0.0018
    purposes = re.findall(
        r'data-testid="bill-purpose"><th scope="row">(\w+)</th><td>([\d,]+)', page
    )
    assert purposes == [("reply", "1,550"), ("plan", "600")]
    people = re.findall(
        r'data-testid="bill-resident"><th scope="row">([^<]+)</th><td>([\d,]+)', page
    )
    assert people == [(ada.name, "1,200"), (bo.name, "950")]
    hourly = re.search(r'data-testid="bill-hourly-chart">(.*?)</svg>', page, re.S)[1]
    bar = r'<rect x="[\d.]+" y="([\d.]+)" width="[\d.]+" height="([\d.]+)" fill="#\w+"><title>'
    bars = re.findall(bar, hourly)
    assert len(bars) == 2  # this hour: reply and plan stacked
    assert float(bars[0][1]) == pytest.approx(160 * 1550 / 2150, abs=0.01)
    assert float(bars[1][1]) == pytest.approx(160 * 600 / 2150, abs=0.01)
    assert float(bars[0][0]) + float(bars[0][1]) == pytest.approx(160)  # from the baseline up
    assert "plan: 600 tokens" in hourly
    legend = re.findall(r'<rect [^>]*fill="(#\w+)"/><text [^>]*>(\w+)</text>', hourly)
    assert legend == [(bill.COLOURS["reply"], "reply"), (bill.COLOURS["plan"], "plan")]
    assert re.search(r'<polyline points="[\d., ]+"[^>]*data-testid="bill-cost-line"', hourly)
    assert "highest $0.0138" in hourly
    grid = re.search(r'data-testid="bill-resident-chart">(.*?)</svg>', page, re.S)[1]
    rows = re.findall(r'data-testid="bill-resident-row">(.*?)</g>', grid, re.S)
    assert len(rows) == 2
    assert ada.name in rows[0] and bo.name in rows[1]
    assert f"{ada.name}, {timezone.now():%H}:00: 1,200 tokens" in rows[0]  # this hour's cell
    assert ">950</text>" in rows[1]  # the day's total
    assert 'data-testid="bill-budget-bar"' in page


def test_the_bill_page_in_spanish_keeps_svg_numbers_readable(world, residents):
    call(world, residents[0].pid, "reply", 1234, 567, 0.0)
    call(world, residents[1].pid, "plan", 333, 17, 0.0)
    client = staff_client()
    page = client.get(f"/staff/bill/{world.pk}/", headers={"accept-language": "es"})
    text = page.content.decode()
    assert "La factura" in text
    svgs = "".join(re.findall(r"<svg.*?</svg>", text, re.S))
    assert re.findall(r'(?:x|y|width|height)="[\d.]+"', svgs)
    assert not re.findall(r'(?:x|y|width|height)="[^"]*,[^"]*"', svgs)  # 12,5 is no SVG number


def test_the_bill_is_for_staff_only(world, client):
    anonymous = client.get("/staff/bill/")
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/accounts/login/?next=/staff/bill/")
    client.force_login(User.objects.create_user("visitor", "v@example.com"))
    assert client.get("/staff/bill/").status_code == 403
    assert client.get(f"/staff/bill/{world.pk}/").status_code == 403
    assert 'data-testid="bill-link"' not in client.get("/accounts/agents/").content.decode()
    staff = staff_client()
    assert 'href="/staff/bill/"' in staff.get("/accounts/agents/").content.decode()
    assert staff.get("/staff/bill/999999/").status_code == 404
