"""Tests of the push webhook through real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
import json
import logging
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from homeassistant.const import EVENT_STATE_CHANGED, STATE_UNKNOWN
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.bajie_charging.const import DOMAIN
from simulator import Simulator

from .conftest import USERNAME, WEBHOOK_ID

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


def our_log_records(
    caplog: pytest.LogCaptureFixture, level: int = logging.WARNING
) -> list[logging.LogRecord]:
    """Return the records of this integration's loggers at level or above."""
    return [
        record
        for record in caplog.records
        if record.name.startswith("custom_components.bajie_charging")
        and record.levelno >= level
    ]


def status_push(cabinet_id: str, **event_data: Any) -> dict[str, Any]:
    """Return a CABINET_STATUS push for one cabinet with the given fields."""
    return {
        "agentAccount": USERNAME,
        "event": "CABINET_STATUS",
        "timestamp": "2026-12-04 15:04:05",
        "eventData": {"cabinetId": cabinet_id, **event_data},
    }


@pytest.mark.parametrize(
    "body",
    [
        json.dumps({"event": "CABINET_STATUS", "agentAccount": USERNAME}).encode(),
        json.dumps({"event": 7, "eventData": {"cabinetId": EXAMPLE_CABINET}}).encode(),
        json.dumps({"event": "CABINET_STATUS", "eventData": []}).encode(),
        json.dumps(
            {"event": "CABINET_STATUS", "eventData": {"cabinetId": ["BJX01553"]}}
        ).encode(),
        json.dumps(
            {"event": "CABINET_STATUS", "eventData": {"cabinetId": "../../etc"}}
        ).encode(),
        json.dumps(
            {"event": "CABINET_STATUS", "eventData": {"cabinetId": None}}
        ).encode(),
        b'{"event": "CABINET_STATUS", "eventData": {"signal": ' + b"9" * 5000 + b"}}",
        b"[" * 50_000,
        b'{"event": "\xff\xfe"}',
        b"null",
        b'"CABINET_STATUS"',
    ],
    ids=[
        "no-event-data",
        "event-number",
        "data-array",
        "cabinet-list",
        "cabinet-path",
        "cabinet-null",
        "huge-integer",
        "deep-nesting",
        "invalid-utf8",
        "null",
        "string",
    ],
)
async def test_wrongly_typed_push_rejected(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_client_no_auth: ClientFactory,
    caplog: pytest.LogCaptureFixture,
    body: bytes,
) -> None:
    """Wrongly shaped or typed bodies get HTTP 400, no traceback, no change."""
    before = state_of(hass, "sensor", f"{EXAMPLE_CABINET}_signal")
    client = await hass_client_no_auth()
    response = await client.post(
        WEBHOOK_PATH, data=body, headers={"Content-Type": "application/json"}
    )

    assert response.status == 400
    assert state_of(hass, "sensor", f"{EXAMPLE_CABINET}_signal") == before
    assert [record for record in caplog.records if record.exc_info] == []
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_push_without_content_type_is_processed(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_client_no_auth: ClientFactory,
) -> None:
    """Valid JSON sent without any content type is still applied."""
    client = await hass_client_no_auth()
    response = await client.post(
        WEBHOOK_PATH,
        data=json.dumps(EXAMPLE_PUSH).encode(),
        skip_auto_headers=["Content-Type"],
    )

    assert response.status == 200
    assert "Content-Type" not in response.request_info.headers
    assert state_of(hass, "sensor", f"{EXAMPLE_CABINET}_signal") == "31"


async def test_chunked_oversized_push_rejected(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_client_no_auth: ClientFactory,
) -> None:
    """A body over the limit without a Content-Length is cut off with HTTP 413."""

    async def chunks() -> AsyncIterator[bytes]:
        yield json.dumps(EXAMPLE_PUSH).encode()[:-1]
        for _ in range(20):
            yield b" " * 4096
        yield b"}"

    client = await hass_client_no_auth()
    response = await client.post(
        WEBHOOK_PATH, data=chunks(), headers={"Content-Type": "application/json"}
    )

    assert response.status == 413
    assert response.request_info.headers.get("Content-Length") is None
    assert state_of(hass, "sensor", f"{EXAMPLE_CABINET}_signal") != "31"


@pytest.mark.parametrize("method", ["GET", "PUT", "HEAD", "DELETE", "PATCH"])
async def test_other_methods_are_harmless(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_client_no_auth: ClientFactory,
    caplog: pytest.LogCaptureFixture,
    method: str,
) -> None:
    """Methods other than POST change nothing and never log the webhook id."""
    # Home Assistant's bootstrap sets this level; its access log line at INFO
    # carries the request path, webhook id included.
    caplog.set_level(logging.WARNING, logger="aiohttp.access")
    # Called last, because set_level also sets the capturing handler's level.
    caplog.set_level(logging.DEBUG)
    before = state_of(hass, "sensor", f"{EXAMPLE_CABINET}_signal")
    client = await hass_client_no_auth()
    response = await client.request(method, WEBHOOK_PATH, json=EXAMPLE_PUSH)

    assert response.status in (200, 405)
    assert state_of(hass, "sensor", f"{EXAMPLE_CABINET}_signal") == before
    leaking = [
        record.getMessage()
        for record in caplog.records
        if record.levelno > logging.DEBUG and WEBHOOK_ID in record.getMessage()
    ]
    assert leaking == []


@pytest.mark.parametrize("method", ["GET", "PUT"])
async def test_get_and_put_answered_405(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_client_no_auth: ClientFactory,
    caplog: pytest.LogCaptureFixture,
    method: str,
) -> None:
    """GET and PUT get 405 naming POST, and one warning without the id."""
    client = await hass_client_no_auth()
    for _ in range(3):
        response = await client.request(method, WEBHOOK_PATH, json=EXAMPLE_PUSH)
        assert response.status == 405
        assert response.headers["Allow"] == "POST"

    warnings = our_log_records(caplog)
    assert len(warnings) == 1
    assert method in warnings[0].getMessage()
    assert WEBHOOK_ID not in warnings[0].getMessage()


async def test_bad_push_warnings_rate_limited(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_client_no_auth: ClientFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Repeated bad pushes log one warning per reason and never the body."""
    marker = "MARKER-7c1f"
    invalid = status_push(f"{marker} with spaces")
    client = await hass_client_no_auth()
    for _ in range(5):
        response = await client.post(WEBHOOK_PATH, json=invalid)
        assert response.status == 400
    for _ in range(5):
        response = await client.post(WEBHOOK_PATH, data=f"{marker} not json")
        assert response.status == 400

    messages = [record.getMessage() for record in our_log_records(caplog)]
    assert len(messages) == 2
    assert [message for message in messages if marker in message] == []
    assert [message for message in messages if WEBHOOK_ID in message] == []


async def test_push_relayed_like_cloud_is_applied(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """A push relayed as Home Assistant Cloud relays it is read and applied."""
    ws_client = await hass_ws_client(hass)
    await ws_client.send_json(
        {
            "id": 1,
            "type": "webhook/handle",
            "webhook_id": WEBHOOK_ID,
            "method": "POST",
            "body": json.dumps(EXAMPLE_PUSH),
            "headers": {"Content-Type": "application/json"},
        }
    )
    message = await ws_client.receive_json()

    assert message["success"]
    assert message["result"]["status"] == 200
    assert json.loads(message["result"]["body"]) == {"code": 0, "msg": "ok"}
    assert state_of(hass, "sensor", f"{EXAMPLE_CABINET}_signal") == "31"


async def test_account_name_matches_any_case(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_client_no_auth: ClientFactory,
) -> None:
    """The agent account of a push is compared without regard to case."""
    client = await hass_client_no_auth()
    response = await client.post(
        WEBHOOK_PATH, json={**EXAMPLE_PUSH, "agentAccount": USERNAME.upper()}
    )

    assert response.status == 200
    assert state_of(hass, "sensor", f"{EXAMPLE_CABINET}_signal") == "31"


@pytest.mark.parametrize("signal", ["", None, "nan", "-1", "99", "1e400"])
async def test_unreadable_signal_in_push(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_client_no_auth: ClientFactory,
    caplog: pytest.LogCaptureFixture,
    signal: str | None,
) -> None:
    """A push with an unreadable signal is accepted and the signal is unknown."""
    client = await hass_client_no_auth()
    await client.post(WEBHOOK_PATH, json=status_push(EXAMPLE_CABINET, signal="12"))
    response = await client.post(
        WEBHOOK_PATH, json=status_push(EXAMPLE_CABINET, signal=signal)
    )

    assert response.status == 200
    assert state_of(hass, "sensor", f"{EXAMPLE_CABINET}_signal") == "unknown"
    assert our_log_records(caplog) == []


async def test_push_without_signal_keeps_it(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_client_no_auth: ClientFactory,
) -> None:
    """A push that does not carry the signal leaves the last reading."""
    client = await hass_client_no_auth()
    await client.post(WEBHOOK_PATH, json=status_push(EXAMPLE_CABINET, signal="12"))
    body = status_push(EXAMPLE_CABINET, signal="12")
    del body["eventData"]["signal"]
    response = await client.post(WEBHOOK_PATH, json=body)

    assert response.status == 200
    assert state_of(hass, "sensor", f"{EXAMPLE_CABINET}_signal") == "12"


@pytest.mark.parametrize("signal", ["", "nan", " "])
async def test_unreadable_signal_in_listing(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    simulator: Simulator,
    caplog: pytest.LogCaptureFixture,
    signal: str,
) -> None:
    """A listing with an unreadable signal makes the sensor unknown."""
    cabinet_id = simulator.cabinet_ids[0]
    # The simulator lists str(signal); a string stands for what a garbled
    # cloud would send.
    simulator.cabinets[cabinet_id].signal = signal  # type: ignore[assignment]
    await loaded_entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()

    assert state_of(hass, "sensor", f"{cabinet_id}_signal") == STATE_UNKNOWN
    assert our_log_records(caplog) == []


async def test_zero_as_string_stays_zero(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_client_no_auth: ClientFactory,
) -> None:
    """Counters sent as strings are read as numbers, and "0" is 0, not unknown."""
    client = await hass_client_no_auth()
    response = await client.post(
        WEBHOOK_PATH,
        json=status_push(
            EXAMPLE_CABINET,
            totalCount="8",
            rentableCount="0",
            returnableCount="8",
            signal="0",
        ),
    )

    assert response.status == 200
    assert state_of(hass, "sensor", f"{EXAMPLE_CABINET}_batteries_to_rent") == "0"
    assert state_of(hass, "sensor", f"{EXAMPLE_CABINET}_free_slots") == "8"
    assert state_of(hass, "sensor", f"{EXAMPLE_CABINET}_signal") == "0"


async def test_total_count_as_string(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_client_no_auth: ClientFactory,
) -> None:
    """A slot count sent as a string replaces the one sent as a number."""
    client = await hass_client_no_auth()
    await client.post(WEBHOOK_PATH, json=status_push(EXAMPLE_CABINET, totalCount=6))
    assert state_of(hass, "sensor", f"{EXAMPLE_CABINET}_total_slots") == "6"

    await client.post(WEBHOOK_PATH, json=status_push(EXAMPLE_CABINET, totalCount="8"))
    assert state_of(hass, "sensor", f"{EXAMPLE_CABINET}_total_slots") == "8"


async def test_slot_as_string(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    simulator: Simulator,
    hass_client_no_auth: ClientFactory,
) -> None:
    """A borrow-out push with "slot": "1" and no counters counts one battery out."""
    cabinet_id = simulator.cabinet_ids[0]
    unique_id = f"{cabinet_id}_batteries_to_rent"
    before = int(state_of(hass, "sensor", unique_id))
    assert before > 0
    client = await hass_client_no_auth()
    response = await client.post(
        WEBHOOK_PATH,
        json={
            "agentAccount": USERNAME,
            "event": "BATTERY_BORROW_OUT",
            "timestamp": "2026-12-04 15:04:05",
            "eventData": {"cabinetId": cabinet_id, "slot": "1"},
        },
    )

    assert response.status == 200
    assert state_of(hass, "sensor", unique_id) == str(before - 1)


@pytest.mark.parametrize("account", [["agent"], "", {"name": "agent"}, False])
async def test_agent_account_of_wrong_type_rejected(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_client_no_auth: ClientFactory,
    account: object,
) -> None:
    """An agentAccount that is not a non-empty string gets 400, not applied."""
    before = state_of(hass, "sensor", f"{EXAMPLE_CABINET}_batteries_to_rent")
    client = await hass_client_no_auth()
    body = status_push(EXAMPLE_CABINET, rentableCount=7, returnableCount=1)
    body["agentAccount"] = account
    response = await client.post(WEBHOOK_PATH, json=body)

    assert response.status == 400
    assert state_of(hass, "sensor", f"{EXAMPLE_CABINET}_batteries_to_rent") == before


async def test_count_above_slot_count_ignored(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_client_no_auth: ClientFactory,
) -> None:
    """A count larger than the cabinet's slots leaves the known value."""
    client = await hass_client_no_auth()
    await client.post(WEBHOOK_PATH, json=EXAMPLE_PUSH)
    body = status_push(EXAMPLE_CABINET, totalCount=8, rentableCount=777)
    response = await client.post(WEBHOOK_PATH, json=body)

    assert response.status == 200
    assert state_of(hass, "sensor", f"{EXAMPLE_CABINET}_batteries_to_rent") == "1"
