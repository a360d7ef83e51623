"""Shared fixtures: a simulated cloud, a config entry and a loaded integration."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.bajie_charging.config_flow import account_unique_id
from custom_components.bajie_charging.const import (
    CONF_BASE_URL,
    CONF_REGISTER_PUSH,
    CONF_WEBHOOK_ID,
    DOMAIN,
)
from simulator import Simulator

USERNAME = "agent"
PASSWORD = "secret"
HARNESS_TIME_ZONE = "US/Pacific"
WEBHOOK_ID = "0123456789abcdef" * 4


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load the integration from custom_components."""


@pytest.fixture(autouse=True)
def no_deprecation_warnings(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail a test whose run logs that something of ours is deprecated.

    Home Assistant's reports of an integration's outdated calls begin with
    "Detected that custom integration" and may not say "deprecated".
    """
    yield
    deprecations = [
        record.getMessage()
        for record in caplog.get_records("call")
        if "deprecat" in record.getMessage().lower()
        or "detected that custom integration" in record.getMessage().lower()
    ]
    assert deprecations == []


@pytest.fixture
async def simulator(socket_enabled: None) -> AsyncIterator[Simulator]:
    """Run a simulated cloud with three cabinets of eight slots on loopback.

    Sockets are enabled for it; connections stay limited to 127.0.0.1.
    """
    # Pushes carry local time without a zone; the test harness runs Home
    # Assistant in US/Pacific, so the simulator writes its times there too.
    sim = Simulator(
        cabinets=3,
        slots=8,
        username=USERNAME,
        password=PASSWORD,
        seed=7,
        timezone=HARNESS_TIME_ZONE,
    )
    await sim.start(host="127.0.0.1", port=0)
    yield sim
    await sim.stop()


def make_config_entry(simulator: Simulator) -> MockConfigEntry:
    """Return a config entry for the agent account of a running simulator."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=USERNAME,
        unique_id=account_unique_id(USERNAME, simulator.base_url),
        data={
            CONF_USERNAME: USERNAME,
            CONF_PASSWORD: PASSWORD,
            CONF_BASE_URL: simulator.base_url,
            CONF_REGISTER_PUSH: False,
            CONF_WEBHOOK_ID: WEBHOOK_ID,
        },
    )


@pytest.fixture
def config_entry(simulator: Simulator) -> MockConfigEntry:
    """Return a config entry for the simulated agent account."""
    return make_config_entry(simulator)


@pytest.fixture
async def loaded_entry(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> MockConfigEntry:
    """Set up the integration against the simulator and return its entry."""
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    return config_entry


@pytest.fixture
async def cloud(
    loaded_entry: MockConfigEntry,
    simulator: Simulator,
    hass_client_no_auth: ClientSessionGenerator,
) -> Simulator:
    """Return the simulator, pushing to the loaded entry's webhook."""
    # Imported here because event_helpers imports this module's constants.
    from .event_helpers import connect_simulator  # noqa: PLC0415

    await connect_simulator(simulator, hass_client_no_auth)
    return simulator
