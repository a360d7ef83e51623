"""Tests of the push webhook through real HTTP."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
import json
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.bajie_charging.const import DOMAIN
from simulator import Simulator

from .conftest import WEBHOOK_ID

WEBHOOK_PATH = f"/api/webhook/{WEBHOOK_ID}"
EXAMPLE_PUSH = json.loads(
    (Path(__file__).parent / "fixtures" / "cabinet_status_push.json").read_text()
)
EXAMPLE_CABINET = "BJX01553"

type ClientFactory = Callable[[], Awaitable[TestClient[Any, Any]]]


def entity_id_for(hass: HomeAssistant, platform: str, unique_id: str) -> str:
    """Return the entity id registered for a unique id of this integration."""
    entity_id = er.async_get(hass).async_get_entity_id(platform, DOMAIN, unique_id)
    assert entity_id is not None, unique_id
    return entity_id


def state_of(hass: HomeAssistant, platform: str, unique_id: str) -> str:
    """Return the current state of an entity of this integration."""
    state = hass.states.get(entity_id_for(hass, platform, unique_id))
    assert state is not None
    return state.state


@pytest.fixture
def simulator(simulator: Simulator) -> Simulator:
    """Add the cabinet of the documented example push to the fleet."""
    simulator.add_cabinet(EXAMPLE_CABINET)
    return simulator


async def test_documented_example_push(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_client_no_auth: ClientFactory,
) -> None:
    """The documented CABINET_STATUS example sets that cabinet's sensors."""
    client = await hass_client_no_auth()
    response = await client.post(WEBHOOK_PATH, json=EXAMPLE_PUSH)
    assert response.status == 200

    assert state_of(hass, "sensor", f"{EXAMPLE_CABINET}_signal") == "31"
    assert state_of(hass, "sensor", f"{EXAMPLE_CABINET}_batteries_to_rent") == "1"
    assert state_of(hass, "sensor", f"{EXAMPLE_CABINET}_free_slots") == "7"
    assert state_of(hass, "sensor", f"{EXAMPLE_CABINET}_total_slots") == "8"
    assert state_of(hass, "binary_sensor", f"{EXAMPLE_CABINET}_online") == "on"


async def test_push_writes_only_its_cabinet(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_client_no_auth: ClientFactory,
) -> None:
    """A push for one cabinet changes no entity of another cabinet."""
    changed: list[str] = []

    def record(event: Event[Any]) -> None:
        changed.append(event.data["entity_id"])

    hass.bus.async_listen(EVENT_STATE_CHANGED, record)
    client = await hass_client_no_auth()
    await client.post(WEBHOOK_PATH, json=EXAMPLE_PUSH)
    await hass.async_block_till_done()

    registry = er.async_get(hass)
    cabinets = {
        registry.async_get(entity_id).unique_id.split("_")[0] for entity_id in changed
    }
    assert changed
    assert cabinets == {EXAMPLE_CABINET}


async def test_text_plain_json_is_processed(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_client_no_auth: ClientFactory,
) -> None:
    """Valid JSON sent as text/plain is still applied."""
    client = await hass_client_no_auth()
    response = await client.post(
        WEBHOOK_PATH,
        data=json.dumps(EXAMPLE_PUSH),
        headers={"Content-Type": "text/plain"},
    )

    assert response.status == 200
    assert state_of(hass, "sensor", f"{EXAMPLE_CABINET}_signal") == "31"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[]",
        json.dumps({"event": "CABINET_STATUS", "eventData": "oops"}).encode(),
        json.dumps({"event": "CABINET_STATUS", "eventData": {}}).encode(),
        json.dumps({"eventData": {"cabinetId": EXAMPLE_CABINET}}).encode(),
    ],
    ids=["empty", "not-json", "array", "data-string", "no-cabinet", "no-event"],
)
async def test_malformed_push_rejected(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_client_no_auth: ClientFactory,
    body: bytes,
) -> None:
    """Malformed bodies get HTTP 400 and change nothing."""
    before = state_of(hass, "sensor", f"{EXAMPLE_CABINET}_signal")
    client = await hass_client_no_auth()
    response = await client.post(
        WEBHOOK_PATH, data=body, headers={"Content-Type": "application/json"}
    )

    assert response.status == 400
    assert state_of(hass, "sensor", f"{EXAMPLE_CABINET}_signal") == before


async def test_other_agent_account_ignored(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_client_no_auth: ClientFactory,
) -> None:
    """A valid push for another agent account is accepted and ignored."""
    before = state_of(hass, "sensor", f"{EXAMPLE_CABINET}_signal")
    client = await hass_client_no_auth()
    response = await client.post(
        WEBHOOK_PATH, json={**EXAMPLE_PUSH, "agentAccount": "someone-else"}
    )

    assert response.status == 200
    assert state_of(hass, "sensor", f"{EXAMPLE_CABINET}_signal") == before


async def test_oversized_push_rejected(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_client_no_auth: ClientFactory,
) -> None:
    """A body over the size limit gets HTTP 413 and changes nothing."""
    client = await hass_client_no_auth()
    padded = {**EXAMPLE_PUSH, "padding": "x" * 70_000}
    response = await client.post(WEBHOOK_PATH, json=padded)

    assert response.status == 413
    assert state_of(hass, "sensor", f"{EXAMPLE_CABINET}_signal") != "31"


async def test_simulator_pushes_reach_entities(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    simulator: Simulator,
    hass_client_no_auth: ClientFactory,
) -> None:
    """Pushes the simulator sends over HTTP update the entities."""
    client = await hass_client_no_auth()
    simulator.set_push_url(str(client.make_url(WEBHOOK_PATH)))
    cabinet_id = EXAMPLE_CABINET
    simulator.set_online(cabinet_id, False)
    await simulator.push_event(cabinet_id, "CABINET_OFFLINE")
    await simulator.wait_for_pushes()
    await hass.async_block_till_done()

    assert [push.status for push in simulator.pushes] == [200]
    assert state_of(hass, "binary_sensor", f"{cabinet_id}_online") == "off"
