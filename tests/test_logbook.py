"""Tests of the logbook entries of cabinet events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from homeassistant.components.recorder import Recorder
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    mock_component,
)
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from pytest_homeassistant_custom_component.typing import (
    RecorderInstanceContextManager,
    WebSocketGenerator,
)

from custom_components.bajie_charging.logbook import describe_cabinet_event
from simulator import Simulator

from .event_helpers import (
    ClientFactory,
    connect_simulator,
    device_id_of,
    entity_id_for,
    push,
)


@pytest.fixture
def mock_recorder_before_hass(
    async_test_recorder: RecorderInstanceContextManager,
) -> None:
    """Prepare the recorder's test database before Home Assistant starts."""


@pytest.fixture
async def logbook(hass: HomeAssistant) -> None:
    """Set up the logbook; the HTTP test client freezes the routes after.

    The frontend is marked as loaded instead of set up, because its package
    is not part of the test requirements.
    """
    mock_component(hass, "frontend")
    assert await async_setup_component(hass, "websocket_api", {})
    assert await async_setup_component(hass, "logbook", {})


@pytest.fixture
async def cloud(
    hass: HomeAssistant,
    logbook: None,
    loaded_entry: MockConfigEntry,
    simulator: Simulator,
    hass_client_no_auth: ClientFactory,
) -> Simulator:
    """Return the simulator, pushing to the loaded entry's webhook."""
    await connect_simulator(simulator, hass_client_no_auth)
    return simulator


@pytest.mark.parametrize(
    ("event_type", "data", "message"),
    [
        ("cabinet_online", {}, "went online"),
        ("cabinet_offline", {}, "went offline"),
        (
            "cabinet_status",
            {"batteries_to_rent": 3, "free_slots": 5},
            "reported its status: 3 batteries to rent, 5 free slots",
        ),
        (
            "cabinet_status",
            {"batteries_to_rent": 1, "free_slots": 1},
            "reported its status: 1 battery to rent, 1 free slot",
        ),
        ("cabinet_status", {}, "reported its status"),
        (
            "battery_in",
            {"battery_id": "BAT0000001", "slot": 2, "order_id": "O-7"},
            "battery BAT0000001 returned to slot 2 (order O-7)",
        ),
        (
            "battery_borrow_out",
            {"battery_id": "BAT0000001", "slot": 3},
            "battery BAT0000001 borrowed from slot 3",
        ),
        ("battery_borrow_out", {}, "a battery borrowed"),
        (
            "battery_borrow_out",
            {
                "battery_id": "BAT0000001",
                "slot": 3,
                "fault_reason": "command_timed_out",
            },
            "failed to rent out battery BAT0000001 from slot 3: "
            "command to the cabinet timed out",
        ),
        (
            "battery_abnormal_warning",
            {
                "battery_id": "BAT0000001",
                "slot": 4,
                "fault_reason": "other",
                "fault_cause": "Battery temperature too high.",
            },
            'battery BAT0000001 in slot 4 is abnormal: other fault, "Battery '
            'temperature too high."',
        ),
        (
            "battery_popup",
            {"battery_id": "BAT0000001", "slot": 5, "eject_failed": False},
            "ejected battery BAT0000001 from slot 5",
        ),
        (
            "battery_popup",
            {
                "battery_id": "BAT0000001",
                "slot": 5,
                "eject_failed": True,
                "fault_reason": "eject_failed",
            },
            "failed to eject battery BAT0000001 from slot 5: eject failed",
        ),
        (
            "admin_rental_order",
            {"battery_id": "BAT0000001", "slot": 6, "order_id": "O-8"},
            "an administrator rented out battery BAT0000001 from slot 6 (order O-8)",
        ),
        (
            "pos_info_status",
            {"pos_device_id": "POS1", "pos_online": False},
            "POS terminal POS1 went offline",
        ),
        (
            "unknown",
            {"event": "DOOR_OPENED"},
            "sent an event the integration does not know: DOOR_OPENED",
        ),
    ],
)
def test_message_of_each_event(
    event_type: str, data: dict[str, Any], message: str
) -> None:
    """Each event type reads as a short sentence about the cabinet."""
    assert describe_cabinet_event(event_type, data) == message


async def _logbook_entries(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    start: datetime,
    **filters: list[str],
) -> list[dict[str, Any]]:
    """Return the logbook entries since start, through the websocket API."""
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {"type": "logbook/get_events", "start_time": start.isoformat(), **filters}
    )
    response = await client.receive_json()
    assert response["success"]
    entries: list[dict[str, Any]] = response["result"]
    return entries


async def test_logbook_shows_pushed_event(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    cloud: Simulator,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """A borrow pushed over HTTP shows in the cabinet device's logbook."""
    cabinet_id = cloud.cabinet_ids[0]
    device_id = device_id_of(hass, loaded_entry.entry_id, cabinet_id)
    start = dt_util.utcnow()
    body = await push(hass, cloud, cabinet_id, "BATTERY_BORROW_OUT")
    await async_wait_recording_done(hass)

    logged = await _logbook_entries(hass, hass_ws_client, start, device_ids=[device_id])
    entries = [entry for entry in logged if entry.get("domain") == "bajie_charging"]
    data = body["eventData"]
    assert [(entry["name"], entry["message"]) for entry in entries] == [
        (
            cabinet_id,
            f"battery {data['outBatteryId']} borrowed from slot {data['outSlot']} "
            f"(order {data['orderId']})",
        )
    ]


async def test_logbook_names_push_as_cause(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    cloud: Simulator,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """A state change a push made names the cabinet event as its cause."""
    cabinet_id = cloud.cabinet_ids[0]
    entity_id = entity_id_for(hass, "binary_sensor", f"{cabinet_id}_online")
    start = dt_util.utcnow()
    await push(hass, cloud, cabinet_id, "CABINET_OFFLINE")
    await async_wait_recording_done(hass)

    [entry] = await _logbook_entries(
        hass, hass_ws_client, start, entity_ids=[entity_id]
    )
    assert entry["state"] == "off"
    assert entry["context_event_type"] == "bajie_charging_event"
    assert entry["context_domain"] == "bajie_charging"
    assert entry["context_name"] == cabinet_id
    assert entry["context_message"] == describe_cabinet_event("cabinet_offline", {})
