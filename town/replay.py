"""Replaying a world's public history: the state at a moment, and the events after it."""

from __future__ import annotations

from town.models import HistoryEvent

PAGE = 5000


def fold(state: dict, event: dict) -> None:
    """Advance a replay state (players, conversations, messages) by one event."""
    kind = event["kind"]
    players, convs = state["players"], state["conversations"]
    if kind == "player_joined":
        players[event["player"]["id"]] = dict(event["player"])
    elif kind == "player_left":
        players.pop(event["player"], None)
    elif kind == "player_updated" and event["player"]["id"] in players:
        # A renamed or re-dressed resident keeps its place and its walk.
        moving = ("x", "y", "path", "t0", "speed", "facing")
        profile = {k: v for k, v in event["player"].items() if k not in moving}
        players[event["player"]["id"]].update(profile)
    elif kind == "move" and event["player"] in players:
        p = players[event["player"]]
        p.update(path=event["path"], t0=event["t0"], speed=event["speed"])
        p["x"], p["y"] = event["path"][0]
    elif kind == "arrived" and event["player"] in players:
        p = players[event["player"]]
        p.update(x=event["x"], y=event["y"])
        for field in ("path", "t0", "speed"):
            p.pop(field, None)
    elif kind == "activity" and event["player"] in players:
        players[event["player"]]["activity"] = event["text"]
    elif kind in ("conversation_invited", "conversation_accepted", "conversation_started"):
        convs[event["conversation"]["id"]] = event["conversation"]
    elif kind == "conversation_ended":
        convs.pop(event["conversation"], None)
    elif kind == "message":
        state["messages"] = [*state["messages"][-19:], event]


def history(
    world_id: int, start: int, end: int | None, *, events_only: bool = False, clock: dict
) -> dict:
    """The replay state at `start` and the events in (start, end], a page at a time.

    A page always ends on a whole moment (all events of its last `t`), so the next page,
    asked `from=next`, continues exactly where this one stopped.
    """
    rows = HistoryEvent.objects.filter(world_id=world_id)
    first = rows.order_by("t", "id").values_list("t", flat=True).first() or 0
    last = rows.order_by("-t", "-id").values_list("t", flat=True).first() or 0
    window = rows.filter(t__gt=start)
    if end is not None:
        window = window.filter(t__lte=end)
    events = list(window.order_by("t", "id").values_list("data", flat=True)[: PAGE + 1])
    more = len(events) > PAGE
    if more:
        cut = events[PAGE]["t"]
        whole = [e for e in events[:PAGE] if e["t"] != cut]
        events = whole or events[:PAGE]
    out = {
        "world": world_id,
        "first": first,
        "last": last,
        "at": start,
        "clock": clock,
        "events": events,
        "more": more,
        "next": events[-1]["t"] if more else None,
    }
    if not events_only:
        state: dict = {"players": {}, "conversations": {}, "messages": []}
        for data in rows.filter(t__lte=start).order_by("t", "id").values_list("data", flat=True):
            fold(state, data)
        out["state"] = {
            "players": list(state["players"].values()),
            "conversations": list(state["conversations"].values()),
            "messages": state["messages"],
        }
    return out
