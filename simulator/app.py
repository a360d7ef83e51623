"""Serve the cloud API paths: fleet listing, device info, commands, push config."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .control import add_control_routes
from .events import (
    EventKind,
    borrow_out_data,
    popup_data,
    status_data,
    take_battery,
)
from .middleware import API_PREFIX, ApiMiddleware, read_json
from .push import PushConfig, describe_destination
from .responses import (
    cabinet_offline,
    envelope,
    error_response,
    operation_invalid,
    slot_empty,
    slot_invalid,
    unknown_cabinet,
)
from .state import SimCabinet

if TYPE_CHECKING:
    from .cloud import Simulator

_LOGGER = logging.getLogger(__name__)

MAX_PAGE_LIMIT = 500
DEFAULT_PAGE_LIMIT = 10

OPERATION_TYPES = frozenset(
    {
        "restart",
        "pop",
        "popall",
        "popallForNoAuth",
        "popallForAuth",
        "heartbeat",
        "lock",
        "unlock",
        "lockStopCharge",
        "report",
    }
)
EJECT_ALL_OPERATIONS = frozenset({"popall", "popallForNoAuth", "popallForAuth"})


def build_app(sim: Simulator) -> web.Application:
    """Create the application with the API routes and the control routes."""
    api = CloudApi(sim)
    app = web.Application(middlewares=[ApiMiddleware(sim).middleware])
    app.router.add_get(f"{API_PREFIX}/cabinet/getAllDevicePage", api.list_page)
    app.router.add_get(f"{API_PREFIX}/cabinet/getAllDevice", api.list_all)
    app.router.add_get(f"{API_PREFIX}/rent/cabinet/query", api.device_info)
    app.router.add_post(f"{API_PREFIX}/cabinet/ejectByRepair", api.eject_by_repair)
    app.router.add_post(f"{API_PREFIX}/cabinet/ejectByRent", api.eject_by_rent)
    app.router.add_post(f"{API_PREFIX}/cabinet/operation", api.operation)
    app.router.add_get(
        f"{API_PREFIX}/cabinet/eventPush/config/get", api.get_push_config
    )
    app.router.add_post(f"{API_PREFIX}/cabinet/eventPush/config", api.set_push_config)
    add_control_routes(app, sim)
    return app


class CloudApi:
    """Request handlers of the cloud API paths."""

    def __init__(self, sim: Simulator) -> None:
        """Serve the fleet and push configuration of `sim`."""
        self._sim = sim

    async def list_page(self, request: web.Request) -> web.Response:
        """Return one page of the fleet listing."""
        page = _positive_int(request.query.get("page"), "page", default=1)
        limit = _positive_int(
            request.query.get("limit"), "limit", default=DEFAULT_PAGE_LIMIT
        )
        limit = min(limit, MAX_PAGE_LIMIT)
        cabinet_ids = self._sim.cabinet_ids
        start = (page - 1) * limit
        items = [
            _listing_item(self._sim.cabinets[cabinet_id])
            for cabinet_id in cabinet_ids[start : start + limit]
        ]
        return envelope(
            {"total": len(cabinet_ids), "page": page, "limit": limit, "list": items}
        )

    async def list_all(self, request: web.Request) -> web.Response:
        """Return the whole fleet listing without paging."""
        del request
        return envelope(
            [_listing_item(cabinet) for cabinet in self._sim.cabinets.values()]
        )

    async def device_info(self, request: web.Request) -> web.Response:
        """Return the live detail of one online cabinet."""
        cabinet = self._cabinet(request.query.get("deviceId"))
        if not cabinet.online:
            raise cabinet_offline()
        return envelope(_device_info(cabinet))

    async def eject_by_repair(self, request: web.Request) -> web.Response:
        """Eject a battery for service and push the result."""
        cabinet = self._cabinet(request.query.get("cabinetid"))
        slot = self._eject_slot(cabinet, request.query.get("slotNum"))
        self._eject(cabinet, slot, order_id=None)
        return envelope()

    async def eject_by_rent(self, request: web.Request) -> web.Response:
        """Eject a battery for a rental order and push the result."""
        cabinet = self._cabinet(request.query.get("cabinetid"))
        slot = self._eject_slot(cabinet, request.query.get("slotNum"))
        order_id = request.query.get("rentOrderId") or self._sim.fleet.new_order_id()
        self._eject(cabinet, slot, order_id=order_id)
        return envelope()

    async def operation(self, request: web.Request) -> web.Response:
        """Run a device operation on a cabinet."""
        cabinet = self._cabinet(request.query.get("cabinetid"))
        operation = request.query.get("operationType", "")
        if operation not in OPERATION_TYPES:
            raise operation_invalid()

        raw_slot = request.query.get("slotNum")
        if operation == "pop":
            slot = self._eject_slot(cabinet, raw_slot)
            self._eject(cabinet, slot, order_id=None)
            return envelope()

        if operation in EJECT_ALL_OPERATIONS:
            # Counted like slot 0: on the real cloud these empty the cabinet.
            self._sim.forbidden_slot_requests += 1

        if not cabinet.online:
            raise cabinet_offline()

        if operation in {"report", "heartbeat"}:
            self._sim.queue_pushes([(EventKind.CABINET_STATUS, status_data(cabinet))])
        elif operation == "restart":
            self._sim.restart_cabinet(cabinet)
        elif operation in {"lock", "unlock"}:
            lock_slot = _slot_number(cabinet, raw_slot)
            if lock_slot is None:
                raise slot_invalid()
            if operation == "lock":
                cabinet.locked_slots.add(lock_slot)
            else:
                cabinet.locked_slots.discard(lock_slot)
            self._sim.queue_pushes([(EventKind.CABINET_STATUS, status_data(cabinet))])
        return envelope()

    async def get_push_config(self, request: web.Request) -> web.Response:
        """Return the stored push configuration."""
        del request
        return envelope(self._sim.push_config.to_json())

    async def set_push_config(self, request: web.Request) -> web.Response:
        """Replace the push configuration with the JSON body."""
        try:
            config = PushConfig.from_json(await read_json(request))
        except ValueError as err:
            return error_response(400, f"Invalid push configuration: {err}")
        self._sim.push_config = config
        _LOGGER.info(
            "Push configuration replaced: default URL at %s, %d subscriptions",
            describe_destination(config.push_url) if config.push_url else "none",
            len(config.subscriptions),
        )
        return envelope()

    def _cabinet(self, cabinet_id: str | None) -> SimCabinet:
        """Return the cabinet with this id or raise the unknown-cabinet error."""
        cabinet = self._sim.cabinets.get(cabinet_id or "")
        if cabinet is None:
            raise unknown_cabinet()
        return cabinet

    def _eject_slot(self, cabinet: SimCabinet, raw_slot: str | None) -> int:
        """Return the slot of an eject, counting and rejecting an invalid one."""
        slot = _slot_number(cabinet, raw_slot)
        if slot is None:
            self._sim.forbidden_slot_requests += 1
            _LOGGER.warning(
                "Eject request for cabinet %s with invalid slot %r rejected; the "
                "real cloud ejects every slot when the slot is 0 or missing",
                cabinet.cabinet_id,
                raw_slot,
            )
            raise slot_invalid()
        return slot

    def _eject(self, cabinet: SimCabinet, slot: int, *, order_id: str | None) -> None:
        """Remove the battery from an online cabinet's slot and queue the pushes."""
        if not cabinet.online:
            raise cabinet_offline()
        if cabinet.slots[slot] is None:
            raise slot_empty()

        battery = take_battery(self._sim.fleet, cabinet, slot, order_id)
        pushes = [
            (EventKind.BATTERY_POPUP, popup_data(cabinet, slot, battery.battery_id))
        ]
        if order_id is not None:
            pushes.append(
                (
                    EventKind.BATTERY_BORROW_OUT,
                    borrow_out_data(cabinet, slot, battery.battery_id, order_id),
                )
            )
        pushes.append((EventKind.CABINET_STATUS, status_data(cabinet)))
        self._sim.queue_pushes(pushes)


def _positive_int(raw: str | None, name: str, *, default: int) -> int:
    """Parse a paging parameter, raising HTTP 400 when it is not a positive int."""
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise web.HTTPBadRequest(reason=f"Invalid {name}: {raw!r}")
    return int(raw)


def _slot_number(cabinet: SimCabinet, raw_slot: str | None) -> int | None:
    """Return the slot as an int when it exists in the cabinet, else None."""
    if raw_slot is None or not raw_slot.isdigit():
        return None
    slot = int(raw_slot)
    return slot if slot in cabinet.slots else None


def _listing_item(cabinet: SimCabinet) -> dict[str, Any]:
    """Return a cabinet as an item of the fleet listing."""
    return {
        "pCabinetid": cabinet.cabinet_id,
        "pQrcode": cabinet.qr_code,
        "pShopid": cabinet.shop.shop_id,
        "shopName": cabinet.shop.name,
        "type": str(cabinet.slot_count),
        "slots": cabinet.slot_count,
        "pBorrow": cabinet.rentable_count,
        "pAlso": cabinet.returnable_count,
        "online": cabinet.online,
        "infoStatus": "online" if cabinet.online else "offline",
        "signal": str(cabinet.signal),
        "ip": cabinet.ip,
    }


def _device_info(cabinet: SimCabinet) -> dict[str, Any]:
    """Return the `data` of the device info reply."""
    shop = cabinet.shop
    return {
        "cabinet": {
            "id": cabinet.cabinet_id,
            "qrCode": cabinet.qr_code,
            "type": str(cabinet.slot_count),
            "slots": cabinet.slot_count,
            "online": cabinet.online,
            "busySlots": cabinet.rentable_count,
            "emptySlots": cabinet.returnable_count,
            "signal": str(cabinet.signal),
            "ip": cabinet.ip,
            "shopId": shop.shop_id,
            "remark": cabinet.remark,
            "posDeviceId": cabinet.pos_device_id,
            "posOnlineStatus": "online" if cabinet.pos_online else "offline",
        },
        "batteries": [
            {"slotNum": slot, "vol": battery.charge, "batteryId": battery.battery_id}
            for slot, battery in cabinet.slots.items()
            if battery is not None
        ],
        "shop": {
            "id": shop.shop_id,
            "name": shop.name,
            "address": shop.address,
            "city": shop.city,
            "province": "",
            "region": "",
            "latitude": shop.latitude,
            "longitude": shop.longitude,
            "openingTime": "08:00-22:00",
            "icon": "",
            "logo": "",
            "content": "",
            "price": 1,
            "priceMinute": "60",
            "freeMinutes": 10,
            "dailyMaxPrice": 10,
            "deposit": 30,
        },
        "priceStrategy": {
            "name": shop.name,
            "shopId": shop.shop_id,
            "price": 1,
            "priceMinute": 60,
            "freeMinutes": 10,
            "dailyMaxPrice": 10,
            "depositAmount": 30,
            "timeoutAmount": 50,
            "timeoutDay": 3,
            "autoRefund": 0,
            "currency": "EUR",
            "currencySymbol": "€",
        },
    }
