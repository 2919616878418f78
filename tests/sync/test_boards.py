"""A supervisor's live board: an office session subscribes on `WS /api/sync/live` and sees stock bookings in its
warehouse as they commit; refused bookings and other warehouses never show; no session, no board."""

from __future__ import annotations

import json

from tests.factory import make_item
from tests.live_sockets import closed_with, next_message, open_board, open_live
from tests.sync_fixtures import enrolled_device


def test_a_warehouse_board_shows_bookings_there_and_nothing_else(server, login, tmp_path, unique):
    item = make_item(login("planner"), unique("BOARD"))
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


# -- a supervisor's tablet: a device socket watches the boards of its own work centres ------------------------------

def work_centre(admin, unique, name: str = "PRESS") -> str:
    """A work centre of the test's own at NB1, so downtime on it meets no other test's."""
    code = unique(name)
    created = admin.post("/api/work_centres", json={"code": code, "name": "Board test press", "site": "NB1"})
    assert created.status_code == 201, created.text
    return code


def subscribe(socket, topics: list) -> None:
    socket.send(json.dumps({"type": "subscribe", "topics": topics}))


def downtime(device, centre: str, action: str) -> dict:
    mutation = device.enqueue("production.downtime", {"work_centre": centre, "action": action, "reason": "Die change"})
    device.push_once()
    result = device.result(mutation)
    assert result["status"] == "applied", result
    return result


def test_a_device_watches_its_own_work_centres_board_and_keeps_its_pokes(server, login, admin, tmp_path, unique):
    press, other = work_centre(admin, unique), work_centre(admin, unique, "LATHE")
    supervisor = login("supervisor")
    tablet = enrolled_device(server.url, supervisor, tmp_path, work_centres=[press])
    operator = enrolled_device(server.url, supervisor, tmp_path, work_centres=[press, other])
    socket = open_live(server.url, tablet.token)
    subscribe(socket, [f"board:workcentre:{press}"])
    assert next_message(socket, "subscribed", 5)["topics"] == [f"board:workcentre:{press}"]

    downtime(operator, press, "start")
    event = next_message(socket, "board", 5)
    assert event is not None and event["topic"] == f"board:workcentre:{press}"
    assert [(e["kind"], e["work_centre"], e["action"], e["reason"]) for e in event["events"]] == [
        ("downtime", press, "start", "Die change")]
    downtime(operator, other, "start")  # another work centre's board: not watched
    downtime(operator, press, "stop")
    event = next_message(socket, "board", 5)
    assert [(e["work_centre"], e["action"]) for e in event["events"]] == [(press, "stop")]
    downtime(operator, other, "stop")
    assert next_message(socket, "poke", 5) is not None, "the pokes go on beside the board"
    socket.close()
    tablet.close()
    operator.close()


def test_a_board_outside_the_devices_scope_is_refused_on_the_socket_which_stays_open(server, login, admin, tmp_path,
                                                                                      unique):
    press, other = work_centre(admin, unique), work_centre(admin, unique, "LATHE")
    supervisor = login("supervisor")
    tablet = enrolled_device(server.url, supervisor, tmp_path, work_centres=[press])
    operator = enrolled_device(server.url, supervisor, tmp_path, work_centres=[press, other])
    socket = open_live(server.url, tablet.token)
    for topics, code in (([f"board:workcentre:{other}"], "topic_out_of_scope"),
                         (["board:orders"], "topic_out_of_scope"),
                         (["board:warehouse:RM"], "topic_out_of_scope"),
                         (["everything"], "invalid_topics"),
                         ("board:orders", "invalid_topics")):
        subscribe(socket, topics)
        error = next_message(socket, "error", 5)
        assert error is not None and error["code"] == code, (topics, error)
        assert error["message"]
    assert error is not None
    subscribe(socket, [f"board:workcentre:{press}", f"board:workcentre:{other}"])
    refused = next_message(socket, "error", 5)
    assert refused["code"] == "topic_out_of_scope" and refused["topics"] == [f"board:workcentre:{other}"]

    downtime(operator, other, "start")
    assert next_message(socket, "poke", 5) is None, "the other centre is outside the tablet's scope: no poke either"
    assert next_message(socket, "board", 1) is None, "nothing of the refused board"
    downtime(operator, press, "start")
    assert next_message(socket, "poke", 5) is not None, "the socket still pokes after the refusals"
    socket.send(json.dumps({"type": "ping"}))
    assert next_message(socket, "pong", 5) is not None

    subscribe(socket, [f"board:workcentre:{press}"])  # a valid subscribe works after the refusals
    assert next_message(socket, "subscribed", 5)["topics"] == [f"board:workcentre:{press}"]
    downtime(operator, press, "stop")
    assert next_message(socket, "board", 5)["events"][0]["action"] == "stop"
    subscribe(socket, [])  # an empty list stops watching
    assert next_message(socket, "subscribed", 5)["topics"] == []
    downtime(operator, press, "start")
    assert next_message(socket, "board", 2) is None
    downtime(operator, press, "stop")
    downtime(operator, other, "stop")
    socket.close()
    tablet.close()
    operator.close()


def test_an_office_board_still_sees_a_work_centre_beside_a_device_watching_it(server, login, admin, tmp_path, unique):
    press = work_centre(admin, unique)
    supervisor = login("supervisor")
    office = open_board(server.url, supervisor.cookies.get("floorsync_session"), [f"board:workcentre:{press}"])
    assert next_message(office, "subscribed", 5)["topics"] == [f"board:workcentre:{press}"]
    tablet = enrolled_device(server.url, supervisor, tmp_path, work_centres=[press])
    socket = open_live(server.url, tablet.token)
    subscribe(socket, [f"board:workcentre:{press}"])
    assert next_message(socket, "subscribed", 5) is not None
    socket.close()  # the device's watch ends; the office board's must not

    downtime(tablet, press, "start")
    event = next_message(office, "board", 5)
    assert event is not None and event["events"][0]["action"] == "start"
    downtime(tablet, press, "stop")
    assert next_message(office, "board", 5)["events"][0]["action"] == "stop"
    office.close()
    tablet.close()
