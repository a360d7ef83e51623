"""Constants of the Bajie Charging integration."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

DOMAIN: Final = "bajie_charging"
MANUFACTURER: Final = "Bajie Charging"

CONF_BASE_URL: Final = "base_url"
CONF_REGISTER_PUSH: Final = "register_push"
CONF_WEBHOOK_ID: Final = "webhook_id"
CONF_PUSH_URL: Final = "push_url"
"""The webhook URL this entry registered in the cloud, if it did."""
CONF_PREVIOUS_PUSH_CONFIG: Final = "previous_push_config"
"""The cloud's push configuration before this entry registered, as JSON."""

DEFAULT_SCAN_INTERVAL: Final = timedelta(minutes=1)

# Options (entry.options), set in the options flow.
CONF_POLL_INTERVAL: Final = "poll_interval"
"""Minutes between polls while no pushes arrive."""
CONF_PUSH_POLL_INTERVAL: Final = "push_poll_interval"
"""Minutes between polls while pushes arrive."""
CONF_TIME_ZONE: Final = "time_zone"
"""IANA zone of the cloud's zone-less timestamps; Home Assistant's by default."""
CONF_CABINETS: Final = "cabinets"
"""Cabinet ids to include; empty means all."""
CONF_SHOPS: Final = "shops"
"""Shop ids to include; empty means all."""
DEFAULT_POLL_INTERVAL_MINUTES: Final = 1
DEFAULT_PUSH_POLL_INTERVAL_MINUTES: Final = 15

EVENT_CABINET: Final = "bajie_charging_event"

MAX_PUSH_BODY_BYTES: Final = 64 * 1024
"""Largest push body accepted; a status push of a 48-slot cabinet is ~6 KB."""
