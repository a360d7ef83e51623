"""Reading the entry's options: poll intervals, time zone and fleet filter."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from homeassistant.util import dt as dt_util

from .api import Cabinet
from .const import (
    CONF_CABINETS,
    CONF_POLL_INTERVAL,
    CONF_PUSH_POLL_INTERVAL,
    CONF_SHOPS,
    CONF_TIME_ZONE,
    DEFAULT_POLL_INTERVAL_MINUTES,
    DEFAULT_PUSH_POLL_INTERVAL_MINUTES,
)


def poll_interval(options: Mapping[str, Any], *, pushes_arrive: bool) -> timedelta:
    """Return the time between polls for the current update mode."""
    if pushes_arrive:
        minutes = options.get(
            CONF_PUSH_POLL_INTERVAL, DEFAULT_PUSH_POLL_INTERVAL_MINUTES
        )
    else:
        minutes = options.get(CONF_POLL_INTERVAL, DEFAULT_POLL_INTERVAL_MINUTES)
    return timedelta(minutes=float(minutes))


def cloud_time_zone(options: Mapping[str, Any]) -> tzinfo:
    """Return the zone of the cloud's timestamps, Home Assistant's by default."""
    name = options.get(CONF_TIME_ZONE)
    if name:
        try:
            return ZoneInfo(name)
        except ZoneInfoNotFoundError, ValueError:
            pass
    return dt_util.get_default_time_zone()


def is_included(cabinet: Cabinet, options: Mapping[str, Any]) -> bool:
    """Return whether the options' cabinet and shop filters keep the cabinet.

    An empty filter keeps every cabinet. With both filters set, a cabinet
    named in either is kept.
    """
    cabinets = options.get(CONF_CABINETS) or []
    shops = options.get(CONF_SHOPS) or []
    if not cabinets and not shops:
        return True
    return cabinet.cabinet_id in cabinets or (
        cabinet.shop_id is not None and cabinet.shop_id in shops
    )
