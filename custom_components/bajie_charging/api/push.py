"""Parsing, validation and application of the cloud's cabinet event pushes.

A push is a JSON object `{"agentAccount", "event", "timestamp", "eventData"}`.
One `eventData` schema serves every event kind and only the fields relevant
to the kind are filled. Parsing is tolerant of strings for numbers and of
missing keys, and strict about the shape: anything that is not an object with
an event name and a cabinet id is rejected with `InvalidPushError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
import re
from typing import Any

from .models import Battery, Cabinet, parse_batteries, to_bool, to_int, to_str

MAX_ID_LENGTH = 64
MAX_SLOT = 999
MAX_COUNT = 10_000
MAX_TEXT_LENGTH = 256

_ID_PATTERN = re.compile(r"^[\w.:-]+$")
_EVENT_PATTERN = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
_TIMESTAMP_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y/%m/%d %H:%M:%S")


class PushKind(StrEnum):
    """Event kinds the cloud pushes."""

    CABINET_ONLINE = "CABINET_ONLINE"
    CABINET_OFFLINE = "CABINET_OFFLINE"
    CABINET_STATUS = "CABINET_STATUS"
    BATTERY_IN = "BATTERY_IN"
    BATTERY_BORROW_OUT = "BATTERY_BORROW_OUT"
    BATTERY_ABNORMAL_WARNING = "BATTERY_ABNORMAL_WARNING"
    BATTERY_POPUP = "BATTERY_POPUP"
    ADMIN_RENTAL_ORDER = "ADMIN_RENTAL_ORDER"
    POS_INFO_STATUS = "POS_INFO_STATUS"


KNOWN_KINDS = frozenset(PushKind)


class InvalidPushError(ValueError):
    """The push body is not a valid cabinet event; the message says why."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PushEvent:
    """One validated cabinet event, with its fields cleaned.

    None means the push did not carry the field.
    """

    kind: str
    """Event name as sent, upper case; may be a kind this code does not know."""
    cabinet_id: str
    agent_account: str | None = None
    timestamp: datetime | None = None
    """Event time as sent, without a zone."""
    online: bool | None = None
    signal: int | None = None
    total_slots: int | None = None
    rentable: int | None = None
    returnable: int | None = None
    batteries: tuple[Battery, ...] | None = None
    slot: int | None = None
    battery_id: str | None = None
    order_id: str | None = None
    fault_type: int | None = None
    fault_cause: str | None = None
    eject_failed: bool | None = None
    """For BATTERY_POPUP: True when the cabinet reported the eject failed."""
    pos_device_id: str | None = None

    @property
    def is_known_kind(self) -> bool:
        """Whether the kind is one this code knows how to apply."""
        return self.kind in KNOWN_KINDS


def _clean_id(value: object, field: str, *, required: bool) -> str | None:
    text = to_str(value)
    if text is None:
        if required:
            raise InvalidPushError(f"{field} is missing")
        return None
    if len(text) > MAX_ID_LENGTH or not _ID_PATTERN.match(text):
        raise InvalidPushError(f"{field} is not a valid identifier")
    return text


def _clean_text(value: object) -> str | None:
    text = to_str(value)
    if text is None:
        return None
    return text[:MAX_TEXT_LENGTH]


def _clean_count(value: object) -> int | None:
    number = to_int(value)
    if number is None or not 0 <= number <= MAX_COUNT:
        return None
    return number


def _clean_slot(value: object) -> int | None:
    number = to_int(value)
    if number is None or not 1 <= number <= MAX_SLOT:
        return None
    return number


def _parse_timestamp(value: object) -> datetime | None:
    text = to_str(value)
    if text is None:
        return None
    for pattern in _TIMESTAMP_FORMATS:
        try:
            return datetime.strptime(text[:19], pattern)
        except ValueError:
            continue
    return None


def _first(data: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        value = data.get(key)
        if value is not None:
            return value
    return None


def _slot_and_battery(kind: str, data: Mapping[str, Any]) -> tuple[Any, Any]:
    """Pick the slot and battery fields that matter for this kind."""
    if kind == PushKind.BATTERY_IN:
        return _first(data, "returnSlot", "slotNum", "slot"), _first(
            data, "returnBatteryId", "batteryId"
        )
    if kind == PushKind.BATTERY_ABNORMAL_WARNING:
        return _first(data, "slotNum", "slot", "outSlot", "returnSlot"), _first(
            data, "abnormalBatteryId", "batteryId"
        )
    return _first(data, "outSlot", "slotNum", "slot", "returnSlot"), _first(
        data, "outBatteryId", "batteryId", "returnBatteryId", "abnormalBatteryId"
    )


def parse_push(body: object) -> PushEvent:
    """Validate a decoded push body and return the cleaned event."""
    if not isinstance(body, Mapping):
        raise InvalidPushError("body is not a JSON object")

    kind_text = body.get("event")
    if not isinstance(kind_text, str) or not kind_text.strip():
        raise InvalidPushError("event is missing")
    kind = kind_text.strip().upper()
    if not _EVENT_PATTERN.match(kind):
        raise InvalidPushError("event is not a valid event name")

    data = body.get("eventData")
    if not isinstance(data, Mapping):
        raise InvalidPushError("eventData is missing or not an object")

    cabinet_id = _clean_id(data.get("cabinetId"), "cabinetId", required=True)
    assert cabinet_id is not None

    raw_slot, raw_battery = _slot_and_battery(kind, data)
    out_status = to_int(data.get("outStatus"))
    online = to_bool(data.get("infoStatus"))
    if kind == PushKind.CABINET_ONLINE:
        online = True
    elif kind == PushKind.CABINET_OFFLINE:
        online = False
    elif kind == PushKind.POS_INFO_STATUS:
        # The status of a POS terminal says nothing about the cabinet.
        online = None

    return PushEvent(
        kind=kind,
        cabinet_id=cabinet_id,
        agent_account=to_str(body.get("agentAccount")),
        timestamp=_parse_timestamp(body.get("timestamp")),
        online=online,
        signal=to_int(data.get("signal")),
        total_slots=_clean_count(data.get("totalCount")),
        rentable=_clean_count(data.get("rentableCount")),
        returnable=_clean_count(data.get("returnableCount")),
        batteries=parse_batteries(data.get("batteryList")),
        slot=_clean_slot(raw_slot),
        battery_id=_clean_id(raw_battery, "battery id", required=False),
        order_id=_clean_id(data.get("orderId"), "orderId", required=False),
        fault_type=to_int(data.get("faultType")),
        fault_cause=_clean_text(data.get("faultCause")),
        eject_failed=None if out_status is None else out_status != 0,
        pos_device_id=_clean_id(data.get("posDeviceId"), "posDeviceId", required=False),
    )


def _with_slot(
    batteries: tuple[Battery, ...] | None, slot: int, battery: Battery | None
) -> tuple[Battery, ...] | None:
    """Return the battery list with one slot replaced or emptied."""
    if batteries is None:
        # The other slots are unknown, so one event cannot make a full list.
        return None
    kept = [item for item in batteries if item.slot != slot]
    if battery is not None:
        kept.append(battery)
    return tuple(sorted(kept, key=lambda item: item.slot))


def _shift(value: int | None, delta: int) -> int | None:
    if value is None:
        return None
    return max(0, value + delta)


def apply_push(cabinet: Cabinet, event: PushEvent) -> Cabinet:
    """Return the cabinet as it is after the event.

    Counters carried by the push win. A push that moves a battery without
    counters adjusts the known counters by one.
    """
    changes: dict[str, Any] = {}
    if event.online is not None:
        changes["online"] = event.online
    elif event.kind in {PushKind.CABINET_STATUS, PushKind.BATTERY_IN}:
        # Only a connected cabinet can report its status or a return.
        changes["online"] = True
    if event.signal is not None:
        changes["signal"] = event.signal
    if event.total_slots is not None:
        changes["total_slots"] = event.total_slots
    if event.batteries is not None:
        changes["batteries"] = event.batteries

    rentable_delta = 0
    if event.slot is not None:
        if event.kind == PushKind.BATTERY_IN:
            battery = Battery(slot=event.slot, battery_id=event.battery_id)
            changes["batteries"] = _with_slot(cabinet.batteries, event.slot, battery)
            rentable_delta = 1
        elif event.kind == PushKind.BATTERY_BORROW_OUT or (
            event.kind == PushKind.BATTERY_POPUP and event.eject_failed is False
        ):
            changes["batteries"] = _with_slot(cabinet.batteries, event.slot, None)
            rentable_delta = -1

    if event.rentable is not None:
        changes["rentable"] = event.rentable
    elif rentable_delta:
        changes["rentable"] = _shift(cabinet.rentable, rentable_delta)
    if event.returnable is not None:
        changes["returnable"] = event.returnable
    elif rentable_delta:
        changes["returnable"] = _shift(cabinet.returnable, -rentable_delta)

    if not changes:
        return cabinet
    return replace(cabinet, **changes)
