"""Tests for the ChargeNow cloud client over real HTTP on the loopback interface."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
import json
import logging
import socket
from typing import Any

import aiohttp
from aiohttp import web
import pytest

from custom_components.bajie_charging.api import (
    Battery,
    ChargeNowApiError,
    ChargeNowAuthError,
    ChargeNowClient,
    ChargeNowCommandUnknownError,
    ChargeNowConnectionError,
    ChargeNowRateLimitError,
    ChargeNowResponseError,
    ChargeNowTimeoutError,
    EventSubscription,
    Operation,
    PushConfig,
)
from custom_components.bajie_charging.api.client import _parse_retry_after

from .conftest import PASSWORD, USERNAME, FakeCloud, Handler, listing_item, reply

type ClientFactory = Callable[..., ChargeNowClient]

LISTING_PAGE = "/cabinet/getAllDevicePage"
LISTING = "/cabinet/getAllDevice"
DEVICE_INFO = "/rent/cabinet/query"
EJECT_BY_REPAIR = "/cabinet/ejectByRepair"
EJECT_BY_RENT = "/cabinet/ejectByRent"
OPERATION = "/cabinet/operation"
PUSH_CONFIG_GET = "/cabinet/eventPush/config/get"
PUSH_CONFIG_SET = "/cabinet/eventPush/config"

# Device info reply in the shape of the reference document's example.
DEVICE_INFO_DATA: dict[str, Any] = {
    "priceStrategy": {
        "depositAmount": 30,
        "priceMinute": 60,
        "autoRefund": 0,
        "timeoutAmount": 50,
        "timeoutDay": 3,
        "dailyMaxPrice": 10,
        "freeMinutes": 10,
        "currencySymbol": "€",
        "price": 1,
        "name": "Example Venue",
        "currency": "EUR",
        "shopId": "",
    },
    "shop": {
        "priceMinute": "60",
        "city": "",
        "dailyMaxPrice": 10,
        "latitude": "48.8566",
        "openingTime": "",
        "freeMinutes": 10,
        "icon": "",
        "content": "",
        "province": "",
        "price": 1,
        "name": "Example Venue",
        "deposit": 30,
        "logo": "",
        "id": "shop0000001",
        "region": "",
        "longitude": "2.3522",
    },
    "batteries": [
        {"slotNum": 1, "vol": 100, "batteryId": "BAT0000001"},
        {"slotNum": 2, "vol": 99, "batteryId": "BAT0000002"},
    ],
    "cabinet": {
        "ip": "203.0.113.24",
        "remark": " ",
        "posOnlineStatus": "offline",
        "type": "8",
        "slots": 8,
        "qrCode": "QR-EXAMPLE",
        "online": True,
        "emptySlots": 6,
        "busySlots": 2,
        "id": "DTA00001",
        "shopId": "shop0000001",
        "signal": "73",
        "posDeviceId": "",
    },
}


def paged_listing(
    items: list[dict[str, Any]], *, total: bool = True, key: str = "list"
) -> Handler:
    """Return a handler that serves items page by page, as the cloud does."""

    async def handle(request: web.Request) -> web.Response:
        page = int(request.query["page"])
        limit = int(request.query["limit"])
        data: dict[str, Any] = {
            "page": page,
            "limit": limit,
            key: items[(page - 1) * limit : page * limit],
        }
        if total:
            data["total"] = len(items)
        return web.json_response({"code": 0, "msg": "ok", "data": data})

    return handle


def reply_text(text: str, *, status: int = 200) -> Handler:
    """Return a handler that responds with plain text."""

    async def handle(request: web.Request) -> web.Response:
        return web.Response(text=text, status=status)

    return handle


def reply_json(body: Any) -> Handler:
    """Return a handler that responds with any JSON body."""

    async def handle(request: web.Request) -> web.Response:
        return web.json_response(body)

    return handle


def closed_port_url() -> str:
    """Return a loopback base URL on a port where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/cdb-open-api/v1"


# Fleet listing.


async def test_list_cabinets_reads_every_page(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    cloud.route(
        "GET", LISTING_PAGE, paged_listing([listing_item(n) for n in range(250)])
    )
    client = make_client(await cloud.start(), page_size=100)

    cabinets = await client.async_list_cabinets()

    assert len(cabinets) == 250
    assert [r.query["page"] for r in cloud.requests] == ["1", "2", "3"]
    assert {r.query["limit"] for r in cloud.requests} == {"100"}


async def test_list_cabinets_parses_item(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    cloud.route("GET", LISTING_PAGE, paged_listing([listing_item(1)]))
    client = make_client(await cloud.start())

    [cabinet] = await client.async_list_cabinets()

    assert cabinet.cabinet_id == "BJX00001"
    assert cabinet.online is True
    assert cabinet.signal == 25
    assert cabinet.total_slots == 8
    assert cabinet.rentable == 3
    assert cabinet.returnable == 5
    assert cabinet.qr_code == "QR-BJX00001"
    assert cabinet.shop_id == "shop0000001"
    assert cabinet.shop_name == "Cafe Central"
    assert cabinet.batteries is None


async def test_list_cabinets_exact_request_count(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    cloud.route(
        "GET", LISTING_PAGE, paged_listing([listing_item(n) for n in range(200)])
    )
    client = make_client(await cloud.start(), page_size=100)

    cabinets = await client.async_list_cabinets()

    assert len(cabinets) == 200
    assert client.request_count == 2


async def test_list_cabinets_stops_on_short_page(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    items = [listing_item(n) for n in range(150)]
    cloud.route("GET", LISTING_PAGE, paged_listing(items, total=False))
    client = make_client(await cloud.start(), page_size=100)

    cabinets = await client.async_list_cabinets()

    assert len(cabinets) == 150
    assert len(cloud.requests) == 2


async def test_list_cabinets_stops_on_empty_page(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    items = [listing_item(n) for n in range(100)]
    cloud.route("GET", LISTING_PAGE, paged_listing(items, total=False))
    client = make_client(await cloud.start(), page_size=50)

    cabinets = await client.async_list_cabinets()

    assert len(cabinets) == 100
    assert len(cloud.requests) == 3


async def test_list_cabinets_empty_fleet(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    cloud.route("GET", LISTING_PAGE, paged_listing([]))
    client = make_client(await cloud.start())

    cabinets = await client.async_list_cabinets()

    assert cabinets == []
    assert len(cloud.requests) == 1


async def test_list_cabinets_follows_capped_limit(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    items = [listing_item(n) for n in range(7)]

    async def capped(request: web.Request) -> web.Response:
        page = int(request.query["page"])
        data = {"page": page, "limit": 3, "list": items[(page - 1) * 3 : page * 3]}
        return web.json_response({"code": 0, "msg": "ok", "data": data})

    cloud.route("GET", LISTING_PAGE, capped)
    client = make_client(await cloud.start(), page_size=10)

    cabinets = await client.async_list_cabinets()

    assert len(cabinets) == 7
    assert len(cloud.requests) == 3


@pytest.mark.parametrize("key", ["records", "rows"])
async def test_list_cabinets_other_list_keys(
    cloud: FakeCloud, make_client: ClientFactory, key: str
) -> None:
    cloud.route("GET", LISTING_PAGE, paged_listing([listing_item(1)], key=key))
    client = make_client(await cloud.start())

    cabinets = await client.async_list_cabinets()

    assert [cabinet.cabinet_id for cabinet in cabinets] == ["BJX00001"]


async def test_list_cabinets_plain_list_data(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    items = [listing_item(n) for n in range(3)]
    cloud.route("GET", LISTING_PAGE, reply(items))
    client = make_client(await cloud.start(), page_size=3)

    cabinets = await client.async_list_cabinets()

    assert len(cabinets) == 3
    assert len(cloud.requests) == 1


async def test_list_cabinets_falls_back_on_404(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    cloud.route("GET", LISTING, reply([listing_item(1), listing_item(2)]))
    client = make_client(await cloud.start())

    cabinets = await client.async_list_cabinets()

    assert [cabinet.cabinet_id for cabinet in cabinets] == ["BJX00001", "BJX00002"]
    assert [r.path for r in cloud.requests] == [LISTING_PAGE, LISTING]


async def test_list_cabinets_remembers_fallback(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    cloud.route("GET", LISTING, reply([listing_item(1)]))
    client = make_client(await cloud.start())

    await client.async_list_cabinets()
    await client.async_list_cabinets()

    assert [r.path for r in cloud.requests] == [LISTING_PAGE, LISTING, LISTING]


async def test_list_cabinets_skips_items_without_id(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    items: list[Any] = [listing_item(1), {"pQrcode": "QR-X"}, "junk", listing_item(2)]
    cloud.route("GET", LISTING_PAGE, reply({"total": 4, "list": items}))
    client = make_client(await cloud.start())

    cabinets = await client.async_list_cabinets()

    assert [cabinet.cabinet_id for cabinet in cabinets] == ["BJX00001", "BJX00002"]


async def test_list_cabinets_duplicate_keeps_last(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    first = listing_item(1)
    second = listing_item(2)
    moved = listing_item(1) | {"pBorrow": 7}
    cloud.route("GET", LISTING_PAGE, paged_listing([first, second, moved]))
    client = make_client(await cloud.start(), page_size=2)

    cabinets = await client.async_list_cabinets()

    assert len(cabinets) == 2
    assert cabinets[0].rentable == 7


async def test_list_cabinets_numbers_as_strings(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    item = listing_item(1) | {"slots": "8", "pBorrow": "3", "pAlso": "5"}
    data = {"total": "1", "page": "1", "limit": "100", "list": [item]}
    cloud.route("GET", LISTING_PAGE, reply(data, code="0"))
    client = make_client(await cloud.start())

    [cabinet] = await client.async_list_cabinets()

    assert cabinet.total_slots == 8
    assert cabinet.rentable == 3
    assert cabinet.returnable == 5
    assert len(cloud.requests) == 1


async def test_list_cabinets_without_list_key(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    cloud.route("GET", LISTING_PAGE, reply({"total": 5}))
    client = make_client(await cloud.start())

    with pytest.raises(ChargeNowResponseError):
        await client.async_list_cabinets()


# Device info.


async def test_get_cabinet_parses_device_info(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    cloud.route("GET", DEVICE_INFO, reply(DEVICE_INFO_DATA))
    client = make_client(await cloud.start())

    cabinet = await client.async_get_cabinet("DTA00001")

    assert cabinet.cabinet_id == "DTA00001"
    assert cabinet.online is True
    assert cabinet.signal == 73
    assert cabinet.total_slots == 8
    assert cabinet.rentable == 2
    assert cabinet.returnable == 6
    assert cabinet.model == "8"
    assert cabinet.qr_code == "QR-EXAMPLE"
    assert cabinet.shop_id == "shop0000001"
    assert cabinet.shop_name == "Example Venue"
    assert cabinet.batteries == (
        Battery(slot=1, battery_id="BAT0000001", charge=100),
        Battery(slot=2, battery_id="BAT0000002", charge=99),
    )


async def test_get_cabinet_sends_device_id(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    cloud.route("GET", DEVICE_INFO, reply(DEVICE_INFO_DATA))
    client = make_client(await cloud.start())

    await client.async_get_cabinet("DTA00001")

    assert cloud.requests[0].query == {"deviceId": "DTA00001"}


async def test_get_cabinet_without_cabinet(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    cloud.route("GET", DEVICE_INFO, reply({"batteries": [], "shop": {}}))
    client = make_client(await cloud.start())

    with pytest.raises(ChargeNowResponseError):
        await client.async_get_cabinet("DTA00001")


async def test_get_cabinet_business_error(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    cloud.route("GET", DEVICE_INFO, reply(code=2004, msg="Device not online."))
    client = make_client(await cloud.start())

    with pytest.raises(ChargeNowApiError) as caught:
        await client.async_get_cabinet("DTA00001")

    assert caught.value.code == 2004
    assert caught.value.message == "Device not online."
    assert len(cloud.requests) == 1


async def test_business_error_code_as_string(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    cloud.route("GET", DEVICE_INFO, reply(code="2002", msg="QR code unbound device."))
    client = make_client(await cloud.start())

    with pytest.raises(ChargeNowApiError) as caught:
        await client.async_get_cabinet("NOPE")

    assert caught.value.code == 2002


@pytest.mark.parametrize("code", [None, "abc", True])
async def test_envelope_without_readable_code(
    cloud: FakeCloud, make_client: ClientFactory, code: Any
) -> None:
    body = {"msg": "ok", "data": DEVICE_INFO_DATA}
    if code is not None:
        body["code"] = code
    cloud.route("GET", DEVICE_INFO, reply_json(body))
    client = make_client(await cloud.start())

    with pytest.raises(ChargeNowResponseError):
        await client.async_get_cabinet("DTA00001")


# Error mapping.


async def test_http_401_raises_auth_error(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    cloud.route("GET", DEVICE_INFO, reply(code=401, msg="Unauthorized", status=401))
    client = make_client(await cloud.start())

    with pytest.raises(ChargeNowAuthError):
        await client.async_get_cabinet("DTA00001")

    assert len(cloud.requests) == 1


async def test_http_403_raises_auth_error(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    cloud.route("GET", DEVICE_INFO, reply_text("Forbidden", status=403))
    client = make_client(await cloud.start())

    with pytest.raises(ChargeNowAuthError):
        await client.async_get_cabinet("DTA00001")


async def test_envelope_401_raises_auth_error(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    cloud.route("GET", DEVICE_INFO, reply(code=401, msg="Unauthorized"))
    client = make_client(await cloud.start())

    with pytest.raises(ChargeNowAuthError):
        await client.async_get_cabinet("DTA00001")


async def test_http_429_parses_retry_after(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    handler = reply(code=429, msg="slow down", status=429, headers={"Retry-After": "7"})
    cloud.route("GET", DEVICE_INFO, handler)
    client = make_client(await cloud.start())

    with pytest.raises(ChargeNowRateLimitError) as caught:
        await client.async_get_cabinet("DTA00001")

    assert caught.value.retry_after == 7.0
    assert len(cloud.requests) == 1


async def test_http_429_without_retry_after(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    cloud.route("GET", DEVICE_INFO, reply_text("slow down", status=429))
    client = make_client(await cloud.start())

    with pytest.raises(ChargeNowRateLimitError) as caught:
        await client.async_get_cabinet("DTA00001")

    assert caught.value.retry_after is None


def test_retry_after_http_date() -> None:
    moment = datetime.now(UTC) + timedelta(seconds=120)

    seconds = _parse_retry_after(format_datetime(moment, usegmt=True))

    assert seconds is not None
    assert 100 < seconds <= 120


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "nan", "inf"])
def test_retry_after_unreadable(value: str | None) -> None:
    assert _parse_retry_after(value) is None


def test_retry_after_past_date_is_zero() -> None:
    assert _parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


async def test_read_http_500_retried_then_fails(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    cloud.route("GET", DEVICE_INFO, reply_text("oops", status=500))
    client = make_client(await cloud.start())

    with pytest.raises(ChargeNowConnectionError):
        await client.async_get_cabinet("DTA00001")

    assert len(cloud.requests) == 3


async def test_read_recovers_after_http_503(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    answers = [reply_text("busy", status=503), reply(DEVICE_INFO_DATA)]

    async def flaky(request: web.Request) -> web.StreamResponse:
        return await answers.pop(0)(request)

    cloud.route("GET", DEVICE_INFO, flaky)
    client = make_client(await cloud.start())

    cabinet = await client.async_get_cabinet("DTA00001")

    assert cabinet.cabinet_id == "DTA00001"
    assert len(cloud.requests) == 2


async def test_read_http_404_not_retried(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    client = make_client(await cloud.start())

    with pytest.raises(ChargeNowConnectionError):
        await client.async_get_cabinet("DTA00001")

    assert len(cloud.requests) == 1


async def test_read_timeout(cloud: FakeCloud, make_client: ClientFactory) -> None:
    cloud.route("GET", DEVICE_INFO, cloud.wait_forever)
    client = make_client(await cloud.start(), timeout=0.2)

    with pytest.raises(ChargeNowTimeoutError):
        await client.async_get_cabinet("DTA00001")

    assert len(cloud.requests) == 3


async def test_read_connection_refused_retried(make_client: ClientFactory) -> None:
    client = make_client(closed_port_url())

    with pytest.raises(ChargeNowConnectionError):
        await client.async_get_cabinet("DTA00001")

    assert client.request_count == 3


async def test_non_json_body(cloud: FakeCloud, make_client: ClientFactory) -> None:
    cloud.route("GET", DEVICE_INFO, reply_text("<html>maintenance</html>"))
    client = make_client(await cloud.start())

    with pytest.raises(ChargeNowResponseError):
        await client.async_get_cabinet("DTA00001")

    assert len(cloud.requests) == 1


async def test_json_body_not_object(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    cloud.route("GET", DEVICE_INFO, reply_json([1, 2, 3]))
    client = make_client(await cloud.start())

    with pytest.raises(ChargeNowResponseError):
        await client.async_get_cabinet("DTA00001")


async def test_json_with_any_content_type(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    body = json.dumps({"code": 0, "msg": "ok", "data": DEVICE_INFO_DATA})
    cloud.route("GET", DEVICE_INFO, reply_text(body))
    client = make_client(await cloud.start())

    cabinet = await client.async_get_cabinet("DTA00001")

    assert cabinet.cabinet_id == "DTA00001"


# Commands.


async def test_eject_by_repair_sends_slot(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    cloud.route("POST", EJECT_BY_REPAIR, reply())
    client = make_client(await cloud.start())

    await client.async_eject_by_repair("BJX00001", 3)

    assert cloud.requests[0].query == {"cabinetid": "BJX00001", "slotNum": "3"}


async def test_eject_by_rent_sends_order(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    cloud.route("POST", EJECT_BY_RENT, reply())
    client = make_client(await cloud.start())

    await client.async_eject_by_rent("BJX00001", 2, "23022111552701091626")

    assert cloud.requests[0].query == {
        "cabinetid": "BJX00001",
        "slotNum": "2",
        "rentOrderId": "23022111552701091626",
    }


async def test_operate_sends_operation(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    cloud.route("POST", OPERATION, reply())
    client = make_client(await cloud.start())

    await client.async_operate("BJX00001", Operation.RESTART)

    assert cloud.requests[0].query == {
        "cabinetid": "BJX00001",
        "slotNum": "1",
        "operationType": "restart",
        "reason": "home_assistant",
    }


async def test_requests_carry_basic_auth(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    cloud.route("POST", OPERATION, reply())
    client = make_client(await cloud.start())
    token = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()

    await client.async_operate("BJX00001", Operation.HEARTBEAT)

    assert cloud.requests[0].authorization == f"Basic {token}"


async def test_command_business_error_not_retried(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    cloud.route("POST", EJECT_BY_REPAIR, reply(code=3001, msg="No battery in slot."))
    client = make_client(await cloud.start())

    with pytest.raises(ChargeNowApiError) as caught:
        await client.async_eject_by_repair("BJX00001", 4)

    assert caught.value.code == 3001
    assert len(cloud.requests) == 1


async def test_command_timeout_is_unknown(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    cloud.route("POST", EJECT_BY_REPAIR, cloud.wait_forever)
    client = make_client(await cloud.start(), timeout=0.2)

    with pytest.raises(ChargeNowCommandUnknownError):
        await client.async_eject_by_repair("BJX00001", 1)

    assert len(cloud.requests) == 1


async def test_command_dropped_connection_is_unknown(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    async def hang_up(request: web.Request) -> web.Response:
        assert request.transport is not None
        request.transport.close()
        return await cloud.wait_forever(request)

    cloud.route("POST", EJECT_BY_RENT, hang_up)
    client = make_client(await cloud.start())

    with pytest.raises(ChargeNowCommandUnknownError):
        await client.async_eject_by_rent("BJX00001", 1, "ORDER1")

    assert len(cloud.requests) == 1


async def test_command_http_500_not_retried(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    cloud.route("POST", OPERATION, reply_text("oops", status=500))
    client = make_client(await cloud.start())

    with pytest.raises(ChargeNowConnectionError):
        await client.async_operate("BJX00001", Operation.RESTART)

    assert len(cloud.requests) == 1


async def test_command_connection_refused_retried_once(
    make_client: ClientFactory,
) -> None:
    client = make_client(closed_port_url())

    with pytest.raises(ChargeNowConnectionError):
        await client.async_eject_by_repair("BJX00001", 1)

    assert client.request_count == 2


@pytest.mark.parametrize("slot", [0, -1, True, 1.0, "1", None])
async def test_eject_invalid_slot_sends_nothing(
    cloud: FakeCloud, make_client: ClientFactory, slot: Any
) -> None:
    cloud.route("POST", EJECT_BY_REPAIR, reply())
    client = make_client(await cloud.start())

    with pytest.raises(ValueError, match="slot"):
        await client.async_eject_by_repair("BJX00001", slot)

    assert client.request_count == 0


async def test_eject_by_rent_slot_zero_sends_nothing(
    make_client: ClientFactory,
) -> None:
    client = make_client(closed_port_url())

    with pytest.raises(ValueError, match="slot"):
        await client.async_eject_by_rent("BJX00001", 0, "ORDER1")

    assert client.request_count == 0


async def test_operate_slot_zero_sends_nothing(make_client: ClientFactory) -> None:
    client = make_client(closed_port_url())

    with pytest.raises(ValueError, match="slot"):
        await client.async_operate("BJX00001", Operation.POP, slot=0)

    assert client.request_count == 0


@pytest.mark.parametrize("cabinet_id", ["", "   "])
async def test_empty_cabinet_id_rejected(
    make_client: ClientFactory, cabinet_id: str
) -> None:
    client = make_client(closed_port_url())

    with pytest.raises(ValueError, match="cabinet_id"):
        await client.async_eject_by_repair(cabinet_id, 1)


async def test_empty_order_id_rejected(make_client: ClientFactory) -> None:
    client = make_client(closed_port_url())

    with pytest.raises(ValueError, match="order_id"):
        await client.async_eject_by_rent("BJX00001", 1, "")


@pytest.mark.parametrize("operation", ["popall", "popallForNoAuth", "popallForAuth"])
async def test_eject_all_operations_rejected(
    make_client: ClientFactory, operation: Any
) -> None:
    client = make_client(closed_port_url())

    with pytest.raises(ValueError, match=operation):
        await client.async_operate("BJX00001", operation)

    assert client.request_count == 0


# Push configuration.


async def test_push_config_round_trip(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    stored: dict[str, Any] = {"pushUrl": "", "eventSubscriptions": []}

    async def save(request: web.Request) -> web.Response:
        stored.update(await request.json())
        return web.json_response({"code": 0, "msg": "ok", "data": None})

    async def load(request: web.Request) -> web.Response:
        return web.json_response({"code": 0, "msg": "ok", "data": stored})

    cloud.route("POST", PUSH_CONFIG_SET, save)
    cloud.route("GET", PUSH_CONFIG_GET, load)
    client = make_client(await cloud.start())
    config = PushConfig(
        push_url="https://example.invalid/api/webhook/abc",
        subscriptions=(
            EventSubscription(event="CABINET_STATUS", enabled=True),
            EventSubscription(
                event="BATTERY_POPUP", enabled=False, push_url="https://x.invalid/p"
            ),
        ),
    )

    before = await client.async_get_push_config()
    await client.async_set_push_config(config)
    after = await client.async_get_push_config()

    assert before == PushConfig(push_url=None)
    assert after == config


async def test_set_push_config_sends_json_body(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    cloud.route("POST", PUSH_CONFIG_SET, reply())
    client = make_client(await cloud.start())
    config = PushConfig(
        push_url="https://example.invalid/hook",
        subscriptions=(EventSubscription(event="CABINET_ONLINE", enabled=True),),
    )

    await client.async_set_push_config(config)

    assert json.loads(cloud.requests[0].body) == {
        "pushUrl": "https://example.invalid/hook",
        "eventSubscriptions": [
            {"event": "CABINET_ONLINE", "pushUrl": "", "enable": True}
        ],
    }


async def test_set_push_config_timeout_is_unknown(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    cloud.route("POST", PUSH_CONFIG_SET, cloud.wait_forever)
    client = make_client(await cloud.start(), timeout=0.2)

    with pytest.raises(ChargeNowCommandUnknownError):
        await client.async_set_push_config(PushConfig(push_url="https://e.invalid"))

    assert len(cloud.requests) == 1


async def test_get_push_config_null_data(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    cloud.route("GET", PUSH_CONFIG_GET, reply(None))
    client = make_client(await cloud.start())

    config = await client.async_get_push_config()

    assert config == PushConfig(push_url=None)


async def test_get_push_config_garbled_data(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    cloud.route("GET", PUSH_CONFIG_GET, reply("https://example.invalid/hook"))
    client = make_client(await cloud.start())

    with pytest.raises(ChargeNowResponseError):
        await client.async_get_push_config()


# Construction and logging.


def test_client_properties(session: aiohttp.ClientSession) -> None:
    client = ChargeNowClient(session, USERNAME, PASSWORD, "http://127.0.0.1:1/v1/")

    assert client.base_url == "http://127.0.0.1:1/v1"
    assert client.username == USERNAME
    assert client.request_count == 0


@pytest.mark.parametrize(
    "options",
    [
        {"timeout": 0},
        {"page_size": 0},
        {"page_size": True},
        {"retry_delays": (-1.0,)},
        {"base_url": "ftp://127.0.0.1/v1"},
        {"base_url": "not a url"},
    ],
)
def test_client_rejects_bad_settings(
    session: aiohttp.ClientSession, options: dict[str, Any]
) -> None:
    with pytest.raises(ValueError, match=next(iter(options))):
        ChargeNowClient(session, USERNAME, PASSWORD, **options)


async def test_debug_log_hides_credentials(
    cloud: FakeCloud, make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    cloud.route("POST", EJECT_BY_REPAIR, reply())
    client = make_client(await cloud.start())
    token = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()

    with caplog.at_level(logging.DEBUG, "custom_components.bajie_charging.api"):
        await client.async_eject_by_repair("BJX00001", 1)

    text = "\n".join(
        record.getMessage()
        for record in caplog.records
        if record.name.startswith("custom_components.bajie_charging")
    )
    assert EJECT_BY_REPAIR in text
    assert PASSWORD not in text
    assert token not in text
    assert "slotNum" not in text
