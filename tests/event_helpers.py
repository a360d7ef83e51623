"""Helpers of the cabinet event tests: pushes over HTTP and entity lookups."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import device_registry as dr, entity_registry as er

from custom_components.bajie_charging.const import DOMAIN
from simulator import PushConfig, Simulator

from .conftest import WEBHOOK_ID

WEBHOOK_PATH = f"/api/webhook/{WEBHOOK_ID}"

type ClientFactory = Callable[[], Awaitable[TestClient[Any, Any]]]


async def connect_simulator(
    simulator: Simulator, hass_client_no_auth: ClientFactory
) -> None:
    """Point the simulator's pushes at the entry's webhook on the test server.

    The push configuration subscribes to nothing in particular, which the
    cloud reads as every event kind, unknown ones included.
    """
    client = await hass_client_no_auth()
    simulator.push_config = PushConfig(str(client.make_url(WEBHOOK_PATH)))


async def push(
    hass: HomeAssistant,
    simulator: Simulator,
    cabinet_id: str,
    kind: str,
    **overrides: Any,
) -> dict[str, Any]:
    """Make the simulator push one event, wait for Home Assistant, return the body."""
    body = await simulator.push_event(cabinet_id, kind, **overrides)
    await hass.async_block_till_done()
    assert simulator.pushes[-1].status == 200
    return body


async def send(hass: HomeAssistant, simulator: Simulator, body: dict[str, Any]) -> None:
    """Make the simulator push a body as it is, as a resend or a late push."""
    sent = await simulator.send_push(body)
    await hass.async_block_till_done()
    assert sent is not None
    assert sent.status == 200


def with_timestamp(body: dict[str, Any], timestamp: str | None) -> dict[str, Any]:
    """Return a copy of a push body with another timestamp, or none."""
    changed = {key: value for key, value in body.items() if key != "timestamp"}
    if timestamp is not None:
        changed["timestamp"] = timestamp
    return changed


def entity_id_for(hass: HomeAssistant, platform: str, unique_id: str) -> str:
    """Return the entity id registered for a unique id of this integration."""
    entity_id = er.async_get(hass).async_get_entity_id(platform, DOMAIN, unique_id)
    assert entity_id is not None, unique_id
    return entity_id


def state_of(hass: HomeAssistant, platform: str, unique_id: str) -> State:
    """Return the current state object of an entity of this integration."""
    state = hass.states.get(entity_id_for(hass, platform, unique_id))
    assert state is not None, unique_id
    return state


def device_id_of(hass: HomeAssistant, entry_id: str, cabinet_id: str) -> str:
    """Return the device registry id of a cabinet."""
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, cabinet_id), entry_id
    )
    assert device is not None, cabinet_id
    return device.id


def occupied_slot(simulator: Simulator, cabinet_id: str) -> int:
    """Return the lowest slot of a simulated cabinet that contains a battery."""
    slots = simulator.cabinets[cabinet_id].slots
    return next(slot for slot, battery in sorted(slots.items()) if battery)


def empty_slot(simulator: Simulator, cabinet_id: str) -> int:
    """Return the lowest empty slot of a simulated cabinet."""
    slots = simulator.cabinets[cabinet_id].slots
    return next(slot for slot, battery in sorted(slots.items()) if not battery)


async def wait_for_request(simulator: Simulator, path: str, count: int) -> None:
    """Wait in real time until the simulator has received count requests to path."""
    for _ in range(500):
        if simulator.request_count(path) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{path} was not requested {count} times within 5 s")
