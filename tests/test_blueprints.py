"""Tests of the automation blueprints in blueprints/automation/bajie_charging/.

The blueprints are copied into a temporary Home Assistant configuration
folder and run against pushes over real HTTP.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
import shutil
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import automation
from homeassistant.components.automation.config import AUTOMATION_BLUEPRINT_SCHEMA
from homeassistant.components.blueprint import Blueprint
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.setup import async_setup_component
from homeassistant.util.yaml import load_yaml_dict
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    async_get_persistent_notifications,
    async_mock_service,
)

from simulator import Simulator

from .event_helpers import (
    ClientFactory,
    connect_simulator,
    device_id_of,
    entity_id_for,
    occupied_slot,
    push,
)

BLUEPRINT_FOLDER = "bajie_charging"
BLUEPRINTS = Path(__file__).parent.parent / "blueprints" / "automation"
OFFLINE = f"{BLUEPRINT_FOLDER}/cabinet_offline.yaml"
ABNORMAL = f"{BLUEPRINT_FOLDER}/abnormal_battery_or_failed_eject.yaml"


@pytest.fixture
def hass_config_dir(hass_tmp_config_dir: str) -> str:
    """Return a temporary configuration folder holding the project's blueprints."""
    shutil.copytree(
        BLUEPRINTS / BLUEPRINT_FOLDER,
        Path(hass_tmp_config_dir) / "blueprints" / "automation" / BLUEPRINT_FOLDER,
    )
    return hass_tmp_config_dir


@pytest.fixture
async def notifications(hass: HomeAssistant) -> None:
    """Set up persistent notifications, which the default actions create."""
    assert await async_setup_component(hass, "persistent_notification", {})


@pytest.fixture
async def cloud(
    hass: HomeAssistant,
    notifications: None,
    loaded_entry: MockConfigEntry,
    simulator: Simulator,
    hass_client_no_auth: ClientFactory,
) -> Simulator:
    """Return the simulator, pushing to the loaded entry's webhook."""
    await connect_simulator(simulator, hass_client_no_auth)
    return simulator


async def _use_blueprint(
    hass: HomeAssistant, path: str, inputs: dict[str, Any]
) -> list[ServiceCall]:
    """Set up an automation from a blueprint; return the calls of test.notify."""
    calls = async_mock_service(hass, "test", "notify")
    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: {
                "use_blueprint": {"path": path, "input": inputs},
            }
        },
    )
    await hass.async_block_till_done()
    return calls


@pytest.mark.parametrize(
    "path", sorted((BLUEPRINTS / BLUEPRINT_FOLDER).glob("*.yaml")), ids=str
)
def test_blueprint_is_valid(path: Path) -> None:
    """Each blueprint passes Home Assistant's automation blueprint schema."""
    blueprint = Blueprint(
        load_yaml_dict(str(path)),
        path=str(path),
        expected_domain=automation.DOMAIN,
        schema=AUTOMATION_BLUEPRINT_SCHEMA,
    )

    assert blueprint.validate() is None
    assert blueprint.metadata["source_url"].endswith(path.name)


async def test_offline_notifies_after_minutes(
    hass: HomeAssistant, cloud: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    """A cabinet offline for the chosen minutes gets one notification."""
    cabinet_id = cloud.cabinet_ids[0]
    calls = await _use_blueprint(
        hass,
        OFFLINE,
        {
            "online_sensors": [
                entity_id_for(hass, "binary_sensor", f"{cabinet_id}_online")
            ],
            "offline_minutes": 5,
            "notify_actions": [
                {
                    "action": "test.notify",
                    "data": {"message": "{{ cabinet }} offline {{ minutes }} min"},
                }
            ],
        },
    )
    await push(hass, cloud, cabinet_id, "CABINET_OFFLINE")
    freezer.tick(timedelta(minutes=4))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert calls == []

    freezer.tick(timedelta(minutes=1, seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()

    assert [call.data for call in calls] == [{"message": f"{cabinet_id} offline 5 min"}]


async def test_offline_quiet_when_back_in_time(
    hass: HomeAssistant, cloud: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    """A cabinet back online before the minutes pass sends nothing."""
    cabinet_id = cloud.cabinet_ids[0]
    calls = await _use_blueprint(
        hass,
        OFFLINE,
        {
            "online_sensors": [
                entity_id_for(hass, "binary_sensor", f"{cabinet_id}_online")
            ],
            "offline_minutes": 5,
            "notify_actions": [{"action": "test.notify"}],
        },
    )
    await push(hass, cloud, cabinet_id, "CABINET_OFFLINE")
    freezer.tick(timedelta(minutes=2))
    async_fire_time_changed(hass)
    await push(hass, cloud, cabinet_id, "CABINET_ONLINE")
    freezer.tick(timedelta(minutes=10))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()

    assert calls == []


async def test_offline_default_notification(
    hass: HomeAssistant, cloud: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    """Without chosen actions the blueprint creates a persistent notification."""
    cabinet_id = cloud.cabinet_ids[0]
    await _use_blueprint(
        hass,
        OFFLINE,
        {
            "online_sensors": [
                entity_id_for(hass, "binary_sensor", f"{cabinet_id}_online")
            ]
        },
    )
    await push(hass, cloud, cabinet_id, "CABINET_OFFLINE")
    freezer.tick(timedelta(minutes=10, seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()

    messages = [
        notification["message"]
        for notification in async_get_persistent_notifications(hass).values()
    ]
    assert messages == [f"{cabinet_id} has been offline for 10 minutes."]


@pytest.mark.parametrize(
    ("push_args", "expected"),
    [
        (
            ("BATTERY_ABNORMAL_WARNING", {"faultCause": "Battery too hot."}),
            "Abnormal battery: Battery too hot.",
        ),
        (
            ("BATTERY_POPUP", {"outStatus": "1", "faultType": 2}),
            "Eject failed: Battery ID not found.",
        ),
        (("BATTERY_POPUP", {"outStatus": "0"}), None),
        (("BATTERY_BORROW_OUT", {}), None),
        (
            ("BATTERY_BORROW_OUT", {"faultType": 4}),
            "Rental failed: eject_failed",
        ),
    ],
)
async def test_abnormal_blueprint_picks_problems(
    hass: HomeAssistant,
    cloud: Simulator,
    push_args: tuple[str, dict[str, Any]],
    expected: str | None,
) -> None:
    """Abnormal batteries, failed ejects and failed rentals notify; others do not."""
    cabinet_id = cloud.cabinet_ids[0]
    slot = occupied_slot(cloud, cabinet_id)
    calls = await _use_blueprint(
        hass,
        ABNORMAL,
        {
            "notify_actions": [
                {
                    "action": "test.notify",
                    "data": {"message": "{{ problem }}: {{ reason }}"},
                }
            ]
        },
    )
    kind, overrides = push_args
    slot_field = "slotNum" if kind == "BATTERY_ABNORMAL_WARNING" else "outSlot"
    await push(hass, cloud, cabinet_id, kind, **{slot_field: slot, **overrides})

    messages = [call.data["message"] for call in calls]
    assert messages == ([] if expected is None else [expected])


async def test_abnormal_blueprint_watches_chosen_cabinets(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, cloud: Simulator
) -> None:
    """With cabinets chosen, other cabinets' problems send nothing."""
    watched, other = cloud.cabinet_ids[:2]
    calls = await _use_blueprint(
        hass,
        ABNORMAL,
        {
            "cabinets": [device_id_of(hass, loaded_entry.entry_id, watched)],
            "notify_actions": [
                {"action": "test.notify", "data": {"message": "{{ cabinet }}"}}
            ],
        },
    )
    await push(hass, cloud, other, "BATTERY_ABNORMAL_WARNING")
    await push(hass, cloud, watched, "BATTERY_ABNORMAL_WARNING")

    assert [call.data["message"] for call in calls] == [watched]


async def test_abnormal_default_notification(
    hass: HomeAssistant, cloud: Simulator
) -> None:
    """Without chosen actions the blueprint creates a persistent notification."""
    cabinet_id = cloud.cabinet_ids[0]
    slot = occupied_slot(cloud, cabinet_id)
    battery_id = cloud.cabinets[cabinet_id].slots[slot].battery_id
    await _use_blueprint(hass, ABNORMAL, {})
    await push(
        hass,
        cloud,
        cabinet_id,
        "BATTERY_POPUP",
        outSlot=slot,
        outStatus="1",
        faultType=3,
    )

    notifications = list(async_get_persistent_notifications(hass).values())
    assert [(item["title"], item["message"]) for item in notifications] == [
        (
            f"Eject failed at {cabinet_id}",
            f"Battery {battery_id} in slot {slot}: Ejection failed.",
        )
    ]
