"""Test the Simulator object's lifecycle, fleet edits, events and scenario."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
import logging
import socket
from typing import Any

import aiohttp
import pytest

from simulator import EventNotPossibleError, Simulator

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
    """Return a running simulator of two cabinets that pushes to a closed port."""
    simulator = Simulator(
        cabinets=2,
        slots=4,
        username=USERNAME,
        password=PASSWORD,
        seed=7,
        restart_delay=0.05,
    )
    await simulator.start()
    simulator.set_push_url(CLOSED_PUSH_URL)
    yield simulator
    await simulator.stop()


async def wait_until(condition: Callable[[], bool], within: float = 5.0) -> None:
    """Poll `condition` until it is true, failing after `within` seconds."""
    async with asyncio.timeout(within):
        # The simulator offers no event for this, so poll.
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


def pushed_kinds(sim: Simulator) -> list[str]:
    """Return the event types of the pushes sent so far, oldest first."""
    return [str(push.body["event"]) for push in sim.pushes]


def slot_where(sim: Simulator, cabinet_id: str, *, occupied: bool) -> int:
    """Return the first slot of a cabinet that has, or lacks, a battery."""
    slots = sim.cabinets[cabinet_id].slots
    return next(
        slot for slot, battery in slots.items() if (battery is None) != occupied
    )


# Construction and lifecycle


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scenario_interval": 0}, "scenario_interval must be above 0 seconds"),
        ({"scenario_interval": -1.0}, "scenario_interval must be above 0 seconds"),
        ({"cabinets": -1}, "cabinets must be 0 or more, got -1"),
        ({"slots": 0}, "slots must be 1 or more, got 0"),
    ],
)
def test_simulator_rejects_arguments(kwargs: dict[str, Any], message: str) -> None:
    """Arguments that cannot make a fleet or scenario raise ValueError."""
    with pytest.raises(ValueError, match=message):
        Simulator(**kwargs)


async def test_base_url_only_while_serving() -> None:
    """The base URL exists between start and stop, and raises otherwise."""
    simulator = Simulator(cabinets=1)
    with pytest.raises(RuntimeError, match="not serving"):
        _ = simulator.base_url

    base_url = await simulator.start()
    try:
        assert simulator.base_url == base_url
    finally:
        await simulator.stop()

    with pytest.raises(RuntimeError, match="not serving"):
        _ = simulator.base_url


async def test_second_start_rejected() -> None:
    """Starting a serving simulator again raises and keeps the first server."""
    simulator = Simulator(cabinets=1)
    base_url = await simulator.start()
    try:
        with pytest.raises(RuntimeError, match="already serving"):
            await simulator.start()
        assert simulator.base_url == base_url
    finally:
        await simulator.stop()


async def test_stop_twice_is_harmless() -> None:
    """A second stop does nothing."""
    simulator = Simulator(cabinets=1)
    await simulator.start()
    await simulator.stop()

    await simulator.stop()

    with pytest.raises(RuntimeError, match="not serving"):
        _ = simulator.base_url


async def test_busy_port_then_free_port() -> None:
    """A failed start on a taken port raises OSError and allows a later start."""
    simulator = Simulator(cabinets=1, username=USERNAME, password=PASSWORD)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]

        with pytest.raises(OSError, match="address already in use"):
            await simulator.start(port=port)

    await simulator.start()
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                f"{simulator.base_url}/cabinet/getAllDevice",
                headers=AUTH,
            ) as response,
        ):
            assert response.status == 200
    finally:
        await simulator.stop()


# Fleet edits


def test_set_online_stamps_time() -> None:
    """Setting a cabinet online marks it online with the time it came back."""
    simulator = Simulator(cabinets=1)
    cabinet_id = simulator.cabinet_ids[0]
    simulator.set_online(cabinet_id, False)
    simulator.cabinets[cabinet_id].online_time = ""

    simulator.set_online(cabinet_id, True)

    assert simulator.cabinets[cabinet_id].online is True
    assert simulator.cabinets[cabinet_id].online_time != ""


def test_duplicate_cabinet_rejected() -> None:
    """Adding a cabinet id that exists raises ValueError and keeps the fleet."""
    simulator = Simulator(cabinets=1)
    existing = simulator.cabinet_ids[0]
    before = simulator.cabinets[existing]

    with pytest.raises(ValueError, match=f"cabinet {existing} already exists"):
        simulator.add_cabinet(existing)

    assert simulator.cabinets[existing] is before


def test_unknown_cabinet_push_raises() -> None:
    """Building a push for a cabinet outside the fleet raises KeyError."""
    simulator = Simulator(cabinets=1)

    with pytest.raises(KeyError, match="NOPE"):
        simulator.build_push("NOPE", "CABINET_STATUS")


# Push events steered by overrides


@pytest.mark.parametrize(
    ("kind", "field", "value", "message"),
    [
        ("BATTERY_IN", "returnSlot", 99, "slot 99 does not exist"),
        ("BATTERY_IN", "returnSlot", True, "slot True does not exist"),
        ("BATTERY_IN", "returnSlot", "x", "slot 'x' does not exist"),
        ("BATTERY_IN", "returnSlot", "{occupied}", "is not empty"),
        ("BATTERY_BORROW_OUT", "outSlot", "{empty}", "is empty"),
        ("BATTERY_POPUP", "outSlot", "{empty}", "is empty"),
    ],
)
async def test_impossible_override_changes_nothing(
    sim: Simulator, kind: str, field: str, value: object, message: str
) -> None:
    """A slot override that cannot apply raises and pushes nothing."""
    cabinet_id = sim.cabinet_ids[0]
    if value == "{occupied}":
        value = slot_where(sim, cabinet_id, occupied=True)
    elif value == "{empty}":
        value = slot_where(sim, cabinet_id, occupied=False)
    before = dict(sim.cabinets[cabinet_id].slots)

    with pytest.raises(EventNotPossibleError, match=message):
        await sim.push_event(cabinet_id, kind, **{field: value})

    assert sim.cabinets[cabinet_id].slots == before
    assert sim.pushes == []


async def test_slot_override_as_text(sim: Simulator) -> None:
    """A slot given as a decimal string picks that slot."""
    cabinet_id = sim.cabinet_ids[0]
    slot = slot_where(sim, cabinet_id, occupied=False)

    await sim.push_event(cabinet_id, "BATTERY_IN", returnSlot=str(slot))

    assert sim.cabinets[cabinet_id].slots[slot] is not None


async def test_rented_battery_comes_back_with_order(sim: Simulator) -> None:
    """A return naming a rented battery brings it back under its rental order."""
    cabinet_id, other_id = sim.cabinet_ids
    out_slot = slot_where(sim, cabinet_id, occupied=True)
    rental = await sim.push_event(
        cabinet_id, "BATTERY_BORROW_OUT", outSlot=out_slot, orderId="ORD-42"
    )
    battery_id = rental["eventData"]["outBatteryId"]
    in_slot = slot_where(sim, other_id, occupied=False)

    returned = await sim.push_event(
        other_id, "BATTERY_IN", returnSlot=in_slot, returnBatteryId=battery_id
    )

    assert returned["eventData"]["orderId"] == "ORD-42"
    battery = sim.cabinets[other_id].slots[in_slot]
    assert battery is not None
    assert battery.battery_id == battery_id
    assert sim.fleet.rented == []


async def test_unknown_battery_return_creates_order(sim: Simulator) -> None:
    """A return of a battery that was never rented makes a new battery and order."""
    cabinet_id = sim.cabinet_ids[0]
    slot = slot_where(sim, cabinet_id, occupied=False)

    returned = await sim.push_event(
        cabinet_id, "BATTERY_IN", returnSlot=slot, returnBatteryId="BAT9999999"
    )

    assert returned["eventData"]["returnBatteryId"] == "BAT9999999"
    assert returned["eventData"]["orderId"].startswith("ORD")


async def test_full_cabinet_has_no_return(sim: Simulator) -> None:
    """A return into a cabinet without an unlocked empty slot is impossible."""
    cabinet_id = sim.cabinet_ids[0]
    cabinet = sim.cabinets[cabinet_id]
    for slot, battery in cabinet.slots.items():
        if battery is None:
            cabinet.locked_slots.add(slot)

    with pytest.raises(EventNotPossibleError, match="no unlocked empty slot"):
        await sim.push_event(cabinet_id, "BATTERY_IN")


async def test_empty_cabinet_has_no_rental(sim: Simulator) -> None:
    """A rental from a cabinet without batteries is impossible."""
    cabinet_id = sim.cabinet_ids[0]
    cabinet = sim.cabinets[cabinet_id]
    for slot in cabinet.slots:
        cabinet.slots[slot] = None

    with pytest.raises(EventNotPossibleError, match="no unlocked slot with a battery"):
        await sim.push_event(cabinet_id, "BATTERY_BORROW_OUT")


async def test_pos_event_needs_terminal(sim: Simulator) -> None:
    """A POS status push of a cabinet without a POS terminal is impossible."""
    cabinet_id = sim.cabinet_ids[0]
    sim.cabinets[cabinet_id].pos_device_id = ""

    with pytest.raises(EventNotPossibleError, match="has no POS terminal"):
        await sim.push_event(cabinet_id, "POS_INFO_STATUS")


# Scenario events


async def test_offline_cabinet_can_only_come_online(sim: Simulator) -> None:
    """A scenario event for an offline cabinet without an event brings it back."""
    cabinet_id = sim.cabinet_ids[0]
    sim.set_online(cabinet_id, False)

    bodies = await sim.run_scenario_event(cabinet_id)

    assert [body["event"] for body in bodies] == ["CABINET_ONLINE", "CABINET_STATUS"]
    assert sim.cabinets[cabinet_id].online is True


async def test_all_offline_fleet_gets_one_back(sim: Simulator) -> None:
    """With every cabinet offline, the next random event brings one back."""
    for cabinet_id in sim.cabinet_ids:
        sim.set_online(cabinet_id, False)

    bodies = await sim.run_scenario_event()

    assert bodies[0]["event"] == "CABINET_ONLINE"
    online = [c for c in sim.cabinets.values() if c.online]
    assert len(online) == 1


async def test_empty_fleet_has_no_event() -> None:
    """A random scenario event in a fleet without cabinets is impossible."""
    simulator = Simulator(cabinets=0)
    await simulator.start()
    try:
        with pytest.raises(EventNotPossibleError, match="the fleet has no cabinets"):
            await simulator.run_scenario_event()
    finally:
        await simulator.stop()


async def test_unknown_scenario_event_rejected(sim: Simulator) -> None:
    """An event name outside ScenarioEvent raises ValueError."""
    with pytest.raises(ValueError, match="flood"):
        await sim.run_scenario_event(sim.cabinet_ids[0], "flood")


async def test_restart_back_online_after_delay(sim: Simulator) -> None:
    """A restarted cabinet goes offline and comes back after the restart delay."""
    cabinet_id = sim.cabinet_ids[0]

    sim.restart_cabinet(sim.cabinets[cabinet_id])

    assert sim.cabinets[cabinet_id].online is False
    await wait_until(lambda: sim.cabinets[cabinet_id].online)
    await sim.wait_for_pushes()
    assert pushed_kinds(sim) == ["CABINET_OFFLINE", "CABINET_ONLINE", "CABINET_STATUS"]


async def test_restart_of_cabinet_already_back(sim: Simulator) -> None:
    """A cabinet set online before its restart delay ends is not announced twice."""
    cabinet_id = sim.cabinet_ids[0]
    sim.restart_cabinet(sim.cabinets[cabinet_id])
    sim.set_online(cabinet_id, True)

    await asyncio.sleep(sim.restart_delay * 4)
    await sim.wait_for_pushes()

    assert pushed_kinds(sim) == ["CABINET_OFFLINE"]


async def test_restart_of_removed_cabinet(sim: Simulator) -> None:
    """A cabinet removed while restarting does not come back."""
    cabinet_id = sim.cabinet_ids[0]
    sim.restart_cabinet(sim.cabinets[cabinet_id])
    sim.remove_cabinet(cabinet_id)

    await asyncio.sleep(sim.restart_delay * 4)
    await sim.wait_for_pushes()

    assert pushed_kinds(sim) == ["CABINET_OFFLINE"]
    assert cabinet_id not in sim.cabinets


async def test_scenario_waits_out_empty_fleet(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The scenario skips rounds without cabinets and goes on once one exists."""
    caplog.set_level(logging.DEBUG, logger="simulator.cloud")
    simulator = Simulator(cabinets=0, scenario_interval=0.01)
    await simulator.start()
    simulator.set_push_url(CLOSED_PUSH_URL)
    try:
        await wait_until(lambda: "the fleet has no cabinets" in caplog.text)
        assert simulator.pushes == []

        simulator.add_cabinet()
        await wait_until(lambda: len(simulator.pushes) >= 1)
    finally:
        await simulator.stop()

    assert "Scenario event skipped: the fleet has no cabinets" in caplog.text


async def test_restart_stops_with_simulator(sim: Simulator) -> None:
    """Stopping the simulator cancels a pending comeback without errors."""
    cabinet_id = sim.cabinet_ids[0]
    sim.restart_delay = 30.0
    sim.restart_cabinet(sim.cabinets[cabinet_id])

    await sim.stop()

    assert sim.cabinets[cabinet_id].online is False


async def test_page_parameters_may_be_empty(sim: Simulator) -> None:
    """Empty page and limit parameters read as the first page of ten."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{sim.base_url}/cabinet/getAllDevicePage",
            params={"page": "", "limit": ""},
            headers=AUTH,
        ) as response,
    ):
        body = await response.json()

    assert response.status == 200
    assert body["data"]["page"] == 1
    assert body["data"]["limit"] == 10
