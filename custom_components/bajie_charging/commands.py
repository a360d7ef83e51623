"""Physical commands to cabinets, sent at most once each.

Eject and rent move hardware and money. A command is never retried after it
may have reached the cloud, only one eject per slot is in flight at a time,
and slot 0 is never sent because the cloud reads it as "every slot".
"""

from __future__ import annotations

import logging
import time

from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

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

EJECT_REPEAT_GUARD_SECONDS = 5.0
"""A second eject of the same slot this soon after one the cloud accepted, or
may have accepted, is taken for a double press and rejected."""


def _error(key: str, **placeholders: str) -> HomeAssistantError:
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders=placeholders,
    )


def _is_slot_busy(coordinator: BajieCoordinator, cabinet_id: str, slot: int) -> bool:
    """Return whether an eject of the slot is in flight or went out just now."""
    if coordinator.slot_lock(cabinet_id, slot).locked():
        return True
    sent_at = coordinator.eject_sent_at.get((cabinet_id, slot))
    return sent_at is not None and time.monotonic() - sent_at < (
        EJECT_REPEAT_GUARD_SECONDS
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
    if isinstance(slot, bool) or not isinstance(slot, int) or slot < 1:
        raise _error("invalid_slot", slot=str(slot))
    if mode is EjectMode.RENT and not order_id:
        raise _error("order_id_required")
    # An uncontended asyncio.Lock is taken without yielding to the event loop,
    # so no other press runs between this check and taking the lock.
    if _is_slot_busy(coordinator, cabinet_id, slot):
        # A refusal of the user's request, not a failure: raised as a
        # validation error so Home Assistant answers 400 and logs no error.
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="eject_in_progress",
            translation_placeholders={"cabinet_id": cabinet_id, "slot": str(slot)},
        )

    placeholders = {"cabinet_id": cabinet_id, "slot": str(slot)}
    async with coordinator.slot_lock(cabinet_id, slot):
        _LOGGER.info("Ejecting slot %s of cabinet %s (%s)", slot, cabinet_id, mode)
        try:
            if mode is EjectMode.RENT:
                assert order_id is not None
                await coordinator.client.async_eject_by_rent(cabinet_id, slot, order_id)
            else:
                await coordinator.client.async_eject_by_repair(cabinet_id, slot)
        except ChargeNowCommandUnknownError as err:
            coordinator.eject_sent_at[(cabinet_id, slot)] = time.monotonic()
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
        coordinator.eject_sent_at[(cabinet_id, slot)] = time.monotonic()
        _LOGGER.info(
            "Cloud accepted the eject of slot %s of cabinet %s", slot, cabinet_id
        )


async def async_operate(
    coordinator: BajieCoordinator,
    cabinet_id: str,
    operation: Operation,
    slot: int = 1,
) -> None:
    """Send one device operation (restart, lock, report, ...), never retried."""
    if isinstance(slot, bool) or not isinstance(slot, int) or slot < 1:
        raise _error("invalid_slot", slot=str(slot))

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
