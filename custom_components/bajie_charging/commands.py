"""Physical commands to cabinets, sent at most once each.

Eject and rent move hardware and money. A command is never retried after it
may have reached the cloud, only one eject per slot is in flight at a time,
and slot 0 is never sent because the cloud reads it as "every slot".
"""

from __future__ import annotations

from dataclasses import dataclass, field
import logging
import time

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.util.hass_dict import HassKey

from .api import (
    ChargeNowApiError,
    ChargeNowAuthError,
    ChargeNowCommandUnknownError,
    ChargeNowError,
    EjectMode,
    Operation,
)
from .const import DOMAIN
from .coordinator import BajieCoordinator

_LOGGER = logging.getLogger(__name__)

SLOT_OPERATIONS = frozenset({Operation.LOCK, Operation.UNLOCK})
"""Operations on one slot; the others act on the whole cabinet."""

EJECT_REPEAT_GUARD_SECONDS = 5.0
"""A second eject of the same slot this soon after one the cloud accepted, or
may have accepted, is taken for a double press and rejected."""

RECENT_EJECT_SECONDS = 3600.0
"""How long an eject's time is kept for the guard and for diagnostics."""


@dataclass
class EjectGuard:
    """The ejects in flight and the recent ones, by cabinet and slot.

    One guard serves every entry and lives in hass.data, so that reloading
    an entry during an eject, or right after one, does not let a second
    press through.
    """

    in_flight: set[tuple[str, int]] = field(default_factory=set)
    sent_at: dict[tuple[str, int], float] = field(default_factory=dict)
    """Monotonic time of the last eject the cloud accepted or left unanswered."""

    def is_busy(self, slot_key: tuple[str, int]) -> bool:
        """Return whether an eject of the slot is in flight or went out just now."""
        if slot_key in self.in_flight:
            return True
        sent_at = self.sent_at.get(slot_key)
        return sent_at is not None and time.monotonic() - sent_at < (
            EJECT_REPEAT_GUARD_SECONDS
        )

    def record_sent(self, slot_key: tuple[str, int]) -> None:
        """Record an eject that may have reached the cabinet, and forget old ones."""
        now = time.monotonic()
        for old_key in [
            key
            for key, sent_at in self.sent_at.items()
            if now - sent_at >= RECENT_EJECT_SECONDS
        ]:
            del self.sent_at[old_key]
        self.sent_at[slot_key] = now


DATA_EJECT_GUARD: HassKey[EjectGuard] = HassKey(f"{DOMAIN}_eject_guard")


def eject_guard(hass: HomeAssistant) -> EjectGuard:
    """Return the guard of every entry's ejects, created on first use."""
    if (guard := hass.data.get(DATA_EJECT_GUARD)) is None:
        guard = hass.data[DATA_EJECT_GUARD] = EjectGuard()
    return guard


def _error(key: str, **placeholders: str) -> HomeAssistantError:
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders=placeholders,
    )


def invalid_input(key: str, **placeholders: str) -> ServiceValidationError:
    """Return the translated error for input the user can correct.

    Home Assistant responds to such an error with HTTP 400 and logs no error.
    """
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders=placeholders,
    )


def slot_number(slot: object) -> int:
    """Return slot if it is a whole number from 1, or raise; a boolean is not one.

    Slot 0 never passes, because the cloud reads it as every slot.
    """
    if isinstance(slot, bool) or not isinstance(slot, int) or slot < 1:
        raise invalid_input("invalid_slot", slot=str(slot))
    return slot


def check_slot(coordinator: BajieCoordinator, cabinet_id: str, slot: int) -> None:
    """Raise unless slot is a slot of the cabinet in the current fleet data.

    Every eject and every slot operation checks its slot here, whether a
    button, an action or an automation sends it.
    """
    slot_number(slot)
    cabinet = coordinator.data.get(cabinet_id)
    if cabinet is None:
        raise invalid_input("cabinet_not_found", cabinet_id=cabinet_id)
    total_slots = cabinet.total_slots
    if total_slots is not None and slot > total_slots:
        raise invalid_input(
            "slot_out_of_range",
            slot=str(slot),
            cabinet_id=cabinet_id,
            total_slots=str(total_slots),
        )


async def async_eject(
    coordinator: BajieCoordinator,
    cabinet_id: str,
    slot: int,
    mode: EjectMode = EjectMode.REPAIR,
    order_id: str | None = None,
) -> None:
    """Eject the battery of one slot, or raise a translated error.

    Counts are not changed here: the cabinet's next push or the next poll
    reports whether the battery left.
    """
    check_slot(coordinator, cabinet_id, slot)
    if mode is EjectMode.RENT and not order_id:
        raise invalid_input("order_id_required")
    guard = eject_guard(coordinator.hass)
    slot_key = (cabinet_id, slot)
    # Nothing awaits between this check and marking the slot in flight, so
    # no other press can run in between.
    if guard.is_busy(slot_key):
        # A rejection of the user's request, not a failure.
        raise invalid_input("eject_in_progress", cabinet_id=cabinet_id, slot=str(slot))

    placeholders = {"cabinet_id": cabinet_id, "slot": str(slot)}
    guard.in_flight.add(slot_key)
    try:
        _LOGGER.info("Ejecting slot %s of cabinet %s (%s)", slot, cabinet_id, mode)
        try:
            if mode is EjectMode.RENT:
                assert order_id is not None
                await coordinator.client.async_eject_by_rent(cabinet_id, slot, order_id)
            else:
                await coordinator.client.async_eject_by_repair(cabinet_id, slot)
        except ChargeNowCommandUnknownError as err:
            guard.record_sent(slot_key)
            _LOGGER.warning(
                "Eject of slot %s of cabinet %s has an unknown result, not resending:"
                " %s",
                slot,
                cabinet_id,
                err,
            )
            raise _error("eject_result_unknown", **placeholders) from err
        except ChargeNowApiError as err:
            raise _error(
                "eject_rejected",
                **placeholders,
                code=str(err.code),
                message=err.message,
            ) from err
        except ChargeNowAuthError as err:
            coordinator.config_entry.async_start_reauth(coordinator.hass)
            raise _error("auth_failed") from err
        except ChargeNowError as err:
            raise _error(
                "eject_failed", **placeholders, error=str(err) or type(err).__name__
            ) from err
        guard.record_sent(slot_key)
        _LOGGER.info(
            "Cloud accepted the eject of slot %s of cabinet %s", slot, cabinet_id
        )
    finally:
        guard.in_flight.discard(slot_key)


async def async_operate(
    coordinator: BajieCoordinator,
    cabinet_id: str,
    operation: Operation,
    slot: int | None = None,
) -> None:
    """Send one device operation (restart, lock, report, ...), never retried.

    Lock and unlock need a slot of the cabinet. The cloud requires a slot for
    the cabinet-wide operations too but ignores it, so theirs is only checked
    to be a whole number from 1, and slot 1 is sent without one.
    """
    if operation in SLOT_OPERATIONS:
        if slot is None:
            raise invalid_input("slot_required", operation=operation.value)
        check_slot(coordinator, cabinet_id, slot)
    elif slot is None:
        slot = 1
    else:
        slot = slot_number(slot)

    placeholders = {"cabinet_id": cabinet_id, "operation": str(operation)}
    _LOGGER.info("Sending %s to cabinet %s (slot %s)", operation, cabinet_id, slot)
    try:
        await coordinator.client.async_operate(cabinet_id, operation, slot)
    except ChargeNowCommandUnknownError as err:
        raise _error("operation_result_unknown", **placeholders) from err
    except ChargeNowApiError as err:
        raise _error(
            "operation_rejected",
            **placeholders,
            code=str(err.code),
            message=err.message,
        ) from err
    except ChargeNowAuthError as err:
        coordinator.config_entry.async_start_reauth(coordinator.hass)
        raise _error("auth_failed") from err
    except ChargeNowError as err:
        raise _error(
            "operation_failed", **placeholders, error=str(err) or type(err).__name__
        ) from err
