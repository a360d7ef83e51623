"""Tests of the cabinet state that pushes keep current: counts, slots, faults.

Every push goes from the simulator over real HTTP into the webhook. The slot
sensors of the first cabinet are enabled before setup; they start disabled.
"""

from __future__ import annotations

from typing import Any

from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNKNOWN
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    mock_restore_cache_with_extra_data,
)

from custom_components.bajie_charging.const import DOMAIN
from simulator import FaultRule, Simulator

from .event_helpers import (
    ClientFactory,
    connect_simulator,
    empty_slot,
    occupied_slot,
    push,
    send,
    state_of,
    wait_for_request,
    with_timestamp,
)

SLOT_SENSOR_KEYS = ("charge", "fault")
LISTING_PATH = "/cabinet/getAllDevicePage"


@pytest.fixture
async def loaded_entry(
    hass: HomeAssistant, config_entry: MockConfigEntry, simulator: Simulator
) -> MockConfigEntry:
    """Set up the entry with the slot sensors of the first cabinet enabled."""
    config_entry.add_to_hass(hass)
    registry = er.async_get(hass)
    cabinet_id = simulator.cabinet_ids[0]
    for slot in range(1, 9):
        for key in SLOT_SENSOR_KEYS:
            registry.async_get_or_create(
                "sensor",
                DOMAIN,
                f"{cabinet_id}_slot_{slot}_{key}",
                config_entry=config_entry,
            )
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    return config_entry


@pytest.fixture
async def cabinet_id(hass: HomeAssistant, cloud: Simulator) -> str:
    """Return the first cabinet after a status push reported its battery list."""
    first = cloud.cabinet_ids[0]
    await push(hass, cloud, first, "CABINET_STATUS")
    return first


def _count(hass: HomeAssistant, cabinet_id: str, key: str) -> int:
    return int(state_of(hass, "sensor", f"{cabinet_id}_{key}").state)


async def test_slot_sensors_disabled_by_default(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """A cabinet's slot sensors are registered but disabled."""
    registry = er.async_get(hass)
    cabinet_id = simulator.cabinet_ids[1]
    for slot in range(1, 9):
        for key in SLOT_SENSOR_KEYS:
            entity_id = registry.async_get_entity_id(
                "sensor", DOMAIN, f"{cabinet_id}_slot_{slot}_{key}"
            )
            assert entity_id is not None
            entry = registry.async_get(entity_id)
            assert entry is not None
            assert entry.disabled_by is er.RegistryEntryDisabler.INTEGRATION


async def test_slots_unknown_before_status(
    hass: HomeAssistant, cloud: Simulator
) -> None:
    """The fleet listing has no battery list, so slots start unknown."""
    cabinet_id = cloud.cabinet_ids[0]
    slot = occupied_slot(cloud, cabinet_id)

    state = state_of(hass, "sensor", f"{cabinet_id}_slot_{slot}_charge")
    assert state.state == STATE_UNKNOWN
    assert "battery_id" not in state.attributes
    assert state_of(hass, "sensor", f"{cabinet_id}_abnormal_batteries").state == (
        STATE_UNKNOWN
    )


async def test_status_sets_each_slot(
    hass: HomeAssistant, cloud: Simulator, cabinet_id: str
) -> None:
    """A status push sets charge, battery and fault of every slot."""
    for slot, battery in cloud.cabinets[cabinet_id].slots.items():
        charge = state_of(hass, "sensor", f"{cabinet_id}_slot_{slot}_charge")
        fault = state_of(hass, "sensor", f"{cabinet_id}_slot_{slot}_fault")
        if battery is None:
            assert charge.state == STATE_UNKNOWN
            assert fault.state == STATE_UNKNOWN
        else:
            assert charge.state == str(battery.charge)
            assert charge.attributes["battery_id"] == battery.battery_id
            assert fault.state == "none"
    assert _count(hass, cabinet_id, "abnormal_batteries") == 0


async def test_borrow_empties_slot_and_count(
    hass: HomeAssistant, cloud: Simulator, cabinet_id: str
) -> None:
    """A borrow empties its slot and lowers the count without a poll."""
    slot = occupied_slot(cloud, cabinet_id)
    to_rent = _count(hass, cabinet_id, "batteries_to_rent")
    free = _count(hass, cabinet_id, "free_slots")
    polls = cloud.request_count()
    await push(hass, cloud, cabinet_id, "BATTERY_BORROW_OUT", outSlot=slot)

    charge = state_of(hass, "sensor", f"{cabinet_id}_slot_{slot}_charge")
    assert charge.state == STATE_UNKNOWN
    assert "battery_id" not in charge.attributes
    assert _count(hass, cabinet_id, "batteries_to_rent") == to_rent - 1
    assert _count(hass, cabinet_id, "free_slots") == free + 1
    assert cloud.request_count() == polls


async def test_borrow_without_counts_shifts_them(
    hass: HomeAssistant, cloud: Simulator, cabinet_id: str
) -> None:
    """A borrow that carries no counters moves the known ones by one."""
    to_rent = _count(hass, cabinet_id, "batteries_to_rent")
    free = _count(hass, cabinet_id, "free_slots")
    await push(
        hass,
        cloud,
        cabinet_id,
        "BATTERY_BORROW_OUT",
        outSlot=occupied_slot(cloud, cabinet_id),
        totalCount=None,
        rentableCount=None,
        returnableCount=None,
    )

    assert _count(hass, cabinet_id, "batteries_to_rent") == to_rent - 1
    assert _count(hass, cabinet_id, "free_slots") == free + 1


async def test_return_fills_slot(
    hass: HomeAssistant, cloud: Simulator, cabinet_id: str
) -> None:
    """A return puts the battery into its slot and raises the count."""
    slot = empty_slot(cloud, cabinet_id)
    to_rent = _count(hass, cabinet_id, "batteries_to_rent")
    await push(
        hass,
        cloud,
        cabinet_id,
        "BATTERY_IN",
        returnSlot=slot,
        returnBatteryId="BATRETURN1",
    )

    charge = state_of(hass, "sensor", f"{cabinet_id}_slot_{slot}_charge")
    assert charge.attributes["battery_id"] == "BATRETURN1"
    assert state_of(hass, "sensor", f"{cabinet_id}_slot_{slot}_fault").state == "none"
    assert _count(hass, cabinet_id, "batteries_to_rent") == to_rent + 1


async def test_successful_eject_empties_slot(
    hass: HomeAssistant, cloud: Simulator, cabinet_id: str
) -> None:
    """An eject reported as done empties its slot."""
    slot = occupied_slot(cloud, cabinet_id)
    to_rent = _count(hass, cabinet_id, "batteries_to_rent")
    await push(hass, cloud, cabinet_id, "BATTERY_POPUP", outSlot=slot, outStatus="0")

    fault = state_of(hass, "sensor", f"{cabinet_id}_slot_{slot}_fault")
    assert fault.state == STATE_UNKNOWN
    assert _count(hass, cabinet_id, "batteries_to_rent") == to_rent - 1


@pytest.mark.parametrize(
    ("fault_type", "reason"),
    [
        (1, "battery_authorization_failed"),
        (2, "battery_id_not_found"),
        (3, "eject_failed"),
        (4, "eject_failed"),
        (5, "eject_failed"),
        (9, "command_timed_out"),
    ],
)
async def test_failed_eject_records_fault(
    hass: HomeAssistant,
    cloud: Simulator,
    cabinet_id: str,
    fault_type: int,
    reason: str,
) -> None:
    """A failed eject keeps the battery and records reason and description."""
    slot = occupied_slot(cloud, cabinet_id)
    battery_id = cloud.cabinets[cabinet_id].slots[slot].battery_id
    to_rent = _count(hass, cabinet_id, "batteries_to_rent")
    body = await push(
        hass,
        cloud,
        cabinet_id,
        "BATTERY_POPUP",
        outSlot=slot,
        outStatus="1",
        faultType=fault_type,
    )

    fault = state_of(hass, "sensor", f"{cabinet_id}_slot_{slot}_fault")
    assert fault.state == reason
    assert fault.attributes["fault_type"] == fault_type
    assert fault.attributes["fault_cause"] == body["eventData"]["faultCause"]
    charge = state_of(hass, "sensor", f"{cabinet_id}_slot_{slot}_charge")
    assert charge.attributes["battery_id"] == battery_id
    assert _count(hass, cabinet_id, "batteries_to_rent") == to_rent
    assert _count(hass, cabinet_id, "abnormal_batteries") == 1
    problem = state_of(hass, "binary_sensor", f"{cabinet_id}_abnormal_battery")
    assert problem.state == STATE_ON


async def test_abnormal_warning_marks_battery(
    hass: HomeAssistant, cloud: Simulator, cabinet_id: str
) -> None:
    """An abnormal warning marks the battery of its slot."""
    slot = occupied_slot(cloud, cabinet_id)
    await push(
        hass,
        cloud,
        cabinet_id,
        "BATTERY_ABNORMAL_WARNING",
        slotNum=slot,
        faultType=11,
        faultCause="Battery temperature too high.",
    )

    fault = state_of(hass, "sensor", f"{cabinet_id}_slot_{slot}_fault")
    assert fault.state == "other"
    assert fault.attributes["fault_cause"] == "Battery temperature too high."
    assert _count(hass, cabinet_id, "abnormal_batteries") == 1
    problem = state_of(hass, "binary_sensor", f"{cabinet_id}_abnormal_battery")
    assert problem.state == STATE_ON


async def test_status_clears_fault(
    hass: HomeAssistant, cloud: Simulator, cabinet_id: str
) -> None:
    """A later status report without the fault clears it."""
    slot = occupied_slot(cloud, cabinet_id)
    await push(hass, cloud, cabinet_id, "BATTERY_POPUP", outSlot=slot, outStatus="1")
    await push(hass, cloud, cabinet_id, "CABINET_STATUS")

    assert state_of(hass, "sensor", f"{cabinet_id}_slot_{slot}_fault").state == "none"
    assert _count(hass, cabinet_id, "abnormal_batteries") == 0
    problem = state_of(hass, "binary_sensor", f"{cabinet_id}_abnormal_battery")
    assert problem.state == STATE_OFF


async def test_failed_borrow_keeps_battery(
    hass: HomeAssistant, cloud: Simulator, cabinet_id: str
) -> None:
    """A borrow with a fault code is a failed rental: the slot stays full."""
    slot = occupied_slot(cloud, cabinet_id)
    battery_id = cloud.cabinets[cabinet_id].slots[slot].battery_id
    to_rent = _count(hass, cabinet_id, "batteries_to_rent")
    await push(
        hass,
        cloud,
        cabinet_id,
        "BATTERY_BORROW_OUT",
        outSlot=slot,
        faultType=9,
        faultCause="The rental command to the cabinet timed out.",
        rentableCount=None,
        returnableCount=None,
    )

    charge = state_of(hass, "sensor", f"{cabinet_id}_slot_{slot}_charge")
    assert charge.attributes["battery_id"] == battery_id
    fault = state_of(hass, "sensor", f"{cabinet_id}_slot_{slot}_fault")
    assert fault.state == "command_timed_out"
    assert _count(hass, cabinet_id, "batteries_to_rent") == to_rent


async def test_empty_when_last_battery_leaves(
    hass: HomeAssistant, cloud: Simulator, cabinet_id: str
) -> None:
    """The empty sensor turns on once no battery is left to rent."""
    assert state_of(hass, "binary_sensor", f"{cabinet_id}_empty").state == STATE_OFF
    while cloud.cabinets[cabinet_id].occupied_slots():
        await push(
            hass,
            cloud,
            cabinet_id,
            "BATTERY_BORROW_OUT",
            outSlot=occupied_slot(cloud, cabinet_id),
        )

    assert state_of(hass, "binary_sensor", f"{cabinet_id}_empty").state == STATE_ON
    assert state_of(hass, "binary_sensor", f"{cabinet_id}_full").state == STATE_OFF


async def test_full_when_last_slot_fills(
    hass: HomeAssistant, cloud: Simulator, cabinet_id: str
) -> None:
    """The full sensor turns on once no slot is left for a return."""
    assert state_of(hass, "binary_sensor", f"{cabinet_id}_full").state == STATE_OFF
    while cloud.cabinets[cabinet_id].empty_slots():
        await push(
            hass,
            cloud,
            cabinet_id,
            "BATTERY_IN",
            returnSlot=empty_slot(cloud, cabinet_id),
        )

    assert state_of(hass, "binary_sensor", f"{cabinet_id}_full").state == STATE_ON
    assert state_of(hass, "binary_sensor", f"{cabinet_id}_empty").state == STATE_OFF


RESTORED_ENTITY_ID = "sensor.restored_last_event"
RESTORED_TIME = "2026-12-04T07:04:05+00:00"


@pytest.fixture
async def restored_entry(
    hass: HomeAssistant, config_entry: MockConfigEntry, simulator: Simulator
) -> MockConfigEntry:
    """Set up the entry as after a restart, with a last event time to restore."""
    config_entry.add_to_hass(hass)
    er.async_get(hass).async_get_or_create(
        "sensor",
        DOMAIN,
        f"{simulator.cabinet_ids[0]}_last_event",
        config_entry=config_entry,
        suggested_object_id="restored_last_event",
    )
    mock_restore_cache_with_extra_data(
        hass,
        [
            (
                State(RESTORED_ENTITY_ID, RESTORED_TIME),
                {
                    "native_value": {
                        "__type": "<class 'datetime.datetime'>",
                        "isoformat": RESTORED_TIME,
                    },
                    "native_unit_of_measurement": None,
                },
            )
        ],
    )
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    return config_entry


@pytest.fixture
async def restored_cloud(
    hass: HomeAssistant,
    restored_entry: MockConfigEntry,
    simulator: Simulator,
    hass_client_no_auth: ClientFactory,
) -> Simulator:
    """Return the simulator, pushing to the restored entry's webhook."""
    await connect_simulator(simulator, hass_client_no_auth)
    return simulator


async def test_last_event_restored(
    hass: HomeAssistant, restored_entry: MockConfigEntry
) -> None:
    """The last event sensor keeps its time across a restart."""
    state = hass.states.get(RESTORED_ENTITY_ID)

    assert state is not None
    assert state.state == RESTORED_TIME


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        ("2026-12-03 10:00:00", RESTORED_TIME),
        ("2026-12-04 00:30:00", "2026-12-04T08:30:00+00:00"),
    ],
    ids=["older", "newer"],
)
async def test_restored_time_only_moves_forward(
    hass: HomeAssistant, restored_cloud: Simulator, timestamp: str, expected: str
) -> None:
    """After a restart, an event older than the restored time leaves it."""
    body = restored_cloud.build_push(restored_cloud.cabinet_ids[0], "CABINET_ONLINE")
    await send(hass, restored_cloud, with_timestamp(body, timestamp))

    state = hass.states.get(RESTORED_ENTITY_ID)
    assert state is not None
    assert state.state == expected


async def _refresh_with_push_during_listing(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    cloud: Simulator,
    body: dict[str, Any],
) -> None:
    """Refresh the fleet and send body while the cloud delays the listing."""
    cloud.add_fault(FaultRule(path=LISTING_PATH, delay=0.5, times=1))
    listings_before = cloud.request_count(LISTING_PATH)
    refresh = hass.async_create_task(entry.runtime_data.coordinator.async_refresh())
    await wait_for_request(cloud, LISTING_PATH, listings_before + 1)
    await send(hass, cloud, body)
    await refresh
    await hass.async_block_till_done()


async def test_listing_keeps_newer_push(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, cloud: Simulator
) -> None:
    """A listing requested before a push does not roll the push back."""
    cabinet_id = cloud.cabinet_ids[0]
    listed = cloud.cabinets[cabinet_id].rentable_count
    body = cloud.build_push(cabinet_id, "CABINET_STATUS", rentableCount=listed - 1)

    await _refresh_with_push_during_listing(hass, loaded_entry, cloud, body)
    assert _count(hass, cabinet_id, "batteries_to_rent") == listed - 1

    await loaded_entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()
    assert _count(hass, cabinet_id, "batteries_to_rent") == listed


async def test_listing_kept_after_push_without_change(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, cloud: Simulator
) -> None:
    """A push that changed nothing leaves the listing's newer values in place."""
    cabinet_id = cloud.cabinet_ids[0]
    cloud.set_online(cabinet_id, False)
    body = cloud.build_push(cabinet_id, "SOME_NEW_EVENT")

    await _refresh_with_push_during_listing(hass, loaded_entry, cloud, body)

    assert state_of(hass, "binary_sensor", f"{cabinet_id}_online").state == STATE_OFF


async def test_listing_yields_to_confirming_push(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, cloud: Simulator
) -> None:
    """A push that confirms the shown state keeps it over an older listing."""
    cabinet_id = cloud.cabinet_ids[0]
    cloud.set_online(cabinet_id, False)
    body = cloud.build_push(cabinet_id, "CABINET_ONLINE")

    await _refresh_with_push_during_listing(hass, loaded_entry, cloud, body)

    assert state_of(hass, "binary_sensor", f"{cabinet_id}_online").state == STATE_ON
