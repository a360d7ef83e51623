"""Repair issues for push delivery: no URL, URL taken over, pushes stopped.

Each check runs when the entry loads and then once an hour, costing one read
of the cloud's push configuration. An issue disappears by itself once the
next check finds the cause gone.
"""

from __future__ import annotations

from datetime import datetime, timedelta
import logging

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.util import dt as dt_util

from .api import ChargeNowError
from .const import CONF_PUSH_URL, CONF_WEBHOOK_ID, DOMAIN
from .coordinator import BajieConfigEntry
from .push_config import conflicting_push_url, webhook_push_url

_LOGGER = logging.getLogger(__name__)

CHECK_INTERVAL = timedelta(hours=1)
PUSH_SILENCE_LIMIT = timedelta(hours=2)
"""Without any push for this long, pushes count as stopped."""

ISSUE_NO_URL = "no_url"
ISSUE_URL_OUTDATED = "push_url_outdated"
ISSUE_URL_TAKEN_OVER = "push_url_taken_over"
ISSUE_PUSHES_STOPPED = "pushes_stopped"
FIXABLE_ISSUES = (ISSUE_URL_OUTDATED, ISSUE_URL_TAKEN_OVER)


def issue_id(entry: BajieConfigEntry, kind: str) -> str:
    """Return the id of one kind of issue for one entry."""
    return f"{kind}_{entry.entry_id}"


def _set_issue(
    hass: HomeAssistant,
    entry: BajieConfigEntry,
    kind: str,
    active: bool,
    placeholders: dict[str, str] | None = None,
) -> None:
    if not active:
        ir.async_delete_issue(hass, DOMAIN, issue_id(entry, kind))
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id(entry, kind),
        data={"entry_id": entry.entry_id, "kind": kind},
        is_fixable=kind in FIXABLE_ISSUES,
        severity=ir.IssueSeverity.WARNING,
        translation_key=kind,
        translation_placeholders={"account": entry.title, **(placeholders or {})},
    )


@callback
def async_delete_push_issues(hass: HomeAssistant, entry: BajieConfigEntry) -> None:
    """Delete every push issue of an entry."""
    for kind in (*FIXABLE_ISSUES, ISSUE_NO_URL, ISSUE_PUSHES_STOPPED):
        _set_issue(hass, entry, kind, False)


def current_webhook_url(hass: HomeAssistant, entry: BajieConfigEntry) -> str | None:
    """Return the URL the cloud should push to now, or None without one."""
    return webhook_push_url(hass, entry.data[CONF_WEBHOOK_ID])


@callback
def async_raise_taken_over_issue(
    hass: HomeAssistant, entry: BajieConfigEntry, other_url: str
) -> None:
    """Raise the taken-over issue, whose fix replaces another receiver's URL."""
    _set_issue(hass, entry, ISSUE_URL_TAKEN_OVER, True, {"other_url": other_url})


async def async_check_push_health(
    hass: HomeAssistant, entry: BajieConfigEntry, started: datetime
) -> None:
    """Create or clear the entry's push issues from what is true now."""
    registered_url = entry.data.get(CONF_PUSH_URL)
    if not registered_url:
        async_delete_push_issues(hass, entry)
        return

    url = current_webhook_url(hass, entry)
    _set_issue(hass, entry, ISSUE_NO_URL, url is None)
    _set_issue(
        hass,
        entry,
        ISSUE_URL_OUTDATED,
        url is not None and url != registered_url,
    )

    last_push = entry.runtime_data.coordinator.last_push
    silent_since = last_push or started
    _set_issue(
        hass,
        entry,
        ISSUE_PUSHES_STOPPED,
        dt_util.utcnow() - silent_since > PUSH_SILENCE_LIMIT,
    )

    try:
        current = await entry.runtime_data.client.async_get_push_config()
    except ChargeNowError as err:
        _LOGGER.debug("Could not read the cloud's push configuration: %s", err)
    else:
        other_url = conflicting_push_url(current, registered_url)
        _set_issue(
            hass,
            entry,
            ISSUE_URL_TAKEN_OVER,
            other_url is not None,
            {"other_url": other_url or ""},
        )


@callback
def async_track_push_health(hass: HomeAssistant, entry: BajieConfigEntry) -> None:
    """Check push delivery now and every hour while the entry is loaded."""
    started = dt_util.utcnow()

    async def check(now: datetime | None = None) -> None:
        await async_check_push_health(hass, entry, started)

    entry.async_create_task(hass, check(), "bajie_charging push check")
    entry.async_on_unload(async_track_time_interval(hass, check, CHECK_INTERVAL))
