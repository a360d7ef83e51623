"""Test the simulator's `/_simulator` control paths over real HTTP on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from simulator import FaultRule, Simulator

USERNAME = "agent"
PASSWORD = "secret"
AUTH = {"Authorization": aiohttp.encode_basic_auth(USERNAME, PASSWORD)}
# Port 9 (discard) has no listener here, so every push fails quickly.
CLOSED_PUSH_URL = "http://127.0.0.1:9/push"

# The tests run real TCP servers on 127.0.0.1. The Home Assistant test plugin
# still blocks connections to any other host.
pytestmark = pytest.mark.usefixtures("socket_enabled")


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    """Return a running simulator of two cabinets with four slots, no scenario."""
    simulator = Simulator(
        cabinets=2, slots=4, username=USERNAME, password=PASSWORD, seed=7
    )
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """Return an HTTP client session without credentials."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def control_url(sim: Simulator, name: str) -> str:
    """Return the URL of one control path of the simulator."""
    return sim.base_url.replace("/cdb-open-api/v1", f"/_simulator/{name}")


async def get_json(session: aiohttp.ClientSession, url: str) -> Any:
    """Send a GET and return the JSON reply, which must be HTTP 200."""
    async with session.get(url) as response:
        assert response.status == 200
        return await response.json()


async def post_event(
    session: aiohttp.ClientSession, sim: Simulator, **kwargs: Any
) -> tuple[int, Any]:
    """Post to the events path and return the status and JSON reply."""
    async with session.post(control_url(sim, "events"), **kwargs) as response:
        return response.status, await response.json()


def full_cabinet(sim: Simulator, cabinet_id: str) -> None:
    """Put a new battery into every empty slot of a cabinet, pushing nothing."""
    cabinet = sim.cabinets[cabinet_id]
    for slot, battery in cabinet.slots.items():
        if battery is None:
            cabinet.slots[slot] = sim.fleet.new_battery(50)


async def test_pushes_path_lists_deliveries(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    """The pushes path shows each push with its URL, body and failure."""
    sim.set_push_url(CLOSED_PUSH_URL)
    body = await sim.push_event(sim.cabinet_ids[0], "CABINET_STATUS")

    result = await get_json(session, control_url(sim, "pushes"))

    assert len(result["pushes"]) == 1
    push = result["pushes"][0]
    assert push["url"] == CLOSED_PUSH_URL
    assert push["body"] == body
    assert push["status"] is None
    assert push["error"] is not None
    assert push["skipped"] is False


async def test_faults_path_shows_uses_left(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    """A fault added as JSON is listed, its uses counting down per request."""
    rule = {"path": "/cabinet/getAllDevice", "times": 2, "business_error": [2004, "x"]}
    async with session.post(control_url(sim, "faults"), json=rule) as response:
        assert response.status == 200
        added = await response.json()
    assert added["faults"][0]["business_error"] == {"code": 2004, "msg": "x"}

    async with session.get(f"{sim.base_url}/cabinet/getAllDevice", headers=AUTH):
        pass
    listed = await get_json(session, control_url(sim, "faults"))

    assert len(listed["faults"]) == 1
    assert listed["faults"][0]["times"] == 1
    assert listed["faults"][0]["path"] == "/cabinet/getAllDevice"


async def test_faults_path_rejects_non_object(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    """A fault rule that is not a JSON object is rejected with HTTP 400."""
    async with session.post(control_url(sim, "faults"), json=[1, 2]) as response:
        assert response.status == 400
        error = (await response.json())["error"]

    assert "must be a JSON object" in error
    assert sim.faults == []


async def test_requests_path_filters_by_path(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    """`?path=` keeps only the recorded requests to that API path."""
    cabinet_id = sim.cabinet_ids[0]
    async with session.get(f"{sim.base_url}/cabinet/getAllDevice", headers=AUTH):
        pass
    async with session.get(
        f"{sim.base_url}/rent/cabinet/query",
        params={"deviceId": cabinet_id},
        headers=AUTH,
    ):
        pass

    url = control_url(sim, "requests")
    result = await get_json(session, f"{url}?path=/rent/cabinet/query")

    assert len(result["requests"]) == 1
    assert result["requests"][0]["query"] == {"deviceId": cabinet_id}
    assert result["requests"][0]["status"] == 200


async def test_control_paths_skip_faults_and_log(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    """Control paths are neither faulted nor recorded as API requests."""
    sim.add_fault(FaultRule(status=500))

    state = await get_json(session, control_url(sim, "state"))

    assert state["requestCount"] == 0
    assert state["faults"][0]["status"] == 500
    assert sim.request_count() == 0


async def test_state_counts_forbidden_operations(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    """An eject-all operation shows up in the state's forbidden request count."""
    params = {
        "cabinetid": sim.cabinet_ids[0],
        "slotNum": "1",
        "operationType": "popall",
    }
    async with session.post(
        f"{sim.base_url}/cabinet/operation", params=params, headers=AUTH
    ):
        pass

    state = await get_json(session, control_url(sim, "state"))

    assert state["forbiddenSlotRequests"] == 1
    assert state["requestCount"] == 1


async def test_event_without_cabinet_picks_one(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    """A scenario event without a cabinet id happens at a cabinet of the fleet."""
    status, result = await post_event(session, sim, json={"event": "status"})

    assert status == 200
    assert [body["event"] for body in result["pushes"]] == ["CABINET_STATUS"]
    assert result["pushes"][0]["eventData"]["cabinetId"] in sim.cabinet_ids


async def test_push_kind_event_applies_overrides(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    """A push kind with data returns the body with those eventData fields."""
    cabinet_id = sim.cabinet_ids[0]
    slot = next(
        slot for slot, battery in sim.cabinets[cabinet_id].slots.items() if battery
    )
    event = {
        "event": "BATTERY_BORROW_OUT",
        "cabinetId": cabinet_id,
        "data": {"outSlot": slot, "orderId": "ORD-7"},
    }

    status, result = await post_event(session, sim, json=event)

    assert status == 200
    assert result["pushes"][0]["eventData"]["orderId"] == "ORD-7"
    assert result["pushes"][0]["eventData"]["outSlot"] == slot
    assert sim.cabinets[cabinet_id].slots[slot] is None


async def test_event_says_what_was_not_pushed(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    """A body the push configuration does not send is named in notPushed."""
    # Nothing listens on port 9, so the pushes that are sent fail at once.
    sim.set_push_url("http://127.0.0.1:9/receiver")
    cabinet_id = sim.cabinet_ids[0]

    sent_status, sent = await post_event(
        session, sim, json={"event": "CABINET_STATUS", "cabinetId": cabinet_id}
    )
    skipped_status, skipped = await post_event(
        session, sim, json={"event": "NEW_KIND", "cabinetId": cabinet_id}
    )

    assert (sent_status, sent["notPushed"]) == (200, [])
    assert (skipped_status, skipped["notPushed"]) == (200, ["NEW_KIND"])


@pytest.mark.parametrize(
    ("request_kwargs", "message"),
    [
        (
            {"data": b"{not json", "headers": {"Content-Type": "application/json"}},
            "Body must be a JSON object",
        ),
        ({"json": ["rental"]}, "Body must be a JSON object"),
        ({"json": {"cabinetId": "{first}"}}, "event must be a non-empty string: None"),
        ({"json": {"event": ""}}, "event must be a non-empty string: ''"),
        (
            {"json": {"event": "rental", "cabinetId": 5}},
            "cabinetId must be a string: 5",
        ),
        (
            {"json": {"event": "BATTERY_IN", "cabinetId": "{first}", "data": [1]}},
            "data must be an object: [1]",
        ),
        (
            {"json": {"event": "BATTERY_IN"}},
            "cabinetId is required for BATTERY_IN, which is not a scenario event"
            " (rental, return, status, offline, online, abnormal, eject_failed,"
            " admin_rental, pos_status)",
        ),
    ],
    ids=[
        "not-json",
        "array",
        "no-event",
        "empty-event",
        "cabinet-number",
        "data-array",
        "kind-without-cabinet",
    ],
)
async def test_invalid_event_rejected(
    sim: Simulator,
    session: aiohttp.ClientSession,
    request_kwargs: dict[str, Any],
    message: str,
) -> None:
    """An invalid event request gets HTTP 400 naming the field and changes nothing."""
    body = request_kwargs.get("json")
    if isinstance(body, dict) and body.get("cabinetId") == "{first}":
        request_kwargs = {"json": {**body, "cabinetId": sim.cabinet_ids[0]}}
    before = {cabinet_id: dict(c.slots) for cabinet_id, c in sim.cabinets.items()}

    status, result = await post_event(session, sim, **request_kwargs)

    assert status == 400
    assert result["error"] == message
    assert sim.pushes == []
    assert {cabinet_id: dict(c.slots) for cabinet_id, c in sim.cabinets.items()} == (
        before
    )


async def test_impossible_push_kind_conflicts(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    """A return into a full cabinet is rejected with HTTP 409."""
    cabinet_id = sim.cabinet_ids[0]
    full_cabinet(sim, cabinet_id)

    status, result = await post_event(
        session, sim, json={"event": "BATTERY_IN", "cabinetId": cabinet_id}
    )

    assert status == 409
    assert result["error"] == f"cabinet {cabinet_id} has no unlocked empty slot"


async def test_impossible_scenario_event_conflicts(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    """A POS event in a fleet without POS terminals is rejected with HTTP 409."""
    for cabinet in sim.cabinets.values():
        cabinet.pos_device_id = ""

    status, result = await post_event(session, sim, json={"event": "pos_status"})

    assert status == 409
    assert result["error"] == "no cabinet allows the event pos_status"


async def test_cabinets_path_adds_cabinet(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    """A new cabinet gets an id of its own, is in the state and is listed."""
    async with session.post(control_url(sim, "cabinets")) as response:
        assert response.status == 201
        added = await response.json()

    cabinet_id = added["cabinetId"]
    assert cabinet_id in sim.cabinets
    assert len(sim.cabinet_ids) == 3
    state = await get_json(session, control_url(sim, "state"))
    assert cabinet_id in [cabinet["cabinetId"] for cabinet in state["cabinets"]]
    listing_url = f"{sim.base_url}/cabinet/getAllDevicePage?pageNum=1&pageSize=100"
    async with session.get(listing_url, headers=AUTH) as response:
        listing = await response.text()
    assert cabinet_id in listing
    assert sim.pushes == []


async def test_cabinets_path_takes_named_id(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    """A named cabinet is added once; the same name again is a conflict."""
    url = control_url(sim, "cabinets")
    async with session.post(url, json={"cabinetId": "BJX99999"}) as response:
        assert response.status == 201
        assert (await response.json())["cabinetId"] == "BJX99999"

    async with session.post(url, json={"cabinetId": "BJX99999"}) as response:
        assert response.status == 409
        assert "BJX99999" in (await response.json())["error"]


@pytest.mark.parametrize("body", [[1], {"cabinetId": 5}, {"cabinetId": " "}])
async def test_cabinets_path_rejects_invalid_body(
    sim: Simulator, session: aiohttp.ClientSession, body: object
) -> None:
    """A body that is not an object with a usable cabinetId gets HTTP 400."""
    async with session.post(control_url(sim, "cabinets"), json=body) as response:
        assert response.status == 400
    assert len(sim.cabinet_ids) == 2
