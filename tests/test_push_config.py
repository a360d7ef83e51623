"""Tests of the cloud's push configuration when an entry goes away or is taken over.

The entry registers its webhook URL through the options flow, then the test
removes the entry or changes the simulator's push configuration.
"""

from __future__ import annotations

from datetime import timedelta
import logging
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
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
)
from simulator import FaultRule, PushConfig, PushSubscription, Simulator

from .conftest import WEBHOOK_ID

EXTERNAL_URL = "http://127.0.0.1:8123"
OUR_URL = f"{EXTERNAL_URL}/api/webhook/{WEBHOOK_ID}"
OTHER_URL = "http://127.0.0.1:9/operator-system"
THIRD_URL = "http://127.0.0.1:10/new-system"
BILLING_URL = "http://127.0.0.1:11/billing"
NEW_EXTERNAL_URL = "http://127.0.0.1:8124"
NEW_OUR_URL = f"{NEW_EXTERNAL_URL}/api/webhook/{WEBHOOK_ID}"
GET_CONFIG_PATH = "/cabinet/eventPush/config/get"
SET_CONFIG_PATH = "/cabinet/eventPush/config"


def _operator_config() -> PushConfig:
    """Return a push configuration of another system, with a per-event URL."""
    return PushConfig(
        OTHER_URL,
        [
            PushSubscription("CABINET_STATUS"),
            PushSubscription("BATTERY_IN", f"{OTHER_URL}/returns"),
            PushSubscription("CABINET_OFFLINE", enable=False),
        ],
    )


async def _register_push(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Turn push registration on in the options flow, replacing any other URL."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
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
    if result.get("step_id") == "push_conflict":
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {"replace_push_url": True}
        )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.fixture
async def registered_entry(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> MockConfigEntry:
    """Return a loaded entry that replaced the operator's push configuration."""
    hass.config.external_url = EXTERNAL_URL
    await async_setup_component(hass, "repairs", {})
    simulator.push_config = _operator_config()
    await _register_push(hass, loaded_entry)
    assert simulator.push_config.push_url == OUR_URL
    return loaded_entry


def _issue(hass: HomeAssistant, kind: str, entry: MockConfigEntry) -> Any:
    return ir.async_get(hass).async_get_issue(DOMAIN, f"{kind}_{entry.entry_id}")


async def _check_push_health(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """Let the hourly push check run once and wait until it finished."""
    freezer.tick(timedelta(hours=1, seconds=1))
    async_fire_time_changed(hass)
    # Interval callbacks run as background tasks.
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_removal_restores_previous_config(
    hass: HomeAssistant, registered_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """Removing the entry gives the operator's configuration back as it was."""
    await hass.config_entries.async_remove(registered_entry.entry_id)
    await hass.async_block_till_done()

    assert simulator.push_config.to_json() == _operator_config().to_json()


async def test_removal_restores_empty_config(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """An entry that registered on an unconfigured cloud leaves it unconfigured."""
    hass.config.external_url = EXTERNAL_URL
    await _register_push(hass, loaded_entry)
    assert simulator.push_config.push_url == OUR_URL

    await hass.config_entries.async_remove(loaded_entry.entry_id)
    await hass.async_block_till_done()

    assert simulator.push_config.push_url == ""
    assert simulator.push_config.url_for("CABINET_STATUS") == ""


async def test_removal_leaves_newer_config(
    hass: HomeAssistant,
    registered_entry: MockConfigEntry,
    simulator: Simulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A configuration someone changed after the entry registered stays as it is."""
    caplog.set_level(logging.INFO, logger="custom_components.bajie_charging")
    simulator.set_push_url(THIRD_URL)
    simulator.clear_requests()

    await hass.config_entries.async_remove(registered_entry.entry_id)
    await hass.async_block_till_done()

    assert simulator.push_config.push_url == THIRD_URL
    assert simulator.request_count(GET_CONFIG_PATH) == 1
    assert simulator.request_count(SET_CONFIG_PATH) == 0
    assert "no longer points to Home Assistant" in caplog.text


async def test_removal_without_registration_sends_nothing(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """An entry that never registered its URL does not touch the configuration."""
    simulator.push_config = _operator_config()
    simulator.clear_requests()

    await hass.config_entries.async_remove(loaded_entry.entry_id)
    await hass.async_block_till_done()

    assert simulator.request_count(GET_CONFIG_PATH) == 0
    assert simulator.request_count(SET_CONFIG_PATH) == 0
    assert simulator.push_config.to_json() == _operator_config().to_json()


@pytest.mark.parametrize(
    "fault",
    [
        FaultRule(path=GET_CONFIG_PATH, business_error=(500, "System busy.")),
        FaultRule(path=SET_CONFIG_PATH, status=503),
        FaultRule(path=SET_CONFIG_PATH, auth=True),
    ],
    ids=["read-refused", "write-http-503", "write-unauthorized"],
)
async def test_removal_survives_cloud_failure(
    hass: HomeAssistant,
    registered_entry: MockConfigEntry,
    simulator: Simulator,
    caplog: pytest.LogCaptureFixture,
    fault: FaultRule,
) -> None:
    """A cloud failure during the restore is logged, and the entry is still removed."""
    simulator.add_fault(fault)

    result = await hass.config_entries.async_remove(registered_entry.entry_id)
    await hass.async_block_till_done()

    assert result == {"require_restart": False}
    assert hass.config_entries.async_get_entry(registered_entry.entry_id) is None
    warnings = [
        record.getMessage()
        for record in caplog.records
        if record.levelno == logging.WARNING
        and record.name.startswith("custom_components.bajie_charging")
    ]
    assert len(warnings) == 1
    assert "Could not restore the cloud's push configuration" in warnings[0]
    assert WEBHOOK_ID not in warnings[0]


async def test_removal_deletes_push_issues(
    hass: HomeAssistant,
    registered_entry: MockConfigEntry,
    simulator: Simulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Removing a taken-over entry drops its issue and keeps the other URL."""
    simulator.set_push_url(THIRD_URL)
    await _check_push_health(hass, freezer)
    assert _issue(hass, "push_url_taken_over", registered_entry) is not None

    await hass.config_entries.async_remove(registered_entry.entry_id)
    await hass.async_block_till_done()

    assert _issue(hass, "push_url_taken_over", registered_entry) is None
    assert simulator.push_config.push_url == THIRD_URL


async def test_per_event_url_counts_as_taken_over(
    hass: HomeAssistant,
    registered_entry: MockConfigEntry,
    simulator: Simulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """An enabled subscription with another URL raises the taken-over issue."""
    simulator.push_config = PushConfig(
        OUR_URL,
        [
            PushSubscription("CABINET_STATUS"),
            PushSubscription("BATTERY_IN", THIRD_URL),
        ],
    )

    await _check_push_health(hass, freezer)

    issue = _issue(hass, "push_url_taken_over", registered_entry)
    assert issue is not None
    assert issue.translation_placeholders["other_url"] == THIRD_URL


async def test_disabled_per_event_url_is_ignored(
    hass: HomeAssistant,
    registered_entry: MockConfigEntry,
    simulator: Simulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A disabled subscription with another URL receives nothing, so no issue."""
    simulator.push_config = PushConfig(
        OUR_URL,
        [
            PushSubscription("CABINET_STATUS"),
            PushSubscription("BATTERY_IN", THIRD_URL, enable=False),
        ],
    )

    await _check_push_health(hass, freezer)

    assert _issue(hass, "push_url_taken_over", registered_entry) is None


async def test_unreadable_config_keeps_issue(
    hass: HomeAssistant,
    registered_entry: MockConfigEntry,
    simulator: Simulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A check that cannot read the cloud keeps the issue until one that can."""
    simulator.set_push_url(THIRD_URL)
    await _check_push_health(hass, freezer)
    assert _issue(hass, "push_url_taken_over", registered_entry) is not None

    simulator.set_push_url(OUR_URL)
    simulator.add_fault(
        FaultRule(path=GET_CONFIG_PATH, business_error=(500, "System busy."), times=1)
    )
    simulator.clear_requests()
    await _check_push_health(hass, freezer)

    assert simulator.request_count(GET_CONFIG_PATH) == 1
    assert _issue(hass, "push_url_taken_over", registered_entry) is not None

    await _check_push_health(hass, freezer)

    assert _issue(hass, "push_url_taken_over", registered_entry) is None


def _with_event_url(config: PushConfig, event: str, url: str) -> PushConfig:
    """Return a copy of config whose subscription of event pushes to url."""
    subscriptions = [
        PushSubscription(
            item.event, url if item.event == event else item.push_url, item.enable
        )
        for item in config.subscriptions
    ]
    return PushConfig(config.push_url, subscriptions)


async def test_removal_keeps_added_per_event_url(
    hass: HomeAssistant,
    registered_entry: MockConfigEntry,
    simulator: Simulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A per-event URL added after registering survives the entry's removal."""
    caplog.set_level(logging.INFO, logger="custom_components.bajie_charging")
    simulator.push_config = _with_event_url(
        simulator.push_config, "BATTERY_BORROW_OUT", BILLING_URL
    )
    expected = simulator.push_config.to_json()
    simulator.clear_requests()

    await hass.config_entries.async_remove(registered_entry.entry_id)
    await hass.async_block_till_done()

    assert simulator.push_config.to_json() == expected
    assert simulator.push_config.url_for("BATTERY_BORROW_OUT") == BILLING_URL
    assert simulator.request_count(SET_CONFIG_PATH) == 0
    assert "sends some events to another receiver" in caplog.text


async def test_turning_push_off_keeps_per_event_url(
    hass: HomeAssistant, registered_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """Turning push off leaves a per-event URL added after registering."""
    simulator.push_config = _with_event_url(
        simulator.push_config, "BATTERY_BORROW_OUT", BILLING_URL
    )
    expected = simulator.push_config.to_json()

    result = await hass.config_entries.options.async_init(registered_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_POLL_INTERVAL: 1.0,
            CONF_PUSH_POLL_INTERVAL: 15.0,
            CONF_REGISTER_PUSH: False,
            CONF_TIME_ZONE: "UTC",
            CONF_CABINETS: [],
            CONF_SHOPS: [],
        },
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert simulator.push_config.to_json() == expected
    assert CONF_PUSH_URL not in registered_entry.data


async def _fix_issue(hass: HomeAssistant, kind: str, entry: MockConfigEntry) -> None:
    """Confirm the fix flow of an entry's push issue."""
    issue = _issue(hass, kind, entry)
    assert issue is not None
    manager = hass.data["repairs"]["flow_manager"]
    result = await manager.async_init(DOMAIN, context={"issue_id": issue.issue_id})
    result = await manager.async_configure(result["flow_id"], {})
    await hass.async_block_till_done()
    assert result["type"] == "create_entry"


async def test_outdated_fix_keeps_original_config(
    hass: HomeAssistant,
    registered_entry: MockConfigEntry,
    simulator: Simulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """After fixing an outdated URL, removal still restores the operator's setup."""
    hass.config.external_url = NEW_EXTERNAL_URL
    await _check_push_health(hass, freezer)

    await _fix_issue(hass, "push_url_outdated", registered_entry)

    assert simulator.push_config.push_url == NEW_OUR_URL
    assert registered_entry.data[CONF_PUSH_URL] == NEW_OUR_URL
    assert registered_entry.data[CONF_PREVIOUS_PUSH_CONFIG]["pushUrl"] == OTHER_URL

    await hass.config_entries.async_remove(registered_entry.entry_id)
    await hass.async_block_till_done()

    assert simulator.push_config.to_json() == _operator_config().to_json()


async def test_taken_over_fix_saves_newer_config(
    hass: HomeAssistant,
    registered_entry: MockConfigEntry,
    simulator: Simulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Fixing a take-over saves the other system's setup, which removal restores."""
    simulator.set_push_url(THIRD_URL)
    newer = simulator.push_config.to_json()
    await _check_push_health(hass, freezer)

    await _fix_issue(hass, "push_url_taken_over", registered_entry)

    assert simulator.push_config.push_url == OUR_URL
    assert registered_entry.data[CONF_PREVIOUS_PUSH_CONFIG]["pushUrl"] == THIRD_URL

    await hass.config_entries.async_remove(registered_entry.entry_id)
    await hass.async_block_till_done()

    assert simulator.push_config.to_json() == newer


async def test_taken_over_event_url_restored_with_original(
    hass: HomeAssistant,
    registered_entry: MockConfigEntry,
    simulator: Simulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """After a take-over of one event, removal restores it and the original."""
    simulator.push_config = PushConfig(
        OUR_URL,
        [PushSubscription("CABINET_STATUS"), PushSubscription("BATTERY_IN", THIRD_URL)],
    )
    await _check_push_health(hass, freezer)
    await _fix_issue(hass, "push_url_taken_over", registered_entry)
    assert simulator.push_config.url_for("BATTERY_IN") == OUR_URL

    await hass.config_entries.async_remove(registered_entry.entry_id)
    await hass.async_block_till_done()

    assert simulator.push_config.push_url == OTHER_URL
    assert simulator.push_config.url_for("BATTERY_IN") == THIRD_URL
    assert simulator.push_config.url_for("CABINET_STATUS") == OTHER_URL


@pytest.mark.parametrize(
    ("default_url", "event_url"),
    [(THIRD_URL, ""), (OUR_URL, BILLING_URL), (OUR_URL, "http://[::1/receiver")],
    ids=["default-url", "per-event-url", "invalid-event-url"],
)
async def test_outdated_fix_keeps_other_receiver(
    hass: HomeAssistant,
    registered_entry: MockConfigEntry,
    simulator: Simulator,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    *,
    default_url: str,
    event_url: str,
) -> None:
    """The outdated fix replaces only the entry's URLs and leaves others to ask."""
    hass.config.external_url = NEW_EXTERNAL_URL
    await _check_push_health(hass, freezer)
    outdated = _issue(hass, "push_url_outdated", registered_entry)
    assert outdated is not None
    assert _issue(hass, "push_url_taken_over", registered_entry) is None
    other_url = event_url or default_url
    # Another system takes over after the hourly check, before the fix.
    simulator.push_config = PushConfig(
        default_url,
        [
            PushSubscription("CABINET_STATUS"),
            PushSubscription("BATTERY_BORROW_OUT", event_url),
        ],
    )
    expected = simulator.push_config.to_json()
    data_before = dict(registered_entry.data)
    simulator.clear_requests()

    manager = hass.data["repairs"]["flow_manager"]
    result = await manager.async_init(DOMAIN, context={"issue_id": outdated.issue_id})
    result = await manager.async_configure(result["flow_id"], {})
    await hass.async_block_till_done()

    assert result["type"] == "abort"
    assert result["reason"] == "other_receiver"
    assert result["description_placeholders"]["other_url"] == other_url
    assert simulator.request_count(SET_CONFIG_PATH) == 0
    assert simulator.push_config.to_json() == expected
    assert dict(registered_entry.data) == data_before
    assert _issue(hass, "push_url_outdated", registered_entry) is not None
    taken_over = _issue(hass, "push_url_taken_over", registered_entry)
    assert taken_over is not None
    assert taken_over.translation_placeholders["other_url"] == other_url
    # Another system's URL may carry a secret, so the log names its host only.
    assert [
        record.getMessage()
        for record in caplog.records
        if record.levelno > logging.DEBUG and other_url in record.getMessage()
    ] == []


async def test_saved_config_drops_our_per_event_url(
    hass: HomeAssistant,
    registered_entry: MockConfigEntry,
    simulator: Simulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A subscription left on our URL is saved as empty, so removal uses the default.

    Another system replaced the default URL but kept one subscription on the
    entry's URL. The taken-over fix saves that configuration to restore, and
    the entry's URL is dead once the entry is removed.
    """
    simulator.push_config = PushConfig(
        THIRD_URL,
        [
            PushSubscription("CABINET_STATUS"),
            PushSubscription("BATTERY_IN", OUR_URL),
            PushSubscription("BATTERY_BORROW_OUT", BILLING_URL),
        ],
    )
    await _check_push_health(hass, freezer)

    await _fix_issue(hass, "push_url_taken_over", registered_entry)

    saved = registered_entry.data[CONF_PREVIOUS_PUSH_CONFIG]
    assert saved["pushUrl"] == THIRD_URL
    saved_urls = {
        item["event"]: item["pushUrl"] for item in saved["eventSubscriptions"]
    }
    assert saved_urls == {
        "CABINET_STATUS": "",
        "BATTERY_IN": "",
        "BATTERY_BORROW_OUT": BILLING_URL,
    }

    await hass.config_entries.async_remove(registered_entry.entry_id)
    await hass.async_block_till_done()

    assert simulator.push_config.push_url == THIRD_URL
    assert simulator.push_config.url_for("BATTERY_IN") == THIRD_URL
    assert simulator.push_config.url_for("BATTERY_BORROW_OUT") == BILLING_URL
