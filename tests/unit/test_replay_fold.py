"""Replay folds events into the state shown at a moment."""

from town.replay import fold


def _state() -> dict:
    return {"players": {}, "conversations": {}, "messages": []}


def test_renamed_resident_keeps_its_place_and_walk_in_replay():
    state = _state()
    joined = {"id": "ada", "name": "Ada", "character": "ada", "x": 3, "y": 4}
    fold(state, {"kind": "player_joined", "t": 0, "player": joined})
    fold(
        state,
        {"kind": "move", "t": 1, "player": "ada", "path": [[3, 4], [5, 4]], "t0": 1, "speed": 2},
    )
    updated = {"id": "ada", "name": "Ada B.", "character": "cora", "x": 0, "y": 0, "path": None}
    fold(state, {"kind": "player_updated", "t": 2, "player": updated})
    ada = state["players"]["ada"]
    assert (ada["name"], ada["character"]) == ("Ada B.", "cora")
    assert (ada["x"], ada["y"], ada["path"]) == (3, 4, [[3, 4], [5, 4]])


def test_update_of_someone_who_left_is_ignored():
    state = _state()
    fold(state, {"kind": "player_updated", "t": 2, "player": {"id": "gone", "name": "X"}})
    assert state["players"] == {}
