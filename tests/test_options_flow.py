"""Tests of the options flow."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResult, FlowResultType
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.bajie_charging.const import (
    CONF_CABINETS,
    CONF_POLL_INTERVAL,
    CONF_PREVIOUS_PUSH_CONFIG,
    CONF_PUSH_POLL_INTERVAL,
    CONF_PUSH_URL,
    CONF_REGISTER_PUSH,
    CONF_SHOPS,
    CONF_TIME_ZONE,
    DOMAIN,
    EVENT_CABINET,
)
from custom_components.bajie_charging.options_flow import HOME_ASSISTANT_ZONE
from simulator import FaultRule, Simulator

from .conftest import HARNESS_TIME_ZONE, WEBHOOK_ID
from .event_helpers import ClientFactory, connect_simulator, send, with_timestamp

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


async def test_push_interval_below_poll_interval_rejected(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """Polling more often while pushes arrive is rejected and nothing is saved."""
    hass.config.external_url = EXTERNAL_URL
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    simulator.clear_requests()

    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        _options(
            **{
                CONF_POLL_INTERVAL: 30.0,
                CONF_PUSH_POLL_INTERVAL: 5.0,
                CONF_REGISTER_PUSH: True,
            }
        ),
    )

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_PUSH_POLL_INTERVAL: "push_interval_too_short"}
    assert loaded_entry.options == {}
    assert simulator.request_count() == 0


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


async def test_register_failure_keeps_form_input(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """A rejected registration shows an error, and the other changes can be saved."""
    hass.config.external_url = EXTERNAL_URL
    simulator.add_fault(
        FaultRule(path="/cabinet/eventPush/config", business_error=(500, "busy"))
    )
    submitted = _options(**{CONF_REGISTER_PUSH: True, CONF_POLL_INTERVAL: 7.0})
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], submitted
    )

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    assert result["errors"] == {CONF_REGISTER_PUSH: "register_failed"}
    assert _suggested(result) == submitted
    assert CONF_PUSH_URL not in loaded_entry.data
    assert loaded_entry.options == {}

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], submitted | {CONF_REGISTER_PUSH: False}
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert loaded_entry.options[CONF_POLL_INTERVAL] == 7
    assert CONF_PUSH_URL not in loaded_entry.data


async def test_register_failure_after_replace_keeps_input(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """A failure after the user chose to replace another URL returns to the form."""
    hass.config.external_url = EXTERNAL_URL
    simulator.set_push_url(OTHER_URL)
    simulator.add_fault(FaultRule(path="/cabinet/eventPush/config", status=503))
    submitted = _options(**{CONF_REGISTER_PUSH: True, CONF_POLL_INTERVAL: 7.0})
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], submitted
    )
    assert result["step_id"] == "push_conflict"

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"replace_push_url": True}
    )

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    assert result["errors"] == {CONF_REGISTER_PUSH: "register_failed"}
    assert _suggested(result) == submitted
    assert simulator.push_config.push_url == OTHER_URL


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


def _suggested(result: FlowResult[Any, Any]) -> dict[str, Any]:
    """Return the values that a form shows filled in, by field."""
    return {
        str(field): field.description["suggested_value"]
        for field in result["data_schema"].schema
        if field.description and "suggested_value" in field.description
    }


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
    """An internal URL alone is not registered, and the form shows no_url_available."""
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


def _pushes_stopped_issue(hass: HomeAssistant, entry: MockConfigEntry) -> Any:
    return ir.async_get(hass).async_get_issue(
        DOMAIN, f"pushes_stopped_{entry.entry_id}"
    )


async def _save_options(
    hass: HomeAssistant, entry: MockConfigEntry, options: dict[str, object]
) -> FlowResult[Any, Any]:
    """Open the options, submit them and wait for any reload."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], options
    )
    await hass.async_block_till_done()
    return result


async def test_registering_alone_restarts_push_checks(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Silence counts from the registration, even when no option changed."""
    hass.config.external_url = EXTERNAL_URL
    await _save_options(hass, loaded_entry, _options())
    freezer.tick(timedelta(minutes=90))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()

    result = await _save_options(
        hass, loaded_entry, _options(**{CONF_REGISTER_PUSH: True})
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert loaded_entry.data[CONF_PUSH_URL] == OUR_URL

    freezer.tick(timedelta(hours=1, seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert _pushes_stopped_issue(hass, loaded_entry) is None

    freezer.tick(timedelta(hours=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert _pushes_stopped_issue(hass, loaded_entry) is not None


async def test_unregistering_alone_clears_push_issues(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Turning registration off removes the push issues at once."""
    hass.config.external_url = EXTERNAL_URL
    await _save_options(hass, loaded_entry, _options(**{CONF_REGISTER_PUSH: True}))
    freezer.tick(timedelta(hours=2, minutes=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert _pushes_stopped_issue(hass, loaded_entry) is not None

    result = await _save_options(hass, loaded_entry, _options())

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert CONF_PUSH_URL not in loaded_entry.data
    assert _pushes_stopped_issue(hass, loaded_entry) is None


async def test_home_zone_default_stores_no_zone(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """The form offers Home Assistant's zone, and leaving it stores no zone."""
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    assert _suggested(result)[CONF_TIME_ZONE] == HOME_ASSISTANT_ZONE
    assert HOME_ASSISTANT_ZONE in _choices(result, CONF_TIME_ZONE)
    assert HARNESS_TIME_ZONE in _choices(result, CONF_TIME_ZONE)
    submitted = _options(**{CONF_POLL_INTERVAL: 5.0})
    del submitted[CONF_TIME_ZONE]

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], submitted
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert loaded_entry.options[CONF_POLL_INTERVAL] == 5
    assert CONF_TIME_ZONE not in loaded_entry.options


async def test_home_zone_choice_removes_stored_zone(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """A stored zone is shown, kept on save, and removed by choosing the home zone."""
    hass.config_entries.async_update_entry(loaded_entry, options=_options())
    await hass.async_block_till_done()
    result = await hass.config_entries.options.async_init(loaded_entry.entry_id)
    assert _suggested(result)[CONF_TIME_ZONE] == "Europe/Berlin"

    await _save_options(hass, loaded_entry, _options(**{CONF_POLL_INTERVAL: 5.0}))
    assert loaded_entry.options[CONF_TIME_ZONE] == "Europe/Berlin"

    await _save_options(
        hass, loaded_entry, _options(**{CONF_TIME_ZONE: HOME_ASSISTANT_ZONE})
    )
    assert CONF_TIME_ZONE not in loaded_entry.options


async def test_home_zone_follows_later_change(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    simulator: Simulator,
    hass_client_no_auth: ClientFactory,
) -> None:
    """With the default zone saved, pushes are read in Home Assistant's new zone."""
    submitted = _options(**{CONF_POLL_INTERVAL: 5.0})
    del submitted[CONF_TIME_ZONE]
    await _save_options(hass, loaded_entry, submitted)
    await hass.config.async_set_time_zone("Asia/Shanghai")
    await connect_simulator(simulator, hass_client_no_auth)
    bus_events = async_capture_events(hass, EVENT_CABINET)
    body = simulator.build_push(simulator.cabinet_ids[0], "CABINET_ONLINE")

    await send(hass, simulator, with_timestamp(body, "2026-10-20 15:04:05"))

    assert len(bus_events) == 1
    assert bus_events[0].data["timestamp"] == "2026-10-20T15:04:05+08:00"
