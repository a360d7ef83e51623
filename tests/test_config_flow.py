"""Tests of the config flow against the simulated cloud."""

from __future__ import annotations

from collections.abc import AsyncIterator
import logging
from typing import Any
from unittest.mock import patch

from aiohttp import ClientSession
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.bajie_charging.api import DEFAULT_BASE_URL
from custom_components.bajie_charging.const import (
    CONF_BASE_URL,
    CONF_CABINETS,
    CONF_POLL_INTERVAL,
    CONF_PREVIOUS_PUSH_CONFIG,
    CONF_PUSH_POLL_INTERVAL,
    CONF_PUSH_URL,
    CONF_REGISTER_PUSH,
    CONF_SHOPS,
    CONF_TIME_ZONE,
    CONF_WEBHOOK_ID,
    DOMAIN,
)
from simulator import FaultRule, Simulator

from .conftest import HARNESS_TIME_ZONE, PASSWORD, USERNAME, WEBHOOK_ID

EXTERNAL_URL = "http://127.0.0.1:8123"
OUR_URL = f"{EXTERNAL_URL}/api/webhook/{WEBHOOK_ID}"
OPERATOR_URL = "http://127.0.0.1:9/operator-system"
# The internal URL, in place of a local network address such as
# http://192.168.1.10:8123. Nothing listens on it, so a push sent there by
# mistake reaches no host.
INTERNAL_URL = "http://127.0.0.1:8125"
SECOND_OPERATOR_URL = "http://127.0.0.1:12/second-account"
SECOND_USERNAME = "agent2"
SECOND_PASSWORD = "secret2"
SET_CONFIG_PATH = "/cabinet/eventPush/config"


@pytest.fixture
def user_input(simulator: Simulator) -> dict[str, object]:
    """Return valid user step input for the simulated account."""
    return {
        CONF_USERNAME: USERNAME,
        CONF_PASSWORD: PASSWORD,
        CONF_BASE_URL: simulator.base_url,
        CONF_REGISTER_PUSH: False,
    }


async def _start_flow(hass: HomeAssistant) -> str:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    return result["flow_id"]


async def test_form_defaults_to_production_server(hass: HomeAssistant) -> None:
    """The server field starts with the production URL."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    schema = result["data_schema"].schema
    defaults = {str(key): key.default() for key in schema if callable(key.default)}
    assert defaults[CONF_BASE_URL] == DEFAULT_BASE_URL


async def test_user_flow_creates_entry(
    hass: HomeAssistant, simulator: Simulator, user_input: dict[str, object]
) -> None:
    """Valid credentials create an entry with a webhook id and no push URL."""
    flow_id = await _start_flow(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, user_input)

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == USERNAME
    data = result["data"]
    assert data[CONF_USERNAME] == USERNAME
    assert data[CONF_PASSWORD] == PASSWORD
    assert data[CONF_BASE_URL] == simulator.base_url
    assert len(data[CONF_WEBHOOK_ID]) == 64
    assert CONF_PUSH_URL not in data
    assert simulator.request_count("/cabinet/eventPush/config") == 0


async def test_trailing_slash_is_removed(
    hass: HomeAssistant, simulator: Simulator, user_input: dict[str, object]
) -> None:
    """A server URL entered with a trailing slash is stored without it."""
    flow_id = await _start_flow(hass)
    user_input[CONF_BASE_URL] = simulator.base_url + "/"
    result = await hass.config_entries.flow.async_configure(flow_id, user_input)

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_BASE_URL] == simulator.base_url


async def test_invalid_auth_then_recovers(
    hass: HomeAssistant, user_input: dict[str, object]
) -> None:
    """A wrong password shows invalid_auth and the user can correct it."""
    flow_id = await _start_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {**user_input, CONF_PASSWORD: "wrong"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_auth"}

    result = await hass.config_entries.flow.async_configure(flow_id, user_input)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_cannot_connect_then_recovers(
    hass: HomeAssistant, simulator: Simulator, user_input: dict[str, object]
) -> None:
    """A server that answers HTTP 503 shows cannot_connect until it is back."""
    simulator.add_fault(FaultRule(path="*", status=503))
    flow_id = await _start_flow(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, user_input)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "cannot_connect"}

    simulator.clear_faults()
    result = await hass.config_entries.flow.async_configure(flow_id, user_input)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_invalid_url_then_recovers(
    hass: HomeAssistant, user_input: dict[str, object]
) -> None:
    """A server that is not an http(s) URL is flagged on its field."""
    flow_id = await _start_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {**user_input, CONF_BASE_URL: "ftp://example.invalid"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_BASE_URL: "invalid_url"}

    result = await hass.config_entries.flow.async_configure(flow_id, user_input)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_unexpected_error_then_recovers(
    hass: HomeAssistant, user_input: dict[str, object]
) -> None:
    """An unexpected error from the HTTP library shows unknown."""
    flow_id = await _start_flow(hass)
    with patch.object(ClientSession, "_request", side_effect=RuntimeError("boom")):
        result = await hass.config_entries.flow.async_configure(flow_id, user_input)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "unknown"}

    result = await hass.config_entries.flow.async_configure(flow_id, user_input)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_same_account_aborts(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    user_input: dict[str, object],
) -> None:
    """Adding the same agent account on the same server again aborts."""
    config_entry.add_to_hass(hass)
    flow_id = await _start_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {**user_input, CONF_USERNAME: USERNAME.upper()}
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_register_push_when_cloud_has_none(
    hass: HomeAssistant, simulator: Simulator, user_input: dict[str, object]
) -> None:
    """With no push URL on the cloud, ticking the box registers the webhook."""
    hass.config.external_url = EXTERNAL_URL
    flow_id = await _start_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {**user_input, CONF_REGISTER_PUSH: True}
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    webhook_id = result["data"][CONF_WEBHOOK_ID]
    expected_url = f"{EXTERNAL_URL}/api/webhook/{webhook_id}"
    assert result["data"][CONF_PUSH_URL] == expected_url
    assert simulator.push_config.push_url == expected_url
    assert result["data"][CONF_PREVIOUS_PUSH_CONFIG]["pushUrl"] == ""
    assert expected_url in result["description_placeholders"]["webhook_url"]


async def test_push_conflict_kept_by_default(
    hass: HomeAssistant, simulator: Simulator, user_input: dict[str, object]
) -> None:
    """Another URL on the cloud stays unless the user chooses to replace it."""
    hass.config.external_url = EXTERNAL_URL
    other_url = "http://127.0.0.1:9/operator-system"
    simulator.set_push_url(other_url)
    flow_id = await _start_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {**user_input, CONF_REGISTER_PUSH: True}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "push_conflict"
    assert result["description_placeholders"] == {"current_url": other_url}

    result = await hass.config_entries.flow.async_configure(
        flow_id, {"replace_push_url": False}
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert simulator.push_config.push_url == other_url
    assert simulator.request_count("/cabinet/eventPush/config") == 0
    assert CONF_PUSH_URL not in result["data"]


async def test_push_conflict_replaced_when_chosen(
    hass: HomeAssistant, simulator: Simulator, user_input: dict[str, object]
) -> None:
    """Choosing to replace writes our URL and keeps the old one for removal."""
    hass.config.external_url = EXTERNAL_URL
    other_url = "http://127.0.0.1:9/operator-system"
    simulator.set_push_url(other_url)
    flow_id = await _start_flow(hass)
    await hass.config_entries.flow.async_configure(
        flow_id, {**user_input, CONF_REGISTER_PUSH: True}
    )
    result = await hass.config_entries.flow.async_configure(
        flow_id, {"replace_push_url": True}
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert simulator.push_config.push_url == result["data"][CONF_PUSH_URL]
    assert result["data"][CONF_PREVIOUS_PUSH_CONFIG]["pushUrl"] == other_url


async def test_register_push_without_url_aborts(
    hass: HomeAssistant, simulator: Simulator, user_input: dict[str, object]
) -> None:
    """Without any Home Assistant URL, push registration cannot work."""
    flow_id = await _start_flow(hass)
    # The test harness gives the http component a local address; drop it.
    hass.config.api = None
    result = await hass.config_entries.flow.async_configure(
        flow_id, {**user_input, CONF_REGISTER_PUSH: True}
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_url_available"
    assert simulator.request_count("/cabinet/eventPush/config") == 0


async def test_reauth_updates_password(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """Reauth checks the new password and stores it in the same entry."""
    result = await loaded_entry.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PASSWORD: "wrong"}
    )
    assert result["errors"] == {"base": "invalid_auth"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PASSWORD: PASSWORD}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1


async def test_reconfigure_changes_server(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """Reconfigure validates the new server and updates the entry."""
    result = await loaded_entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"
    new_input = {
        CONF_USERNAME: USERNAME,
        CONF_PASSWORD: PASSWORD,
        CONF_BASE_URL: simulator.base_url + "/",
    }

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**new_input, CONF_PASSWORD: "wrong"}
    )
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**new_input, CONF_BASE_URL: "not a url"}
    )
    assert result["errors"] == {CONF_BASE_URL: "invalid_url"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], new_input
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert loaded_entry.data[CONF_BASE_URL] == simulator.base_url
    assert loaded_entry.data[CONF_WEBHOOK_ID] == WEBHOOK_ID


async def test_reconfigure_strips_username(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """Reconfigure stores the username without surrounding spaces."""
    result = await loaded_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_USERNAME: f" {USERNAME} ",
            CONF_PASSWORD: PASSWORD,
            CONF_BASE_URL: simulator.base_url,
        },
    )

    assert result["reason"] == "reconfigure_successful"
    assert loaded_entry.data[CONF_USERNAME] == USERNAME


async def test_reconfigure_onto_existing_account_aborts(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """Reconfiguring onto an account another entry has aborts."""
    other = MockConfigEntry(domain=DOMAIN, unique_id="other@example.invalid")
    other.add_to_hass(hass)
    result = await other.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_USERNAME: USERNAME,
            CONF_PASSWORD: PASSWORD,
            CONF_BASE_URL: simulator.base_url,
        },
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_username_with_colon_is_invalid_auth(
    hass: HomeAssistant, user_input: dict[str, object]
) -> None:
    """Basic authentication cannot carry a colon in the username."""
    flow_id = await _start_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {**user_input, CONF_USERNAME: "agent:1"}
    )

    assert result["errors"] == {"base": "invalid_auth"}


@pytest.mark.parametrize(
    "path", ["/cabinet/eventPush/config/get", "/cabinet/eventPush/config"]
)
async def test_push_config_failure_aborts(
    hass: HomeAssistant,
    simulator: Simulator,
    user_input: dict[str, object],
    path: str,
) -> None:
    """A cloud that fails to read or write its push configuration aborts."""
    hass.config.external_url = EXTERNAL_URL
    simulator.add_fault(FaultRule(path=path, business_error=(500, "busy")))
    flow_id = await _start_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {**user_input, CONF_REGISTER_PUSH: True}
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "push_config_unavailable"


@pytest.fixture
async def second_simulator(socket_enabled: None) -> AsyncIterator[Simulator]:
    """Run a second simulated cloud with another agent account on loopback."""
    sim = Simulator(
        cabinets=2,
        slots=8,
        username=SECOND_USERNAME,
        password=SECOND_PASSWORD,
        seed=11,
        timezone=HARNESS_TIME_ZONE,
    )
    await sim.start(host="127.0.0.1", port=0)
    yield sim
    await sim.stop()


@pytest.fixture
async def registered_entry(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> MockConfigEntry:
    """Return a loaded entry whose options flow replaced the operator's URL."""
    hass.config.external_url = EXTERNAL_URL
    await async_setup_component(hass, "repairs", {})
    simulator.set_push_url(OPERATOR_URL)
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_POLL_INTERVAL: 1.0,
            CONF_PUSH_POLL_INTERVAL: 15.0,
            CONF_REGISTER_PUSH: True,
            CONF_TIME_ZONE: "UTC",
            CONF_CABINETS: [],
            CONF_SHOPS: [],
        },
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"replace_push_url": True}
    )
    await hass.async_block_till_done()
    assert simulator.push_config.push_url == OUR_URL
    assert loaded_entry.data[CONF_PUSH_URL] == OUR_URL
    return loaded_entry


async def _reconfigure(
    hass: HomeAssistant, entry: MockConfigEntry, user_input: dict[str, str]
) -> dict[str, Any]:
    """Run the reconfigure flow of entry with user_input and wait for the reload."""
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input
    )
    await hass.async_block_till_done()
    return dict(result)


async def test_reconfigure_other_account_restores_push(
    hass: HomeAssistant,
    registered_entry: MockConfigEntry,
    simulator: Simulator,
    second_simulator: Simulator,
) -> None:
    """Moving to another account gives the old one its push URL back."""
    second_simulator.set_push_url(SECOND_OPERATOR_URL)
    second_config = second_simulator.push_config.to_json()

    result = await _reconfigure(
        hass,
        registered_entry,
        {
            CONF_USERNAME: SECOND_USERNAME,
            CONF_PASSWORD: SECOND_PASSWORD,
            CONF_BASE_URL: second_simulator.base_url,
        },
    )

    assert result["reason"] == "reconfigure_successful"
    assert simulator.push_config.push_url == OPERATOR_URL
    assert CONF_PUSH_URL not in registered_entry.data
    assert CONF_PREVIOUS_PUSH_CONFIG not in registered_entry.data
    assert registered_entry.data[CONF_USERNAME] == SECOND_USERNAME
    assert ir.async_get(hass).issues == {}

    await hass.config_entries.async_remove(registered_entry.entry_id)
    await hass.async_block_till_done()

    assert second_simulator.request_count(SET_CONFIG_PATH) == 0
    assert second_simulator.push_config.to_json() == second_config
    assert simulator.push_config.push_url == OPERATOR_URL


async def test_reconfigure_unregistered_entry_to_other_account(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    simulator: Simulator,
    second_simulator: Simulator,
) -> None:
    """Moving an entry that never registered writes no account's push config."""
    simulator.clear_requests()

    result = await _reconfigure(
        hass,
        loaded_entry,
        {
            CONF_USERNAME: SECOND_USERNAME,
            CONF_PASSWORD: SECOND_PASSWORD,
            CONF_BASE_URL: second_simulator.base_url,
        },
    )

    assert result["reason"] == "reconfigure_successful"
    assert loaded_entry.data[CONF_USERNAME] == SECOND_USERNAME
    assert simulator.request_count(SET_CONFIG_PATH) == 0
    assert second_simulator.request_count(SET_CONFIG_PATH) == 0


async def test_reconfigure_with_old_server_down(
    hass: HomeAssistant,
    registered_entry: MockConfigEntry,
    simulator: Simulator,
    second_simulator: Simulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A dead old server is logged, and the entry moves on unregistered."""
    await simulator.stop()

    result = await _reconfigure(
        hass,
        registered_entry,
        {
            CONF_USERNAME: SECOND_USERNAME,
            CONF_PASSWORD: SECOND_PASSWORD,
            CONF_BASE_URL: second_simulator.base_url,
        },
    )

    assert result["reason"] == "reconfigure_successful"
    assert CONF_PUSH_URL not in registered_entry.data
    assert CONF_PREVIOUS_PUSH_CONFIG not in registered_entry.data
    warnings = [
        record.getMessage()
        for record in caplog.records
        if record.levelno == logging.WARNING
        and record.name.startswith("custom_components.bajie_charging")
    ]
    assert len(warnings) == 1
    assert "previous agent account" in warnings[0]
    assert "ChargeNow portal" in warnings[0]
    assert WEBHOOK_ID not in warnings[0]
    assert second_simulator.request_count(SET_CONFIG_PATH) == 0


async def test_reconfigure_same_account_keeps_push(
    hass: HomeAssistant, registered_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """Reconfiguring within the same account keeps the push registration."""
    simulator.clear_requests()

    result = await _reconfigure(
        hass,
        registered_entry,
        {
            CONF_USERNAME: USERNAME,
            CONF_PASSWORD: PASSWORD,
            CONF_BASE_URL: simulator.base_url + "/",
        },
    )

    assert result["reason"] == "reconfigure_successful"
    assert registered_entry.data[CONF_PUSH_URL] == OUR_URL
    assert registered_entry.data[CONF_PREVIOUS_PUSH_CONFIG]["pushUrl"] == OPERATOR_URL
    assert simulator.request_count(SET_CONFIG_PATH) == 0
    assert simulator.push_config.push_url == OUR_URL


async def test_register_push_with_internal_url_only_aborts(
    hass: HomeAssistant, simulator: Simulator, user_input: dict[str, object]
) -> None:
    """A local network URL is never registered, because the cloud cannot reach it."""
    hass.config.external_url = None
    hass.config.internal_url = INTERNAL_URL
    flow_id = await _start_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {**user_input, CONF_REGISTER_PUSH: True}
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_url_available"
    assert simulator.request_count("/cabinet/eventPush/config") == 0
    assert simulator.push_config.push_url == ""
