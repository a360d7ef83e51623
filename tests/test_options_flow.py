"""Tests of the options flow."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResult, FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.bajie_charging.const import (
    CONF_CABINETS,
    CONF_POLL_INTERVAL,
    CONF_PREVIOUS_PUSH_CONFIG,
    CONF_PUSH_POLL_INTERVAL,
    CONF_PUSH_URL,
    CONF_REGISTER_PUSH,
    CONF_SHOPS,
    CONF_TIME_ZONE,
)
from simulator import FaultRule, Simulator

from .conftest import WEBHOOK_ID

EXTERNAL_URL = "http://127.0.0.1:8123"
OUR_URL = f"{EXTERNAL_URL}/api/webhook/{WEBHOOK_ID}"
OTHER_URL = "http://127.0.0.1:9/operator-system"
# The internal URL, in place of a local network address such as
# http://192.168.1.10:8123. Nothing listens on it, so a push sent there by
# mistake reaches no host.
INTERNAL_URL = "http://127.0.0.1:8125"


def _options(**changes: object) -> dict[str, object]:
    return {
        CONF_POLL_INTERVAL: 2.0,
        CONF_PUSH_POLL_INTERVAL: 30.0,
        CONF_REGISTER_PUSH: False,
        CONF_TIME_ZONE: "Europe/Berlin",
        CONF_CABINETS: [],
        CONF_SHOPS: [],
    } | changes


async def test_options_saved_and_entry_reloaded(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """Saving the options stores whole minutes and reloads the entry."""
    cabinet_id = simulator.cabinet_ids[0]
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    simulator.clear_requests()

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], _options(**{CONF_CABINETS: [cabinet_id]})
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert loaded_entry.options == {
        CONF_POLL_INTERVAL: 2,
        CONF_PUSH_POLL_INTERVAL: 30,
        CONF_TIME_ZONE: "Europe/Berlin",
        CONF_CABINETS: [cabinet_id],
        CONF_SHOPS: [],
    }
    # The reload lists the fleet again.
    assert simulator.request_count("/cabinet/getAllDevicePage") >= 1


async def test_turning_push_on_registers_url(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """Turning registration on writes the webhook URL to an empty config."""
    hass.config.external_url = EXTERNAL_URL
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], _options(**{CONF_REGISTER_PUSH: True})
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert simulator.push_config.push_url == OUR_URL
    assert loaded_entry.data[CONF_PUSH_URL] == OUR_URL


async def test_turning_push_on_asks_before_replacing(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """Another URL on the cloud is kept unless the user replaces it."""
    hass.config.external_url = EXTERNAL_URL
    simulator.set_push_url(OTHER_URL)
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], _options(**{CONF_REGISTER_PUSH: True})
    )
    assert result["step_id"] == "push_conflict"
    assert result["description_placeholders"] == {"current_url": OTHER_URL}

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"replace_push_url": False}
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert simulator.push_config.push_url == OTHER_URL
    assert CONF_PUSH_URL not in loaded_entry.data


async def test_replacing_and_turning_off_restores(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """Replace the other URL, then turn push off: the other URL comes back."""
    hass.config.external_url = EXTERNAL_URL
    simulator.set_push_url(OTHER_URL)
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], _options(**{CONF_REGISTER_PUSH: True})
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"replace_push_url": True}
    )
    await hass.async_block_till_done()
    assert simulator.push_config.push_url == OUR_URL
    assert loaded_entry.data[CONF_PREVIOUS_PUSH_CONFIG]["pushUrl"] == OTHER_URL

    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], _options()
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert simulator.push_config.push_url == OTHER_URL
    assert CONF_PUSH_URL not in loaded_entry.data


async def test_push_on_without_url_shows_error(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """Without a Home Assistant URL, the form says so and nothing is written."""
    hass.config.api = None
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], _options(**{CONF_REGISTER_PUSH: True})
    )

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_REGISTER_PUSH: "no_url_available"}
    assert simulator.request_count("/cabinet/eventPush/config") == 0


async def test_push_on_with_cloud_down_shows_error(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """A cloud that fails to return its push configuration shows an error."""
    hass.config.external_url = EXTERNAL_URL
    simulator.add_fault(FaultRule(path="/cabinet/eventPush/config/get", status=503))
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], _options(**{CONF_REGISTER_PUSH: True})
    )

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_REGISTER_PUSH: "cannot_connect"}


async def test_register_failure_aborts(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """A cloud that rejects the new push configuration aborts the flow."""
    hass.config.external_url = EXTERNAL_URL
    simulator.add_fault(
        FaultRule(path="/cabinet/eventPush/config", business_error=(500, "busy"))
    )
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], _options(**{CONF_REGISTER_PUSH: True})
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "push_config_unavailable"
    assert CONF_PUSH_URL not in loaded_entry.data


async def test_turning_off_with_cloud_down_keeps_registration(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """When the old configuration cannot be restored, registration stays on."""
    hass.config.external_url = EXTERNAL_URL
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    await hass.config_entries.options.async_configure(
        result["flow_id"], _options(**{CONF_REGISTER_PUSH: True})
    )
    await hass.async_block_till_done()
    simulator.add_fault(FaultRule(path="*", status=503))

    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], _options()
    )

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_REGISTER_PUSH: "cannot_connect"}
    assert loaded_entry.data[CONF_PUSH_URL] == OUR_URL


def _choices(result: FlowResult[Any, Any], key: str) -> list[str]:
    """Return the values that a form's select field offers."""
    selectors = {
        str(field): value for field, value in result["data_schema"].schema.items()
    }
    return [option["value"] for option in selectors[key].config["options"]]


async def test_filter_leaves_every_cabinet_selectable(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """After filtering to one cabinet, the form still offers the others."""
    included_id = simulator.cabinet_ids[0]
    shop_ids = {
        simulator.fleet.cabinets[cabinet_id].shop.shop_id
        for cabinet_id in simulator.cabinet_ids
    }
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    await hass.config_entries.options.async_configure(
        result["flow_id"], _options(**{CONF_CABINETS: [included_id]})
    )
    await hass.async_block_till_done()
    assert list(loaded_entry.runtime_data.coordinator.data) == [included_id]

    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)

    assert sorted(_choices(result, CONF_CABINETS)) == sorted(simulator.cabinet_ids)
    assert sorted(_choices(result, CONF_SHOPS)) == sorted(shop_ids)


async def test_saved_filters_stay_selectable(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """Filters naming a cabinet or shop no longer listed are still offered."""
    hass.config_entries.async_update_entry(
        loaded_entry, options=_options(**{CONF_CABINETS: ["GONE1"], CONF_SHOPS: ["S1"]})
    )
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)

    schema = result["data_schema"].schema
    selectors = {str(key): value for key, value in schema.items()}
    cabinet_values = [o["value"] for o in selectors[CONF_CABINETS].config["options"]]
    shop_values = [o["value"] for o in selectors[CONF_SHOPS].config["options"]]
    assert "GONE1" in cabinet_values
    assert "S1" in shop_values


async def test_push_on_with_internal_url_only_shows_error(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """An internal URL alone is not registered, and the form says to set one."""
    hass.config.external_url = None
    hass.config.internal_url = INTERNAL_URL
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], _options(**{CONF_REGISTER_PUSH: True})
    )

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_REGISTER_PUSH: "no_url_available"}
    assert simulator.request_count("/cabinet/eventPush/config") == 0
    assert CONF_PUSH_URL not in loaded_entry.data
