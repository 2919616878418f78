"""A supervisor's live board: an office session subscribes on `WS /api/sync/live` and sees stock bookings in its
warehouse as they commit; refused bookings and other warehouses never show; no session, no board."""

from __future__ import annotations

import json

from websockets.sync.client import connect

from tests.live_sockets import closed_with, next_message
from tests.sync_fixtures import enrolled_device


def open_board(base_url: str, session_cookie: str | None, topics: list, origin: str | None = None):
    headers = {"Cookie": f"floorsync_session={session_cookie}"} if session_cookie else {}
    socket = connect(base_url.replace("http://", "ws://") + "/api/sync/live", open_timeout=10,
                     additional_headers=headers, origin=origin, legacy=True)
    socket.send(json.dumps({"type": "subscribe", "topics": topics}))
    return socket


def make_item(planner, unique) -> str:
    code = unique("BOARD")
    planner.post("/api/items", json={"code": code, "name": "Board test part", "type": "raw", "unit": "PCS"}).raise_for_status()
    return code


def test_a_warehouse_board_shows_bookings_there_and_nothing_else(server, login, tmp_path, unique):
    item = make_item(login("planner"), unique)
    supervisor = login("supervisor")
    board = open_board(server.url, supervisor.cookies.get("floorsync_session"), ["board:warehouse:RM"])
    assert next_message(board, "subscribed", 5)["topics"] == ["board:warehouse:RM"]

    device = enrolled_device(server.url, login("warehouse"), tmp_path)
    device.enqueue("stock.count", {"item": item, "location": "FG-01-01", "counted_quantity": "3"})  # another warehouse
    device.enqueue("stock.move", {"item": item, "from_location": "RM-A-01-01", "to_location": "RM-A-01-02", "quantity": 1})  # refused
    device.enqueue("stock.count", {"item": item, "location": "RM-A-01-01", "counted_quantity": "8"})
    device.push_once()

    event = next_message(board, "board", 3)
    assert event is not None and event["topic"] == "board:warehouse:RM"
    assert event["events"] == [{"kind": "stock", "reason": "count", "item": item, "location": "RM-A-01-01", "lot": None,
                              "status": "available", "quantity": "8"}]
    assert next_message(board, "board", 1) is None, "the FG count and the refused move never reach the RM board"
    board.close()
    device.close()


def test_no_session_no_board_and_bad_topics_are_refused(server, login):
    messages, code = closed_with(open_board(server.url, None, ["board:warehouse:RM"]), 5)
    assert code == 4401 and messages[-1]["code"] == "not_authenticated"

    session = login("supervisor").cookies.get("floorsync_session")
    messages, code = closed_with(open_board(server.url, session, ["everything"]), 5)
    assert code == 4400 and messages[-1]["code"] == "invalid_topics"


def test_a_board_opened_from_another_site_is_refused(server, login):
    session = login("supervisor").cookies.get("floorsync_session")
    messages, code = closed_with(open_board(server.url, session, ["board:orders"], origin="https://evil.example"), 5)
    assert code == 4403 and messages[-1]["code"] == "forbidden_origin"
