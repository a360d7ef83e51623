"""Tests of cabinet events: event entity, bus event, resends, order and time zone.

Every push goes from the simulator over real HTTP into the webhook.
"""

from __future__ import annotations

from datetime import datetime, timedelta
import logging
from typing import Any

from homeassistant.components.event import ATTR_EVENT_TYPE
from homeassistant.const import EVENT_STATE_CHANGED, EVENT_STATE_REPORTED
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components.bajie_charging.cabinet_events import EVENT_TYPES
from custom_components.bajie_charging.const import CONF_TIME_ZONE, EVENT_CABINET
from simulator import EventNotPossibleError, ScenarioEvent, Simulator

from .event_helpers import (
    device_id_of,
    empty_slot,
    occupied_slot,
    push,
    send,
    state_of,
    with_timestamp,
)

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
POS_DEVICE_ID = "POS0000001"

KNOWN_KINDS = [
    "CABINET_ONLINE",
    "CABINET_OFFLINE",
    "CABINET_STATUS",
    "BATTERY_IN",
    "BATTERY_BORROW_OUT",
    "BATTERY_ABNORMAL_WARNING",
    "BATTERY_POPUP",
    "ADMIN_RENTAL_ORDER",
    "POS_INFO_STATUS",
]


@pytest.fixture
def cabinet_id(cloud: Simulator) -> str:
    """Return the first simulated cabinet, with a POS terminal attached."""
    first = cloud.cabinet_ids[0]
    cloud.cabinets[first].pos_device_id = POS_DEVICE_ID
    return first


def _overrides(kind: str, simulator: Simulator, cabinet_id: str) -> dict[str, Any]:
    """Return the event data that pins a push of this kind to a known slot."""
    if kind == "BATTERY_IN":
        return {"returnSlot": empty_slot(simulator, cabinet_id)}
    if kind in {"BATTERY_BORROW_OUT", "ADMIN_RENTAL_ORDER"}:
        return {"outSlot": occupied_slot(simulator, cabinet_id)}
    if kind == "BATTERY_POPUP":
        return {"outSlot": occupied_slot(simulator, cabinet_id), "outStatus": "0"}
    if kind == "BATTERY_ABNORMAL_WARNING":
        return {"slotNum": occupied_slot(simulator, cabinet_id)}
    if kind == "POS_INFO_STATUS":
        return {"infoStatus": "online"}
    return {}


def _timestamp_of(body: dict[str, Any], delta: timedelta) -> str:
    sent = datetime.strptime(body["timestamp"], TIMESTAMP_FORMAT)
    return (sent + delta).strftime(TIMESTAMP_FORMAT)


async def test_event_entity_lists_types(hass: HomeAssistant, cabinet_id: str) -> None:
    """The cabinet event entity offers one event type per push kind."""
    state = state_of(hass, "event", f"{cabinet_id}_event")

    assert state.attributes["event_types"] == list(EVENT_TYPES)
    assert set(EVENT_TYPES) == {kind.lower() for kind in KNOWN_KINDS} | {"unknown"}


@pytest.mark.parametrize("kind", KNOWN_KINDS)
async def test_every_kind_fires_entity_and_bus(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    cloud: Simulator,
    cabinet_id: str,
    kind: str,
) -> None:
    """Each documented kind fires the event entity and one bus event."""
    bus_events = async_capture_events(hass, EVENT_CABINET)
    await push(hass, cloud, cabinet_id, kind, **_overrides(kind, cloud, cabinet_id))

    state = state_of(hass, "event", f"{cabinet_id}_event")
    assert state.attributes[ATTR_EVENT_TYPE] == kind.lower()
    assert len(bus_events) == 1
    data = bus_events[0].data
    assert data["type"] == kind.lower()
    assert data["cabinet_id"] == cabinet_id
    assert data["device_id"] == device_id_of(hass, loaded_entry.entry_id, cabinet_id)
    attributes = {
        key: value
        for key, value in state.attributes.items()
        if key not in {ATTR_EVENT_TYPE, "event_types", "friendly_name", "icon"}
    }
    assert attributes == {
        key: value
        for key, value in data.items()
        if key not in {"type", "cabinet_id", "device_id"}
    }


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("CABINET_ONLINE", {"online": True}),
        ("CABINET_OFFLINE", {"online": False}),
        ("POS_INFO_STATUS", {"pos_device_id": POS_DEVICE_ID, "pos_online": True}),
    ],
)
async def test_status_kinds_carry_their_data(
    hass: HomeAssistant,
    cloud: Simulator,
    cabinet_id: str,
    kind: str,
    expected: dict[str, Any],
) -> None:
    """Online, offline and POS pushes carry their status in the event."""
    await push(hass, cloud, cabinet_id, kind, **_overrides(kind, cloud, cabinet_id))

    attributes = state_of(hass, "event", f"{cabinet_id}_event").attributes
    for key, value in expected.items():
        assert attributes[key] == value, key


async def test_borrow_event_names_battery(
    hass: HomeAssistant, cloud: Simulator, cabinet_id: str
) -> None:
    """A borrow event carries slot, battery, order and the new counts."""
    slot = occupied_slot(cloud, cabinet_id)
    battery_id = cloud.cabinets[cabinet_id].slots[slot].battery_id
    await push(
        hass, cloud, cabinet_id, "BATTERY_BORROW_OUT", outSlot=slot, orderId="O-1"
    )

    attributes = state_of(hass, "event", f"{cabinet_id}_event").attributes
    assert attributes["slot"] == slot
    assert attributes["battery_id"] == battery_id
    assert attributes["order_id"] == "O-1"
    assert attributes["batteries_to_rent"] == cloud.cabinets[cabinet_id].rentable_count
    assert "fault_reason" not in attributes


async def test_failed_eject_event_has_reason(
    hass: HomeAssistant, cloud: Simulator, cabinet_id: str
) -> None:
    """A failed eject carries its readable reason and the cloud's description."""
    slot = occupied_slot(cloud, cabinet_id)
    await push(
        hass,
        cloud,
        cabinet_id,
        "BATTERY_POPUP",
        outSlot=slot,
        outStatus="1",
        faultType=9,
    )

    attributes = state_of(hass, "event", f"{cabinet_id}_event").attributes
    assert attributes["eject_failed"] is True
    assert attributes["fault_type"] == 9
    assert attributes["fault_reason"] == "command_timed_out"
    assert attributes["fault_cause"] == "The rental command to the cabinet timed out."


async def test_status_event_has_no_address(
    hass: HomeAssistant, cloud: Simulator, cabinet_id: str
) -> None:
    """The cabinet's IP address reaches neither the entity nor the bus."""
    bus_events = async_capture_events(hass, EVENT_CABINET)
    body = await push(hass, cloud, cabinet_id, "CABINET_STATUS")
    address = body["eventData"]["clientIp"]

    attributes = state_of(hass, "event", f"{cabinet_id}_event").attributes
    assert address not in str(dict(attributes))
    assert address not in str(bus_events[0].data)


async def test_unknown_kind_fired_as_unknown(
    hass: HomeAssistant, cloud: Simulator, cabinet_id: str
) -> None:
    """A push of an unknown kind is accepted and fired with its plain fields."""
    bus_events = async_capture_events(hass, EVENT_CABINET)
    await push(
        hass,
        cloud,
        cabinet_id,
        "DOOR_OPENED",
        doorNumber=2,
        operatorName="night shift",
        clientIp="198.51.100.9",
        nested={"ignored": True},
    )

    attributes = state_of(hass, "event", f"{cabinet_id}_event").attributes
    assert attributes[ATTR_EVENT_TYPE] == "unknown"
    assert attributes["event"] == "DOOR_OPENED"
    assert attributes["fields"] == {"door_number": 2, "operator_name": "night shift"}
    assert bus_events[0].data["type"] == "unknown"


async def test_unknown_kind_logged_once(
    hass: HomeAssistant,
    cloud: Simulator,
    cabinet_id: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Each unknown kind is logged once at debug level, however often it comes."""
    caplog.set_level(logging.DEBUG, logger="custom_components.bajie_charging")
    for number in range(3):
        await push(hass, cloud, cabinet_id, "DOOR_OPENED", doorNumber=number)
    await push(hass, cloud, cabinet_id, "LID_CLOSED")

    logged = [
        record
        for record in caplog.records
        if record.getMessage().startswith("Push of unknown kind")
    ]
    assert [record.levelno for record in logged] == [logging.DEBUG, logging.DEBUG]
    assert "DOOR_OPENED" in logged[0].getMessage()
    assert "LID_CLOSED" in logged[1].getMessage()


async def test_resent_push_fires_once(
    hass: HomeAssistant, cloud: Simulator, cabinet_id: str
) -> None:
    """The same push sent twice fires one event and writes the entity once."""
    bus_events = async_capture_events(hass, EVENT_CABINET)
    body = await push(
        hass,
        cloud,
        cabinet_id,
        "BATTERY_BORROW_OUT",
        outSlot=occupied_slot(cloud, cabinet_id),
    )
    first = state_of(hass, "event", f"{cabinet_id}_event")
    await send(hass, cloud, body)

    assert len(bus_events) == 1
    assert state_of(hass, "event", f"{cabinet_id}_event").state == first.state


async def test_resent_push_changes_counts_once(
    hass: HomeAssistant, cloud: Simulator, cabinet_id: str
) -> None:
    """A resent borrow without counters lowers the count by one only."""
    before = int(state_of(hass, "sensor", f"{cabinet_id}_batteries_to_rent").state)
    body = await push(
        hass,
        cloud,
        cabinet_id,
        "BATTERY_BORROW_OUT",
        outSlot=occupied_slot(cloud, cabinet_id),
        rentableCount=None,
        returnableCount=None,
    )
    await send(hass, cloud, body)

    after = state_of(hass, "sensor", f"{cabinet_id}_batteries_to_rent").state
    assert after == str(before - 1)


async def test_push_without_timestamp_never_resend(
    hass: HomeAssistant, cloud: Simulator, cabinet_id: str
) -> None:
    """Two equal pushes without a timestamp are two events."""
    bus_events = async_capture_events(hass, EVENT_CABINET)
    body = with_timestamp(cloud.build_push(cabinet_id, "CABINET_OFFLINE"), None)
    await send(hass, cloud, body)
    await send(hass, cloud, body)

    assert len(bus_events) == 2


async def test_push_without_timestamp_uses_arrival(
    hass: HomeAssistant, cloud: Simulator, cabinet_id: str
) -> None:
    """An event without a timestamp happened when its push arrived."""
    bus_events = async_capture_events(hass, EVENT_CABINET)
    before = dt_util.utcnow()
    await send(
        hass,
        cloud,
        with_timestamp(cloud.build_push(cabinet_id, "CABINET_ONLINE"), None),
    )
    after = dt_util.utcnow()

    happened = dt_util.parse_datetime(bus_events[0].data["timestamp"])
    assert happened is not None
    assert before <= happened <= after


async def test_late_status_does_not_roll_back(
    hass: HomeAssistant, cloud: Simulator, cabinet_id: str
) -> None:
    """A status report older than the applied one changes no count."""
    bus_events = async_capture_events(hass, EVENT_CABINET)
    body = await push(hass, cloud, cabinet_id, "CABINET_STATUS")
    current = state_of(hass, "sensor", f"{cabinet_id}_batteries_to_rent").state
    late = with_timestamp(body, _timestamp_of(body, timedelta(minutes=-5)))
    late["eventData"] = {**body["eventData"], "rentableCount": 0, "signal": "3"}
    await send(hass, cloud, late)

    assert state_of(hass, "sensor", f"{cabinet_id}_batteries_to_rent").state == current
    assert state_of(hass, "sensor", f"{cabinet_id}_signal").state != "3"
    assert len(bus_events) == 2


async def test_late_borrow_fires_but_keeps_counts(
    hass: HomeAssistant, cloud: Simulator, cabinet_id: str
) -> None:
    """A borrow older than the applied status still fires its event."""
    status = await push(hass, cloud, cabinet_id, "CABINET_STATUS")
    current = state_of(hass, "sensor", f"{cabinet_id}_batteries_to_rent").state
    borrow = cloud.build_push(
        cabinet_id,
        "BATTERY_BORROW_OUT",
        outSlot=occupied_slot(cloud, cabinet_id),
        rentableCount=None,
        returnableCount=None,
    )
    await send(
        hass,
        cloud,
        with_timestamp(borrow, _timestamp_of(status, timedelta(minutes=-1))),
    )

    state = state_of(hass, "event", f"{cabinet_id}_event")
    assert state.attributes[ATTR_EVENT_TYPE] == "battery_borrow_out"
    assert state_of(hass, "sensor", f"{cabinet_id}_batteries_to_rent").state == current


async def test_newer_push_applies_after_late_one(
    hass: HomeAssistant, cloud: Simulator, cabinet_id: str
) -> None:
    """A push newer than the applied state changes it."""
    body = await push(hass, cloud, cabinet_id, "CABINET_STATUS")
    newer = with_timestamp(body, _timestamp_of(body, timedelta(minutes=5)))
    newer["eventData"] = {**body["eventData"], "signal": "3"}
    await send(hass, cloud, newer)

    assert state_of(hass, "sensor", f"{cabinet_id}_signal").state == "3"


async def test_far_future_timestamp_ignored(
    hass: HomeAssistant, cloud: Simulator, cabinet_id: str
) -> None:
    """A timestamp years ahead neither dates the event nor blocks later pushes."""
    bus_events = async_capture_events(hass, EVENT_CABINET)
    body = cloud.build_push(cabinet_id, "CABINET_STATUS", signal="5")
    await send(hass, cloud, with_timestamp(body, "2099-01-01 00:00:00"))
    await push(hass, cloud, cabinet_id, "CABINET_STATUS", signal="9")

    happened = dt_util.parse_datetime(bus_events[0].data["timestamp"])
    assert happened is not None
    assert happened.year < 2099
    assert state_of(hass, "sensor", f"{cabinet_id}_signal").state == "9"


async def test_timestamp_read_in_option_zone(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    cloud: Simulator,
    cabinet_id: str,
) -> None:
    """The zone option decides how zone-less timestamps are read."""
    hass.config_entries.async_update_entry(
        loaded_entry, options={CONF_TIME_ZONE: "Asia/Shanghai"}
    )
    await hass.async_block_till_done()
    bus_events = async_capture_events(hass, EVENT_CABINET)
    body = cloud.build_push(cabinet_id, "CABINET_ONLINE")
    await send(hass, cloud, with_timestamp(body, "2026-12-04 15:04:05"))

    assert bus_events[0].data["timestamp"] == "2026-12-04T15:04:05+08:00"
    last_event = state_of(hass, "sensor", f"{cabinet_id}_last_event")
    assert last_event.state == "2026-12-04T07:04:05+00:00"


async def test_timestamp_defaults_to_home_zone(
    hass: HomeAssistant, cloud: Simulator, cabinet_id: str
) -> None:
    """Without the option, timestamps are read in Home Assistant's zone."""
    await hass.config.async_set_time_zone("Europe/Berlin")
    bus_events = async_capture_events(hass, EVENT_CABINET)
    body = cloud.build_push(cabinet_id, "CABINET_ONLINE")
    await send(hass, cloud, with_timestamp(body, "2026-12-04 15:04:05"))

    assert bus_events[0].data["timestamp"] == "2026-12-04T15:04:05+01:00"


async def test_last_event_keeps_newest_time(
    hass: HomeAssistant, cloud: Simulator, cabinet_id: str
) -> None:
    """A late push does not move the last event sensor back."""
    body = cloud.build_push(cabinet_id, "CABINET_ONLINE")
    await send(hass, cloud, with_timestamp(body, "2026-12-03 15:04:05"))
    late = cloud.build_push(cabinet_id, "CABINET_OFFLINE")
    await send(hass, cloud, with_timestamp(late, "2026-12-03 15:00:00"))

    last_event = state_of(hass, "sensor", f"{cabinet_id}_last_event")
    assert last_event.state == "2026-12-03T23:04:05+00:00"


@pytest.mark.parametrize("kind", [*KNOWN_KINDS, "DOOR_OPENED"])
async def test_event_touches_only_its_cabinet(
    hass: HomeAssistant, cloud: Simulator, cabinet_id: str, kind: str
) -> None:
    """A push of any kind writes no entity of another cabinet, changed or not."""
    changed: list[str] = []

    def record(event: Event[Any]) -> None:
        changed.append(event.data["entity_id"])

    hass.bus.async_listen(EVENT_STATE_CHANGED, record)
    # Home Assistant requires a filter on this event; this one keeps them all.
    hass.bus.async_listen(
        EVENT_STATE_REPORTED, record, event_filter=callback(lambda data: True)
    )
    await push(hass, cloud, cabinet_id, kind, **_overrides(kind, cloud, cabinet_id))

    registry = er.async_get(hass)
    cabinets = {
        registry.async_get(entity_id).unique_id.split("_")[0] for entity_id in changed
    }
    assert changed
    assert cabinets == {cabinet_id}


async def test_scenario_pushes_all_accepted(
    hass: HomeAssistant, cloud: Simulator
) -> None:
    """Every push of the simulator's everyday scenario is accepted and fired."""
    cloud.cabinets[cloud.cabinet_ids[0]].pos_device_id = POS_DEVICE_ID
    bus_events = async_capture_events(hass, EVENT_CABINET)
    kinds: set[str] = set()
    for scenario_event in ScenarioEvent:
        for _ in range(3):
            try:
                bodies = await cloud.run_scenario_event(event=scenario_event)
            except EventNotPossibleError:
                continue
            kinds.update(body["event"] for body in bodies)
    await hass.async_block_till_done()

    assert all(sent.status == 200 for sent in cloud.pushes)
    assert {event.data["type"] for event in bus_events} == {
        kind.lower() for kind in kinds
    }
    assert kinds == set(KNOWN_KINDS)


async def test_future_push_does_not_block_later_ones(
    hass: HomeAssistant, cloud: Simulator, cabinet_id: str
) -> None:
    """A push dated a day ahead is dated on arrival and holds nothing back."""
    ahead = cloud.build_push(cabinet_id, "CABINET_STATUS", rentableCount=1)
    tomorrow = _timestamp_of(ahead, timedelta(days=1))
    await send(hass, cloud, with_timestamp(ahead, tomorrow))

    await push(hass, cloud, cabinet_id, "CABINET_STATUS", rentableCount=5)

    state = state_of(hass, "sensor", f"{cabinet_id}_batteries_to_rent")
    assert state.state == "5"


async def test_push_writes_share_its_context(
    hass: HomeAssistant, cloud: Simulator, cabinet_id: str
) -> None:
    """A push's state changes carry the context its bus event started."""
    bus_events = async_capture_events(hass, EVENT_CABINET)
    slot = occupied_slot(cloud, cabinet_id)
    await push(hass, cloud, cabinet_id, "BATTERY_BORROW_OUT", outSlot=slot)

    context = bus_events[-1].context
    assert context.origin_event is bus_events[-1]
    written = {
        "event": "event",
        "last_event": "sensor",
        "batteries_to_rent": "sensor",
        "free_slots": "sensor",
    }
    for key, platform in written.items():
        state = state_of(hass, platform, f"{cabinet_id}_{key}")
        assert state.context.id == context.id, key


async def test_poll_after_push_gets_new_context(
    hass: HomeAssistant,
    cloud: Simulator,
    cabinet_id: str,
    loaded_entry: MockConfigEntry,
) -> None:
    """A poll right after a push does not write with the push's context."""
    bus_events = async_capture_events(hass, EVENT_CABINET)
    await push(hass, cloud, cabinet_id, "CABINET_OFFLINE")
    pushed = state_of(hass, "binary_sensor", f"{cabinet_id}_online")
    assert pushed.state == "off"
    assert pushed.context.id == bus_events[-1].context.id

    cloud.set_online(cabinet_id, True)
    await loaded_entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()

    polled = state_of(hass, "binary_sensor", f"{cabinet_id}_online")
    assert polled.state == "on"
    assert polled.context.id != bus_events[-1].context.id


async def test_rename_after_push_gets_new_context(
    hass: HomeAssistant, cloud: Simulator, cabinet_id: str
) -> None:
    """Home Assistant's own write right after a push has a context of its own."""
    bus_events = async_capture_events(hass, EVENT_CABINET)
    await push(hass, cloud, cabinet_id, "CABINET_OFFLINE")
    entity_id = state_of(hass, "binary_sensor", f"{cabinet_id}_online").entity_id

    er.async_get(hass).async_update_entity(entity_id, name="Front door cabinet")
    await hass.async_block_till_done()

    renamed = hass.states.get(entity_id)
    assert renamed is not None
    assert renamed.attributes["friendly_name"] == "Front door cabinet"
    assert renamed.context.id != bus_events[-1].context.id
