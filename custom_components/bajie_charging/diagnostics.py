"""Diagnostics of a config entry and of one cabinet, with secrets redacted.

Redacted: the agent credentials (the username too, because it is half of
the login and names the operator), the webhook id and every push URL, which
contain the id, the server URL, and IP addresses. The entry title and unique
id contain the username, so they are redacted as well.
"""

from __future__ import annotations

from dataclasses import asdict
import time
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers.device_registry import DeviceEntry

from .api import DEFAULT_BASE_URL, Cabinet
from .commands import eject_guard
from .const import CONF_BASE_URL, CONF_PUSH_URL, CONF_WEBHOOK_ID, DOMAIN
from .coordinator import BajieConfigEntry, BajieCoordinator

TO_REDACT = frozenset(
    {
        CONF_PASSWORD,
        CONF_USERNAME,
        CONF_WEBHOOK_ID,
        CONF_PUSH_URL,
        CONF_BASE_URL,
        "title",
        "unique_id",
        # Push configurations as the cloud stores them.
        "pushUrl",
        # Cabinet addresses, as the listing and pushes name them.
        "ip",
        "clientIp",
        "client_ip",
    }
)


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: BajieConfigEntry
) -> dict[str, Any]:
    """Return the entry's settings, polling status and every cabinet."""
    coordinator = entry.runtime_data.coordinator
    fleet = coordinator.data or {}
    return {
        "entry": async_redact_data(
            {
                "title": entry.title,
                "unique_id": entry.unique_id,
                "data": dict(entry.data),
                "options": dict(entry.options),
            },
            TO_REDACT,
        ),
        "uses_default_server": entry.data.get(CONF_BASE_URL) == DEFAULT_BASE_URL,
        "coordinator": _coordinator_diagnostics(coordinator),
        "cabinets": {
            cabinet_id: _cabinet_diagnostics(cabinet)
            for cabinet_id, cabinet in sorted(fleet.items())
        },
    }


async def async_get_device_diagnostics(
    hass: HomeAssistant, entry: BajieConfigEntry, device: DeviceEntry
) -> dict[str, Any]:
    """Return one cabinet's state and its recent ejects."""
    coordinator = entry.runtime_data.coordinator
    cabinet_id = next(
        (value for domain, value in device.identifiers if domain == DOMAIN), None
    )
    cabinet = (coordinator.data or {}).get(cabinet_id) if cabinet_id else None
    now = time.monotonic()
    return {
        "cabinet_id": cabinet_id,
        "in_fleet": cabinet is not None,
        "cabinet": None if cabinet is None else _cabinet_diagnostics(cabinet),
        "seconds_since_eject_by_slot": {
            str(slot): round(now - sent_at, 1)
            for (ejected_cabinet, slot), sent_at in sorted(
                eject_guard(hass).sent_at.items()
            )
            if ejected_cabinet == cabinet_id
        },
        "coordinator": _coordinator_diagnostics(coordinator),
    }


def _coordinator_diagnostics(coordinator: BajieCoordinator) -> dict[str, Any]:
    """Describe polling and pushes without error texts, which may name hosts."""
    interval = coordinator.update_interval
    last_error = coordinator.last_exception
    return {
        "last_update_success": coordinator.last_update_success,
        "last_error_type": None if last_error is None else type(last_error).__name__,
        "update_interval_seconds": (
            None if interval is None else interval.total_seconds()
        ),
        "last_push": (
            None if coordinator.last_push is None else coordinator.last_push.isoformat()
        ),
        "requests_sent": coordinator.client.request_count,
        "cabinet_count": len(coordinator.data or {}),
    }


def _cabinet_diagnostics(cabinet: Cabinet) -> dict[str, Any]:
    """Return the cabinet's fields, with any address field redacted."""
    return async_redact_data(asdict(cabinet), TO_REDACT)
