"""The bill: what a world's minds cost, by hour, by purpose and by resident, from the call records.

Every figure comes from `ModelCall` rows. A row's cost is its recorded `cost_usd`; a row
recorded without one (cost 0 with tokens, e.g. rows made before prices were set) is priced
at LLM_PRICE_IN / LLM_PRICE_OUT (EMBEDDING_PRICE for embeddings), USD per million tokens.
The staff page (`agents.views.bill`) and `town status` (`status_lines`) show the same figures.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncHour
from django.utils import timezone

from agents import budget

HOURS = 24
EMBED = "embed"
# Colours of the chart's purposes (the site's palette); others take the spare ones in turn.
COLOURS = {
    "reply": "#f2a65a",
    "script": "#c9a0dc",
    "plan": "#8fc27a",
    "summary": "#8fb8e8",
    "reflect": "#e8735a",
    "reflection": "#e8735a",
    "embed": "#b3a2b5",
    "interview": "#ffd27a",
}
SPARE_COLOURS = ("#6f8fc8", "#d9c9b4", "#c97aa8", "#7ac2b8", "#a88f6b")


@dataclass
class Spend:
    """Calls, tokens and dollars of one slice of the bill (an hour, a purpose, a resident)."""

    name: str = ""
    calls: int = 0
    failed: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    per_hour: list[int] = field(default_factory=list)  # tokens in each hour of the window

    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out

    def add(self, other: Spend) -> None:
        self.calls += other.calls
        self.failed += other.failed
        self.tokens_in += other.tokens_in
        self.tokens_out += other.tokens_out
        self.cost += other.cost


@dataclass
class Hour(Spend):
    """One hour of the bill; `purposes` splits its tokens by what the calls were for."""

    start: dt.datetime = field(default_factory=timezone.now)
    purposes: dict[str, int] = field(default_factory=dict)


def prices() -> tuple[float, float, float]:
    """USD per million tokens: prompt, completion, embedding (settings, with defaults)."""
    return (
        float(getattr(settings, "LLM_PRICE_IN", 0.15)),
        float(getattr(settings, "LLM_PRICE_OUT", 0.60)),
        float(getattr(settings, "EMBEDDING_PRICE", 0.02)),
    )


def _rows(world_id: int, since: dt.datetime, until: dt.datetime | None = None) -> list[dict]:
    """The world's calls since `since`, summed per (hour, purpose, resident) in the database."""
    from agents.models import ModelCall

    calls = ModelCall.objects.filter(world_id=world_id, created__gte=since)
    if until is not None:
        calls = calls.filter(created__lt=until)
    unpriced = Q(cost_usd=0)
    return list(
        calls.annotate(hour=TruncHour("created", tzinfo=dt.UTC))
        .values("hour", "purpose", "agent")
        .annotate(
            calls=Count("id"),
            failed=Count("id", filter=Q(ok=False)),
            sum_in=Sum("tokens_in"),
            sum_out=Sum("tokens_out"),
            cost=Sum("cost_usd"),
            unpriced_in=Sum("tokens_in", filter=unpriced),
            unpriced_out=Sum("tokens_out", filter=unpriced),
        )
        .order_by("hour")
    )


def _spend(row: dict, name: str = "") -> Spend:
    price_in, price_out, price_embed = prices()
    cost = float(row["cost"] or 0.0)
    unpriced_in, unpriced_out = row["unpriced_in"] or 0, row["unpriced_out"] or 0
    if row["purpose"] == EMBED:
        cost += (unpriced_in + unpriced_out) * price_embed / 1e6
    else:
        cost += (unpriced_in * price_in + unpriced_out * price_out) / 1e6
    return Spend(
        name=name,
        calls=row["calls"],
        failed=row["failed"],
        tokens_in=row["sum_in"] or 0,
        tokens_out=row["sum_out"] or 0,
        cost=cost,
    )


def _window(hours: int, now: dt.datetime | None) -> tuple[dt.datetime, dt.datetime]:
    """(start of the first hour, end of the current hour) of the last `hours` hours."""
    now = now or timezone.now()
    this_hour = now.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    return this_hour - dt.timedelta(hours=hours - 1), this_hour + dt.timedelta(hours=1)


def hourly(world_id: int, hours: int = HOURS, now: dt.datetime | None = None) -> list[Hour]:
    """Every hour of the last `hours` (oldest first, the current one last), empty ones included."""
    first, end = _window(hours, now)
    slots = [Hour(start=first + dt.timedelta(hours=i)) for i in range(hours)]
    by_start = {slot.start: slot for slot in slots}
    for row in _rows(world_id, first, end):
        slot = by_start.get(row["hour"])
        if slot is None:
            continue
        part = _spend(row)
        slot.add(part)
        slot.purposes[row["purpose"]] = slot.purposes.get(row["purpose"], 0) + part.tokens
    return slots


def _grouped(world_id: int, key: str, hours: int, now: dt.datetime | None) -> list[Spend]:
    first, end = _window(hours, now)
    totals: dict[str, Spend] = {}
    for row in _rows(world_id, first, end):
        name = row[key]
        total = totals.setdefault(name, Spend(name=name, per_hour=[0] * hours))
        part = _spend(row, name)
        total.add(part)
        total.per_hour[(row["hour"] - first) // dt.timedelta(hours=1)] += part.tokens
    return sorted(totals.values(), key=lambda s: (-s.tokens, -s.cost, s.name))


def by_purpose(world_id: int, hours: int = HOURS, now: dt.datetime | None = None) -> list[Spend]:
    """The last `hours` hours summed per purpose (reply, plan, summary …), biggest first;
    `per_hour` holds each hour's tokens, oldest first."""
    return _grouped(world_id, "purpose", hours, now)


def by_resident(world_id: int, hours: int = HOURS, now: dt.datetime | None = None) -> list[Spend]:
    """The last `hours` hours summed per resident, biggest first; `name` is the resident's name,
    `per_hour` each hour's tokens, oldest first.

    Calls made for no resident (a world-wide job) are named "(no resident)"; a resident that
    no longer exists keeps its pid.
    """
    from town.models import Player

    spends = _grouped(world_id, "agent", hours, now)
    pids = [s.name for s in spends if s.name]
    names = dict(Player.objects.filter(world_id=world_id, pid__in=pids).values_list("pid", "name"))
    for spend in spends:
        spend.name = names.get(spend.name, spend.name) if spend.name else "(no resident)"
    return spends


def today(world_id: int) -> dict[str, Any]:
    """Today's spend against the world's daily budget (UTC day, or since the last reset)."""
    state = budget.status(world_id)
    total = Spend(name="today")
    for row in _rows(world_id, state["since"]):
        total.add(_spend(row))
    limit, spent = state["limit"], state["spent"]
    allowed = budget.residents_allowance(world_id) if limit else None
    return {
        "spent": spent,
        "limit": limit,
        "left": state["left"],
        "since": state["since"],
        "share": spent / limit if limit else None,
        "percent": round(100 * spent / limit) if limit else None,
        "calls": total.calls,
        "failed": total.failed,
        "cost": total.cost,
        # Residents among themselves may have used this much by now (paced over the day);
        # past it they talk, plan and reflect offline and the model is kept for people.
        "allowed": allowed,
        "allowed_share": allowed / limit if limit else None,
        "residents_offline": allowed is not None and spent >= allowed,
    }


def status_lines(world_id: int, hours: int = HOURS, now: dt.datetime | None = None) -> list[str]:
    """The bill in a few short lines of text (for `town status`)."""
    day = today(world_id)
    if day["limit"]:
        budget_text = f"of {day['limit']:,} ({day['share']:.0%}), {day['left']:,} left"
    else:
        budget_text = "(no daily limit)"
    lines = [
        f"tokens today: {day['spent']:,} {budget_text}; "
        f"${day['cost']:.4f} in {day['calls']:,} calls",
    ]
    slots = hourly(world_id, hours, now)
    total = Spend()
    for slot in slots:
        total.add(slot)
    busiest = max(slots, key=lambda s: s.tokens)
    lines.append(
        f"last {hours} h: {total.tokens:,} tokens (in {total.tokens_in:,}, "
        f"out {total.tokens_out:,}), ${total.cost:.4f}, {total.calls:,} calls"
        + (f", {total.failed:,} failed" if total.failed else "")
    )
    if total.calls:
        lines.append(
            f"busiest hour: {busiest.start:%H}:00 UTC, {busiest.tokens:,} tokens, "
            f"${busiest.cost:.4f}; this hour so far: {slots[-1].tokens:,} tokens"
        )
        lines.append("by purpose: " + _shares(by_purpose(world_id, hours, now)))
        lines.append("by resident: " + _shares(by_resident(world_id, hours, now), top=5))
    if day["limit"]:
        paced = " (paced over the day)" if getattr(settings, "MIND_BUDGET_PACED", True) else ""
        lines.append(
            f"residents among themselves: {day['allowed']:,} allowed by now{paced}; "
            + (
                "past it, they think offline and the model is kept for people"
                if day["residents_offline"]
                else "within it, they use the model"
            )
        )
    return lines


def _shares(spends: list[Spend], top: int | None = None) -> str:
    shown = spends[:top] if top else spends
    text = ", ".join(f"{s.name} {s.tokens:,} (${s.cost:.4f})" for s in shown)
    if top and len(spends) > top:
        rest = Spend()
        for s in spends[top:]:
            rest.add(s)
        text += f", {len(spends) - top} more {rest.tokens:,} (${rest.cost:.4f})"
    return text


def colours(names: list[str]) -> dict[str, str]:
    """A stable colour for each purpose on the chart."""
    out, spare = {}, iter(SPARE_COLOURS * (1 + len(names) // len(SPARE_COLOURS)))
    for name in names:
        out[name] = COLOURS.get(name) or next(spare)
    return out


@dataclass
class Bar:
    """One rectangle of the hourly chart (SVG user units)."""

    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str


def hourly_chart(
    slots: list[Hour], width: float = 480, height: float = 160, order: list[str] | None = None
) -> dict[str, Any]:
    """Stacked bars of tokens per hour by purpose, laid out for an inline SVG."""
    order = order or sorted({p for s in slots for p in s.purposes})
    palette = colours(order)
    peak = max([s.tokens for s in slots] + [1])
    step = width / max(1, len(slots))
    bars: list[Bar] = []
    for i, slot in enumerate(slots):
        y = height
        for purpose in order:
            tokens = slot.purposes.get(purpose, 0)
            if not tokens:
                continue
            h = tokens / peak * height
            y -= h
            bars.append(
                Bar(
                    x=round(i * step + 1, 2),
                    y=round(y, 2),
                    width=round(max(1.0, step - 2), 2),
                    height=round(h, 2),
                    colour=palette[purpose],
                    title=f"{slot.start:%H}:00 {purpose}: {tokens:,} tokens",
                )
            )
    # The cost of each hour as a line over the bars, on its own scale (embeddings are cheap).
    peak_cost = max([s.cost for s in slots] + [0.0])
    cost_line = " ".join(
        f"{i * step + step / 2:.2f},{height - (s.cost / peak_cost * height if peak_cost else 0):.2f}"
        for i, s in enumerate(slots)
    )
    ticks = [
        {"x": round(i * step + step / 2, 2), "label": f"{slot.start:%H}"}
        for i, slot in enumerate(slots)
        if i % 3 == 0
    ]
    legend, x, y = [], 0.0, height + 32
    for name in order:  # swatches in rows under the hours, wrapped at the chart's width
        room = 16 + 6.5 * len(name) + 14
        if x and x + room > width:
            x, y = 0.0, y + 16
        legend.append(
            {"name": name, "colour": palette[name], "x": round(x, 2), "text_x": round(x + 14, 2)}
            | {"y": y, "swatch_y": y - 9}
        )
        x += room
    return {
        "width": width,
        "height": height,
        "view_height": (legend[-1]["y"] if legend else height + 14) + 20,  # from y=-14
        "peak": peak,
        "peak_cost": peak_cost,
        "cost_line": cost_line if peak_cost else "",
        "bars": bars,
        "ticks": ticks,
        "legend": legend,
    }


def resident_chart(
    spends: list[Spend], slots: list[Hour], width: float = 480, row: float = 16
) -> dict[str, Any]:
    """A grid of residents (rows) by hours (columns), each cell as bright as its tokens, with
    each resident's day total on the right; laid out for an inline SVG."""
    label, total = 120, 56  # room for the names on the left and the totals on the right
    step = (width - label - total) / max(1, len(slots))
    peak = max([t for s in spends for t in s.per_hour] + [1])
    rows = []
    for r, spend in enumerate(spends):
        y = r * row
        cells = [
            {
                "x": round(label + i * step, 2),
                "width": round(max(1.0, step - 1), 2),
                "opacity": f"{0.15 + 0.85 * tokens / peak:.2f}",
                "title": f"{spend.name}, {slots[i].start:%H}:00: {tokens:,} tokens",
            }
            for i, tokens in enumerate(spend.per_hour)
            if tokens
        ]
        rows.append(
            {
                "name": spend.name,
                "tokens": spend.tokens,
                "y": round(y, 2),
                "text_y": round(y + row * 0.72, 2),
                "height": round(row - 2, 2),
                "cells": cells,
            }
        )
    ticks = [
        {"x": round(label + i * step + step / 2, 2), "label": f"{slot.start:%H}"}
        for i, slot in enumerate(slots)
        if i % 3 == 0
    ]
    height = row * len(spends)
    return {
        "width": width,
        "label_x": label - 6,
        "grid_x": label,
        "grid_width": round(step * len(slots), 2),
        "total_x": width,
        "height": height,
        "tick_y": height + 12,
        "view_height": height + 16,
        "rows": rows,
        "ticks": ticks,
    }
