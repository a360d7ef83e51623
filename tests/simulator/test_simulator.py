"""Test the simulated cloud over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
import json
import logging
import re
import time
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
import pytest

from simulator import EventKind, FaultRule, ScenarioEvent, Simulator
from simulator.cli import build_parser

USERNAME = "agent"
PASSWORD = "secret"
AUTH = {"Authorization": aiohttp.encode_basic_auth(USERNAME, PASSWORD)}
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")

# The tests run real TCP servers on 127.0.0.1. The Home Assistant test plugin
# still blocks connections to any other host.
pytestmark = pytest.mark.usefixtures("socket_enabled")


class PushReceiver:
    """aiohttp server on 127.0.0.1 that stores the pushes it receives."""

    def __init__(self) -> None:
        """Start empty. Every push gets `reply_status` as its reply."""
        self.bodies: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.reply_status = 200
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._arrived = asyncio.Condition()

    async def start(self) -> None:
        """Listen on a free port of 127.0.0.1."""
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/push"

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()

    async def _receive(self, request: web.Request) -> web.Response:
        """Store one push."""
        body = await request.json()
        async with self._arrived:
            self.paths.append(request.path)
            self.bodies.append(body)
            self._arrived.notify_all()
        return web.Response(status=self.reply_status)

    @property
    def events(self) -> list[str]:
        """Return the event types received, oldest first."""
        return [body["event"] for body in self.bodies]

    async def wait_for(self, count: int, within: float = 5.0) -> None:
        """Wait up to `within` seconds until at least `count` pushes arrived."""
        async with asyncio.timeout(within), self._arrived:
            await self._arrived.wait_for(lambda: len(self.bodies) >= count)


@pytest.fixture
async def receiver() -> AsyncIterator[PushReceiver]:
    """Return a running push receiver."""
    push_receiver = PushReceiver()
    await push_receiver.start()
    yield push_receiver
    await push_receiver.stop()


@pytest.fixture
async def sim(receiver: PushReceiver) -> AsyncIterator[Simulator]:
    """Return a running simulator without scenario that pushes to `receiver`."""
    simulator = Simulator(
        username=USERNAME, password=PASSWORD, seed=7, restart_delay=0.05
    )
    await simulator.start()
    simulator.set_push_url(receiver.url)
    yield simulator
    await simulator.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """Return an HTTP client session without credentials."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


async def call(
    session: aiohttp.ClientSession,
    sim: Simulator,
    method: str,
    path: str,
    *,
    params: dict[str, Any] | None = None,
    json_body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """Send one API request with the agent's credentials and return status and JSON."""
    async with session.request(
        method,
        f"{sim.base_url}{path}",
        params=params,
        json=json_body,
        headers=AUTH if headers is None else headers,
    ) as response:
        return response.status, await response.json(content_type=None)


async def wait_until(condition: Callable[[], bool], within: float = 5.0) -> None:
    """Poll `condition` until it is true, failing after `within` seconds."""
    async with asyncio.timeout(within):
        # The simulator offers no event for this, so poll.
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


def occupied_slot(sim: Simulator, cabinet_id: str) -> int:
    """Return the first slot of the cabinet that contains a battery."""
    cabinet = sim.cabinets[cabinet_id]
    return next(slot for slot, battery in cabinet.slots.items() if battery)


def empty_slot(sim: Simulator, cabinet_id: str) -> int:
    """Return the first slot of the cabinet without a battery."""
    cabinet = sim.cabinets[cabinet_id]
    return next(slot for slot, battery in cabinet.slots.items() if battery is None)


# Auth


async def test_auth_missing_credentials(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    status, body = await call(session, sim, "GET", "/cabinet/getAllDevice", headers={})
    assert status == 401
    assert body == {"code": 401, "msg": "Unauthorized"}


async def test_auth_wrong_password(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    wrong = {"Authorization": aiohttp.encode_basic_auth(USERNAME, "wrong")}
    status, body = await call(
        session, sim, "GET", "/cabinet/getAllDevice", headers=wrong
    )
    assert status == 401
    assert body["code"] == 401


async def test_auth_malformed_header(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    garbage = {"Authorization": "Basic not-base64!"}
    status, _ = await call(
        session, sim, "GET", "/cabinet/getAllDevice", headers=garbage
    )
    assert status == 401


# Listing and device info


async def test_listing_pages_and_totals(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    listed: list[str] = []
    for page, expected_items in ((1, 2), (2, 2), (3, 1), (4, 0)):
        status, body = await call(
            session,
            sim,
            "GET",
            "/cabinet/getAllDevicePage",
            params={"page": page, "limit": 2},
        )
        assert status == 200
        assert body["code"] == 0
        assert body["data"]["total"] == 5
        assert body["data"]["page"] == page
        assert body["data"]["limit"] == 2
        assert len(body["data"]["list"]) == expected_items
        listed += [item["pCabinetid"] for item in body["data"]["list"]]
    assert listed == sim.cabinet_ids


async def test_listing_caps_limit(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    _, body = await call(
        session,
        sim,
        "GET",
        "/cabinet/getAllDevicePage",
        params={"page": 1, "limit": 1000},
    )
    assert body["data"]["limit"] == 500
    assert len(body["data"]["list"]) == 5


async def test_listing_rejects_invalid_page(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    status, body = await call(
        session, sim, "GET", "/cabinet/getAllDevicePage", params={"page": 0}
    )
    assert status == 400
    assert body["code"] == 400


async def test_listing_item_matches_state(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    status, body = await call(session, sim, "GET", "/cabinet/getAllDevice")
    assert status == 200
    items = body["data"]
    assert [item["pCabinetid"] for item in items] == sim.cabinet_ids

    item = items[0]
    cabinet = sim.cabinets[item["pCabinetid"]]
    assert set(item) == {
        "pCabinetid",
        "pQrcode",
        "pShopid",
        "shopName",
        "type",
        "slots",
        "pBorrow",
        "pAlso",
        "online",
        "infoStatus",
        "signal",
        "ip",
    }
    assert item["pQrcode"] == cabinet.qr_code
    assert item["shopName"] == cabinet.shop.name
    assert item["type"] == "8"
    assert item["slots"] == 8
    assert item["pBorrow"] == cabinet.rentable_count
    assert item["pAlso"] == 8 - cabinet.rentable_count
    assert item["online"] is True
    assert item["infoStatus"] == "online"
    assert item["signal"] == str(cabinet.signal)
    assert 0 <= int(item["signal"]) <= 31
    assert item["ip"].startswith(("198.51.100.", "203.0.113."))


async def test_device_info_shape(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    cabinet_id = sim.cabinet_ids[0]
    cabinet = sim.cabinets[cabinet_id]
    status, body = await call(
        session, sim, "GET", "/rent/cabinet/query", params={"deviceId": cabinet_id}
    )
    assert status == 200
    assert body["code"] == 0
    data = body["data"]
    assert set(data) == {"cabinet", "batteries", "shop", "priceStrategy"}
    assert {
        "id",
        "qrCode",
        "type",
        "slots",
        "online",
        "busySlots",
        "emptySlots",
        "signal",
        "ip",
        "shopId",
        "remark",
        "posDeviceId",
    } <= set(data["cabinet"])
    assert data["cabinet"]["id"] == cabinet_id
    assert data["cabinet"]["busySlots"] == len(data["batteries"])
    assert data["cabinet"]["emptySlots"] == 8 - len(data["batteries"])
    assert data["cabinet"]["shopId"] == data["shop"]["id"]

    occupied = {slot for slot, battery in cabinet.slots.items() if battery}
    assert {battery["slotNum"] for battery in data["batteries"]} == occupied
    for battery in data["batteries"]:
        assert set(battery) == {"slotNum", "vol", "batteryId"}
        assert re.fullmatch(r"BAT\d{7}", battery["batteryId"])
        assert 20 <= battery["vol"] <= 100
    assert data["shop"]["name"] == cabinet.shop.name
    assert isinstance(data["shop"]["latitude"], str)
    assert data["priceStrategy"]["currency"] == "EUR"


async def test_device_info_unknown_cabinet(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    status, body = await call(
        session, sim, "GET", "/rent/cabinet/query", params={"deviceId": "NOPE"}
    )
    assert status == 200
    assert body == {"code": 2002, "msg": "QR code unbound device."}


async def test_offline_cabinet_replies_2004(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    cabinet_id = sim.cabinet_ids[1]
    sim.set_online(cabinet_id, False)

    status, body = await call(
        session, sim, "GET", "/rent/cabinet/query", params={"deviceId": cabinet_id}
    )
    assert status == 200
    assert body == {"code": 2004, "msg": "Device not online."}

    slot = occupied_slot(sim, cabinet_id)
    _, body = await call(
        session,
        sim,
        "POST",
        "/cabinet/ejectByRepair",
        params={"cabinetid": cabinet_id, "slotNum": slot},
    )
    assert body["code"] == 2004
    assert sim.cabinets[cabinet_id].slots[slot] is not None


# Commands


async def test_eject_by_repair_pushes_in_order(
    sim: Simulator, session: aiohttp.ClientSession, receiver: PushReceiver
) -> None:
    cabinet_id = sim.cabinet_ids[0]
    slot = occupied_slot(sim, cabinet_id)
    battery = sim.cabinets[cabinet_id].slots[slot]
    assert battery is not None

    status, body = await call(
        session,
        sim,
        "POST",
        "/cabinet/ejectByRepair",
        params={"cabinetid": cabinet_id, "slotNum": slot},
    )
    assert status == 200
    assert body["code"] == 0
    assert body.get("data") is None
    assert sim.cabinets[cabinet_id].slots[slot] is None

    await sim.wait_for_pushes()
    assert receiver.events == ["BATTERY_POPUP", "CABINET_STATUS"]
    popup, cabinet_status = receiver.bodies
    assert popup["agentAccount"] == USERNAME
    assert TIMESTAMP.match(popup["timestamp"])
    assert popup["eventData"]["cabinetId"] == cabinet_id
    assert popup["eventData"]["outSlot"] == slot
    assert popup["eventData"]["outBatteryId"] == battery.battery_id
    assert popup["eventData"]["outStatus"] == "0"
    assert popup["eventData"]["faultType"] == 0
    listed_slots = [
        item["slotNum"] for item in cabinet_status["eventData"]["batteryList"]
    ]
    assert slot not in listed_slots
    assert cabinet_status["eventData"]["rentableCount"] == len(listed_slots)


async def test_eject_by_rent_pushes_borrow_out(
    sim: Simulator, session: aiohttp.ClientSession, receiver: PushReceiver
) -> None:
    cabinet_id = sim.cabinet_ids[0]
    slot = occupied_slot(sim, cabinet_id)
    _, body = await call(
        session,
        sim,
        "POST",
        "/cabinet/ejectByRent",
        params={"cabinetid": cabinet_id, "slotNum": slot, "rentOrderId": "ORDER42"},
    )
    assert body["code"] == 0

    await sim.wait_for_pushes()
    assert receiver.events == [
        "BATTERY_POPUP",
        "BATTERY_BORROW_OUT",
        "CABINET_STATUS",
    ]
    borrow = receiver.bodies[1]["eventData"]
    assert borrow["orderId"] == "ORDER42"
    assert borrow["outSlot"] == slot
    assert borrow["faultType"] == 0
    assert borrow["totalCount"] == 8


async def test_eject_empty_slot_replies_3001(
    sim: Simulator, session: aiohttp.ClientSession, receiver: PushReceiver
) -> None:
    cabinet_id = sim.cabinet_ids[0]
    _, body = await call(
        session,
        sim,
        "POST",
        "/cabinet/ejectByRepair",
        params={"cabinetid": cabinet_id, "slotNum": empty_slot(sim, cabinet_id)},
    )
    assert body == {"code": 3001, "msg": "No battery in slot."}
    await sim.wait_for_pushes()
    assert receiver.bodies == []


async def test_eject_unknown_cabinet_replies_2002(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    _, body = await call(
        session,
        sim,
        "POST",
        "/cabinet/ejectByRepair",
        params={"cabinetid": "NOPE", "slotNum": 1},
    )
    assert body["code"] == 2002


@pytest.mark.parametrize(
    "params",
    [
        {"slotNum": "0"},
        {},
        {"slotNum": "9"},
        {"slotNum": "abc"},
    ],
    ids=["zero", "missing", "above-count", "not-a-number"],
)
async def test_eject_invalid_slot_counted(
    sim: Simulator,
    session: aiohttp.ClientSession,
    receiver: PushReceiver,
    params: dict[str, str],
) -> None:
    cabinet_id = sim.cabinet_ids[0]
    batteries_before = sim.cabinets[cabinet_id].rentable_count

    _, body = await call(
        session,
        sim,
        "POST",
        "/cabinet/ejectByRepair",
        params={"cabinetid": cabinet_id, **params},
    )
    assert body == {"code": 4001, "msg": "Invalid slot number."}
    assert sim.forbidden_slot_requests == 1
    assert sim.cabinets[cabinet_id].rentable_count == batteries_before
    await sim.wait_for_pushes()
    assert receiver.bodies == []


async def test_operation_report_pushes_status(
    sim: Simulator, session: aiohttp.ClientSession, receiver: PushReceiver
) -> None:
    _, body = await call(
        session,
        sim,
        "POST",
        "/cabinet/operation",
        params={
            "cabinetid": sim.cabinet_ids[0],
            "slotNum": 1,
            "operationType": "report",
            "reason": "test",
        },
    )
    assert body["code"] == 0
    await sim.wait_for_pushes()
    assert receiver.events == ["CABINET_STATUS"]


async def test_operation_restart_goes_offline_and_back(
    sim: Simulator, session: aiohttp.ClientSession, receiver: PushReceiver
) -> None:
    cabinet_id = sim.cabinet_ids[0]
    _, body = await call(
        session,
        sim,
        "POST",
        "/cabinet/operation",
        params={"cabinetid": cabinet_id, "operationType": "restart"},
    )
    assert body["code"] == 0
    assert sim.cabinets[cabinet_id].online is False

    await receiver.wait_for(3)
    assert receiver.events == ["CABINET_OFFLINE", "CABINET_ONLINE", "CABINET_STATUS"]
    assert receiver.bodies[0]["eventData"]["infoStatus"] == "offline"
    assert TIMESTAMP.match(receiver.bodies[0]["eventData"]["offlineTime"])
    assert receiver.bodies[1]["eventData"]["infoStatus"] == "online"
    assert sim.cabinets[cabinet_id].online is True


async def test_operation_lock_sets_lock_status(
    sim: Simulator, session: aiohttp.ClientSession, receiver: PushReceiver
) -> None:
    cabinet_id = sim.cabinet_ids[0]
    slot = occupied_slot(sim, cabinet_id)
    _, body = await call(
        session,
        sim,
        "POST",
        "/cabinet/operation",
        params={"cabinetid": cabinet_id, "slotNum": slot, "operationType": "lock"},
    )
    assert body["code"] == 0
    await sim.wait_for_pushes()
    battery_list = receiver.bodies[-1]["eventData"]["batteryList"]
    lock_status = {item["slotNum"]: item["lockStatus"] for item in battery_list}
    assert lock_status[slot] == 1
    assert sum(lock_status.values()) == 1

    await call(
        session,
        sim,
        "POST",
        "/cabinet/operation",
        params={"cabinetid": cabinet_id, "slotNum": slot, "operationType": "unlock"},
    )
    assert slot not in sim.cabinets[cabinet_id].locked_slots


async def test_operation_pop_ejects(
    sim: Simulator, session: aiohttp.ClientSession, receiver: PushReceiver
) -> None:
    cabinet_id = sim.cabinet_ids[0]
    slot = occupied_slot(sim, cabinet_id)
    _, body = await call(
        session,
        sim,
        "POST",
        "/cabinet/operation",
        params={"cabinetid": cabinet_id, "slotNum": slot, "operationType": "pop"},
    )
    assert body["code"] == 0
    assert sim.cabinets[cabinet_id].slots[slot] is None
    await sim.wait_for_pushes()
    assert receiver.events == ["BATTERY_POPUP", "CABINET_STATUS"]


async def test_operation_popall_counted_without_effect(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    cabinet_id = sim.cabinet_ids[0]
    batteries_before = sim.cabinets[cabinet_id].rentable_count
    _, body = await call(
        session,
        sim,
        "POST",
        "/cabinet/operation",
        params={"cabinetid": cabinet_id, "operationType": "popall"},
    )
    assert body["code"] == 0
    assert sim.forbidden_slot_requests == 1
    assert sim.cabinets[cabinet_id].rentable_count == batteries_before


async def test_operation_unknown_type(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    _, body = await call(
        session,
        sim,
        "POST",
        "/cabinet/operation",
        params={"cabinetid": sim.cabinet_ids[0], "operationType": "explode"},
    )
    assert body["code"] == 4002


# Push configuration and delivery


async def test_push_config_round_trip(
    receiver: PushReceiver, session: aiohttp.ClientSession
) -> None:
    simulator = Simulator(username=USERNAME, password=PASSWORD)
    await simulator.start()
    try:
        _, body = await call(session, simulator, "GET", "/cabinet/eventPush/config/get")
        assert body["data"] == {"pushUrl": "", "eventSubscriptions": []}

        config = {
            "pushUrl": receiver.url,
            "eventSubscriptions": [
                {"event": "CABINET_STATUS", "pushUrl": "", "enable": True},
                {
                    "event": "CABINET_OFFLINE",
                    "pushUrl": f"{receiver.url}/offline",
                    "enable": True,
                },
                {"event": "CABINET_ONLINE", "pushUrl": "", "enable": False},
            ],
        }
        status, body = await call(
            session, simulator, "POST", "/cabinet/eventPush/config", json_body=config
        )
        assert status == 200
        assert body == {"code": 0, "msg": "Successful operation", "data": None}

        _, body = await call(session, simulator, "GET", "/cabinet/eventPush/config/get")
        assert body["data"] == config

        cabinet_id = simulator.cabinet_ids[0]
        await simulator.push_event(cabinet_id, "CABINET_STATUS")
        await simulator.push_event(cabinet_id, "CABINET_OFFLINE")
        await simulator.push_event(cabinet_id, "CABINET_ONLINE")
        await simulator.push_event(cabinet_id, "BATTERY_IN")
        assert receiver.events == ["CABINET_STATUS", "CABINET_OFFLINE"]
        assert receiver.paths == ["/push", "/push/offline"]
    finally:
        await simulator.stop()


async def test_push_config_rejects_invalid_body(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    status, body = await call(
        session,
        sim,
        "POST",
        "/cabinet/eventPush/config",
        json_body={"pushUrl": 5},
    )
    assert status == 400
    assert body["code"] == 400


async def test_empty_subscription_list_pushes_everything(
    sim: Simulator, receiver: PushReceiver
) -> None:
    sim.push_config.subscriptions.clear()
    body = await sim.push_event(sim.cabinet_ids[0], "NEW_KIND", extra="1")
    assert body["eventData"] == {"cabinetId": sim.cabinet_ids[0], "extra": "1"}
    assert receiver.events == ["NEW_KIND"]


async def test_push_records_receiver_status(
    sim: Simulator, receiver: PushReceiver
) -> None:
    receiver.reply_status = 500
    await sim.push_event(sim.cabinet_ids[0], "CABINET_STATUS")
    assert sim.pushes[-1].status == 500
    assert sim.pushes[-1].error is None


async def test_push_records_connection_error(sim: Simulator) -> None:
    closed = PushReceiver()
    await closed.start()
    await closed.stop()
    sim.set_push_url(closed.url)

    await sim.push_event(sim.cabinet_ids[0], "CABINET_STATUS")
    assert sim.pushes[-1].status is None
    assert sim.pushes[-1].error is not None
    assert sim.pushes[-1].skipped is False


async def test_non_loopback_push_never_connects(
    sim: Simulator, receiver: PushReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    requested_urls: list[str] = []
    original_request = aiohttp.ClientSession._request

    async def spy_request(
        self: aiohttp.ClientSession, method: str, url: Any, **kwargs: Any
    ) -> aiohttp.ClientResponse:
        requested_urls.append(str(url))
        return await original_request(self, method, url, **kwargs)

    monkeypatch.setattr(aiohttp.ClientSession, "_request", spy_request)

    for url in ("http://192.0.2.1/x", "http://example.invalid/x"):
        sim.set_push_url(url)
        body = await sim.push_event(sim.cabinet_ids[0], "CABINET_STATUS")
        push = sim.pushes[-1]
        assert push.url == url
        assert push.body == body
        assert push.skipped is True
        assert push.status is None
        assert push.error is not None
        assert "loopback" in push.error
    assert requested_urls == []

    sim.set_push_url(receiver.url)
    await sim.push_event(sim.cabinet_ids[0], "CABINET_STATUS")
    assert requested_urls == [receiver.url]


def test_push_timestamp_uses_timezone() -> None:
    simulator = Simulator(timezone="Asia/Shanghai")
    body = simulator.build_push(simulator.cabinet_ids[0], "CABINET_STATUS")
    stamp = datetime.strptime(body["timestamp"], "%Y-%m-%d %H:%M:%S")
    expected = datetime.now(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)
    assert abs(expected - stamp) < timedelta(seconds=5)


def test_unknown_timezone_rejected() -> None:
    with pytest.raises(ValueError, match="Mars/Olympus"):
        Simulator(timezone="Mars/Olympus")


# push_event and build_push


async def test_build_push_changes_nothing(sim: Simulator) -> None:
    cabinet_id = sim.cabinet_ids[0]
    before = sim.cabinets[cabinet_id].rentable_count

    built = sim.build_push(cabinet_id, "BATTERY_BORROW_OUT")
    assert sim.cabinets[cabinet_id].rentable_count == before

    sent = await sim.push_event(cabinet_id, "BATTERY_BORROW_OUT")
    assert sim.cabinets[cabinet_id].rentable_count == before - 1
    assert sent["eventData"] == built["eventData"]


async def test_push_event_overrides(sim: Simulator, receiver: PushReceiver) -> None:
    cabinet_id = sim.cabinet_ids[0]
    slot = empty_slot(sim, cabinet_id)
    body = await sim.push_event(
        cabinet_id,
        "BATTERY_IN",
        returnSlot=str(slot),
        returnBatteryId="BAT7654321",
        totalCount="8",
    )
    battery = sim.cabinets[cabinet_id].slots[slot]
    assert battery is not None
    assert battery.battery_id == "BAT7654321"
    assert body["eventData"]["returnSlot"] == str(slot)
    assert body["eventData"]["totalCount"] == "8"
    assert receiver.bodies == [body]


async def test_push_event_failed_popup(sim: Simulator) -> None:
    cabinet_id = sim.cabinet_ids[0]
    before = sim.cabinets[cabinet_id].rentable_count
    body = await sim.push_event(cabinet_id, "BATTERY_POPUP")
    assert body["eventData"]["outStatus"] == "1"
    assert body["eventData"]["faultType"] in {1, 2, 3, 4, 5, 9}
    assert body["eventData"]["faultCause"]
    assert sim.cabinets[cabinet_id].rentable_count == before


async def test_push_event_requires_running_simulator() -> None:
    simulator = Simulator()
    with pytest.raises(RuntimeError, match="not running"):
        await simulator.push_event(simulator.cabinet_ids[0], "CABINET_STATUS")


# Faults


async def test_fault_status_once(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    sim.add_fault(FaultRule(path="/cabinet/getAllDevice", status=500, times=1))
    status, body = await call(session, sim, "GET", "/cabinet/getAllDevice")
    assert status == 500
    assert body["code"] == 500

    status, _ = await call(session, sim, "GET", "/cabinet/getAllDevice")
    assert status == 200
    assert sim.faults == []


async def test_fault_matches_only_its_path(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    sim.add_fault(FaultRule(path="/rent/cabinet/query", status=503))
    status, _ = await call(session, sim, "GET", "/cabinet/getAllDevice")
    assert status == 200
    for _ in range(2):
        status, _ = await call(
            session,
            sim,
            "GET",
            "/rent/cabinet/query",
            params={"deviceId": sim.cabinet_ids[0]},
        )
        assert status == 503

    sim.clear_faults()
    status, _ = await call(
        session, sim, "GET", "/rent/cabinet/query", params={"deviceId": "x"}
    )
    assert status == 200


async def test_fault_429_retry_after(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    sim.add_fault(FaultRule(status=429, retry_after=7, times=1))
    async with session.get(
        f"{sim.base_url}/cabinet/getAllDevice", headers=AUTH
    ) as response:
        assert response.status == 429
        assert response.headers["Retry-After"] == "7"


async def test_fault_delay(sim: Simulator, session: aiohttp.ClientSession) -> None:
    sim.add_fault(FaultRule(delay=0.3, times=1))
    started = time.monotonic()
    status, _ = await call(session, sim, "GET", "/cabinet/getAllDevice")
    assert status == 200
    assert time.monotonic() - started >= 0.3


async def test_fault_business_error(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    sim.add_fault(
        FaultRule(business_error=(800, "The record already exists in the database."))
    )
    status, body = await call(session, sim, "GET", "/cabinet/getAllDevice")
    assert status == 200
    assert body == {"code": 800, "msg": "The record already exists in the database."}


async def test_fault_malformed(sim: Simulator, session: aiohttp.ClientSession) -> None:
    sim.add_fault(FaultRule(malformed=True, times=1))
    async with session.get(
        f"{sim.base_url}/cabinet/getAllDevice", headers=AUTH
    ) as response:
        assert response.status == 200
        with pytest.raises(json.JSONDecodeError):
            await response.json()


async def test_fault_auth(sim: Simulator, session: aiohttp.ClientSession) -> None:
    sim.add_fault(FaultRule(auth=True, times=1))
    status, body = await call(session, sim, "GET", "/cabinet/getAllDevice")
    assert status == 401
    assert body == {"code": 401, "msg": "Unauthorized"}


async def test_fault_hang_until_client_gives_up(
    sim: Simulator, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="simulator")
    sim.add_fault(FaultRule(hang=True, times=1))
    with pytest.raises(TimeoutError):
        await get_giving_up_after(session, sim, "/cabinet/getAllDevice", 0.3)
    assert sim.requests[-1].status is None
    # The held request ends once the client is gone, before the simulator stops.
    await wait_until(lambda: "closed without a reply" in caplog.text)

    started = time.monotonic()
    await sim.stop()
    assert time.monotonic() - started < 2


async def get_giving_up_after(
    session: aiohttp.ClientSession, sim: Simulator, path: str, seconds: float
) -> None:
    """Send a GET that gives up after `seconds`."""
    async with session.get(
        f"{sim.base_url}{path}",
        headers=AUTH,
        timeout=aiohttp.ClientTimeout(total=seconds),
    ) as response:
        await response.read()


async def test_fault_hang_released_by_stop(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    sim.add_fault(FaultRule(hang=True))
    request = asyncio.create_task(
        get_giving_up_after(session, sim, "/cabinet/getAllDevice", 30)
    )
    await wait_until(lambda: sim.request_count() == 1)

    started = time.monotonic()
    await sim.stop()
    assert time.monotonic() - started < 2
    with pytest.raises(aiohttp.ClientError):
        await request


async def test_fault_drop_after_action(
    sim: Simulator, session: aiohttp.ClientSession, receiver: PushReceiver
) -> None:
    cabinet_id = sim.cabinet_ids[0]
    slot = occupied_slot(sim, cabinet_id)
    sim.add_fault(FaultRule(path="/cabinet/ejectByRepair", drop_after_action=True))

    with pytest.raises(aiohttp.ClientConnectionError):
        await call(
            session,
            sim,
            "POST",
            "/cabinet/ejectByRepair",
            params={"cabinetid": cabinet_id, "slotNum": slot},
        )
    assert sim.cabinets[cabinet_id].slots[slot] is None
    assert sim.requests[-1].status is None
    await sim.wait_for_pushes()
    assert receiver.events == ["BATTERY_POPUP", "CABINET_STATUS"]


def test_fault_rule_validation() -> None:
    with pytest.raises(ValueError, match="no effect"):
        FaultRule(path="/cabinet/getAllDevice")
    with pytest.raises(ValueError, match="times"):
        FaultRule(status=500, times=0)
    with pytest.raises(ValueError, match="unknown fault rule fields"):
        FaultRule.from_dict({"stauts": 500})

    rule = FaultRule.from_dict(
        {"path": "cabinet/getAllDevice", "business_error": {"code": 2004, "msg": "x"}}
    )
    assert rule.path == "/cabinet/getAllDevice"
    assert rule.business_error == (2004, "x")


# Scenario


async def test_scenario_produces_pushes(receiver: PushReceiver) -> None:
    simulator = Simulator(scenario_interval=0.05, seed=3)
    simulator.set_push_url(receiver.url)
    await simulator.start()
    try:
        await receiver.wait_for(8)
    finally:
        await simulator.stop()

    kinds = {kind.value for kind in EventKind}
    for body in receiver.bodies:
        assert body["event"] in kinds
        assert body["eventData"]["cabinetId"] in simulator.cabinet_ids
        assert TIMESTAMP.match(body["timestamp"])


async def test_scenario_first_event_within_interval(receiver: PushReceiver) -> None:
    simulator = Simulator(scenario_interval=0.2)
    simulator.set_push_url(receiver.url)
    started = time.monotonic()
    await simulator.start()
    try:
        await receiver.wait_for(1, within=2)
    finally:
        await simulator.stop()
    assert time.monotonic() - started < 1


async def test_scenario_event_kinds(sim: Simulator, receiver: PushReceiver) -> None:
    cabinet_id = sim.cabinet_ids[0]
    expected = {
        ScenarioEvent.RENTAL: ["BATTERY_BORROW_OUT", "CABINET_STATUS"],
        ScenarioEvent.RETURN: ["BATTERY_IN", "CABINET_STATUS"],
        ScenarioEvent.STATUS: ["CABINET_STATUS"],
        ScenarioEvent.ABNORMAL: ["BATTERY_ABNORMAL_WARNING"],
        ScenarioEvent.EJECT_FAILED: ["BATTERY_POPUP"],
        ScenarioEvent.ADMIN_RENTAL: [
            "ADMIN_RENTAL_ORDER",
            "BATTERY_BORROW_OUT",
            "CABINET_STATUS",
        ],
        ScenarioEvent.OFFLINE: ["CABINET_OFFLINE"],
        ScenarioEvent.ONLINE: ["CABINET_ONLINE", "CABINET_STATUS"],
    }
    for event, kinds in expected.items():
        bodies = await sim.run_scenario_event(cabinet_id, event)
        assert [body["event"] for body in bodies] == kinds, event
    failed = next(body for body in receiver.bodies if body["event"] == "BATTERY_POPUP")
    assert failed["eventData"]["outStatus"] == "1"
    assert failed["eventData"]["faultType"] in {1, 2, 3, 4, 5, 9}


async def test_scenario_offline_comes_back(receiver: PushReceiver) -> None:
    simulator = Simulator(scenario_interval=0.02, seed=4)
    simulator.set_push_url(receiver.url)
    await simulator.start()
    try:
        cabinet_id = simulator.cabinet_ids[0]
        bodies = await simulator.run_scenario_event(cabinet_id, "offline")
        assert [body["event"] for body in bodies] == ["CABINET_OFFLINE"]
        await wait_until(lambda: simulator.cabinets[cabinet_id].online)
    finally:
        await simulator.stop()

    came_back = [
        body
        for body in receiver.bodies
        if body["event"] == "CABINET_ONLINE"
        and body["eventData"]["cabinetId"] == cabinet_id
    ]
    assert came_back


async def test_scenario_deterministic_with_seed() -> None:
    sequences = []
    for _ in range(2):
        simulator = Simulator(seed=11)
        await simulator.start()
        try:
            events: list[tuple[str, dict[str, Any]]] = []
            for _ in range(30):
                bodies = await simulator.run_scenario_event()
                events.extend((body["event"], body["eventData"]) for body in bodies)
            sequences.append(events)
        finally:
            await simulator.stop()
    assert sequences[0] == sequences[1]


# Fleet


def test_same_seed_same_fleet() -> None:
    first = Simulator(seed=5)
    second = Simulator(seed=5)
    other = Simulator(seed=6)
    assert first.cabinet_ids == second.cabinet_ids
    assert first.cabinets == second.cabinets
    assert first.cabinet_ids != other.cabinet_ids


def test_fleet_shape() -> None:
    simulator = Simulator(cabinets=20, slots=10, seed=2)
    assert len(simulator.cabinet_ids) == 20
    slot_total = 0
    filled = 0
    for cabinet_id, cabinet in simulator.cabinets.items():
        assert re.fullmatch(r"BJX\d{5}", cabinet_id)
        assert cabinet.qr_code == f"QR-{cabinet_id}"
        assert sorted(cabinet.slots) == list(range(1, 11))
        assert 0 <= cabinet.signal <= 31
        assert cabinet.ip.startswith(("198.51.100.", "203.0.113."))
        slot_total += len(cabinet.slots)
        filled += cabinet.rentable_count
        for battery in cabinet.slots.values():
            if battery is not None:
                assert re.fullmatch(r"BAT\d{7}", battery.battery_id)
                assert 20 <= battery.charge <= 100
    assert 0.45 < filled / slot_total < 0.75
    assert len({cabinet.shop.shop_id for cabinet in simulator.cabinets.values()}) > 1


def test_add_and_remove_cabinet() -> None:
    simulator = Simulator(cabinets=2)
    added = simulator.add_cabinet()
    assert simulator.cabinet_ids[-1] == added
    simulator.remove_cabinet(added)
    assert added not in simulator.cabinets
    with pytest.raises(KeyError):
        simulator.remove_cabinet(added)


async def test_app_runs_in_test_server(receiver: PushReceiver) -> None:
    simulator = Simulator()
    simulator.set_push_url(receiver.url)
    server = TestServer(simulator.app, host="127.0.0.1")
    await server.start_server()
    try:
        await simulator.push_event(simulator.cabinet_ids[0], "CABINET_STATUS")
        async with aiohttp.ClientSession() as client_session:
            url = server.make_url("/cdb-open-api/v1/cabinet/getAllDevice")
            async with client_session.get(url, headers=AUTH) as response:
                assert response.status == 200
    finally:
        await server.close()
    assert receiver.events == ["CABINET_STATUS"]
    assert simulator.request_count("/cabinet/getAllDevice") == 1


# Request log


async def test_request_log(sim: Simulator, session: aiohttp.ClientSession) -> None:
    cabinet_id = sim.cabinet_ids[0]
    await call(
        session, sim, "GET", "/rent/cabinet/query", params={"deviceId": cabinet_id}
    )
    await call(session, sim, "GET", "/rent/cabinet/query", params={"deviceId": "NOPE"})
    config = {"pushUrl": "http://127.0.0.1:1/x", "eventSubscriptions": []}
    await call(session, sim, "POST", "/cabinet/eventPush/config", json_body=config)
    await call(session, sim, "GET", "/cabinet/getAllDevice", headers={})

    assert sim.request_count() == 4
    assert sim.request_count("/rent/cabinet/query") == 2
    first = sim.requests[0]
    assert first.method == "GET"
    assert first.path == "/rent/cabinet/query"
    assert first.query == {"deviceId": cabinet_id}
    assert first.body is None
    assert first.status == 200
    assert sim.requests[2].body == config
    assert sim.requests[3].status == 401

    sim.clear_requests()
    assert sim.request_count() == 0


# Control paths


async def test_control_paths(
    sim: Simulator, session: aiohttp.ClientSession, receiver: PushReceiver
) -> None:
    control = sim.base_url.replace("/cdb-open-api/v1", "/_simulator")

    async with session.get(f"{control}/state") as response:
        state = await response.json()
    assert [cabinet["cabinetId"] for cabinet in state["cabinets"]] == sim.cabinet_ids
    assert len(state["cabinets"][0]["slots"]) == 8
    assert state["pushConfig"]["pushUrl"] == receiver.url

    rule = {"path": "/cabinet/getAllDevice", "status": 503, "times": 1}
    async with session.post(f"{control}/faults", json=rule) as response:
        assert response.status == 200
    assert sim.faults[0].status == 503
    async with session.post(f"{control}/faults", json={"status": "x"}) as response:
        assert response.status == 400
    async with session.delete(f"{control}/faults") as response:
        assert response.status == 200
    assert sim.faults == []

    cabinet_id = sim.cabinet_ids[0]
    event = {"cabinetId": cabinet_id, "event": "rental"}
    async with session.post(f"{control}/events", json=event) as response:
        result = await response.json()
    assert [body["event"] for body in result["pushes"]] == [
        "BATTERY_BORROW_OUT",
        "CABINET_STATUS",
    ]
    event = {"cabinetId": cabinet_id, "event": "CABINET_OFFLINE"}
    async with session.post(f"{control}/events", json=event) as response:
        assert response.status == 200
    assert sim.cabinets[cabinet_id].online is False
    event = {"cabinetId": "NOPE", "event": "rental"}
    async with session.post(f"{control}/events", json=event) as response:
        assert response.status == 404

    await call(session, sim, "GET", "/cabinet/getAllDevice")
    async with session.get(f"{control}/requests") as response:
        records = (await response.json())["requests"]
    assert [record["path"] for record in records] == ["/cabinet/getAllDevice"]
    assert sim.request_count() == 1


# Command line


def test_cli_defaults() -> None:
    args = build_parser().parse_args([])
    assert args.host == "127.0.0.1"
    assert args.port == 8780
    assert args.cabinets == 5
    assert args.slots == 8
    assert args.username == "demo"
    assert args.password == "demo"
    assert args.interval == 5.0
    assert args.no_scenario is False
    assert args.timezone == "UTC"
    assert args.push_url == ""
