"""Fixtures that run the cloud client against small local HTTP servers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
import pytest

from custom_components.bajie_charging.api import ChargeNowClient

API_PREFIX = "/cdb-open-api/v1"
USERNAME = "agent-user"
# Test credential. The non-ASCII letter checks the Basic auth encoding.
PASSWORD = "s3cret-pässword"

type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the fake cloud received it."""

    method: str
    path: str
    """Path relative to the API base URL."""
    query: dict[str, str]
    authorization: str | None
    body: bytes


class FakeCloud:
    """Serve per-test handlers under the API prefix and record every request."""

    def __init__(self) -> None:
        """Create an application with no routes yet."""
        self.requests: list[RecordedRequest] = []
        self.release = asyncio.Event()
        """Event that slow handlers wait for. The fixture sets it when the test ends."""
        self._app = web.Application(middlewares=[self._record])
        self._server: TestServer | None = None

    def route(self, method: str, path: str, handler: Handler) -> None:
        """Serve handler for method and a path relative to the API base URL."""
        self._app.router.add_route(method, API_PREFIX + path, handler)

    async def start(self) -> str:
        """Start listening on 127.0.0.1 and return the API base URL."""
        self._server = TestServer(self._app, host="127.0.0.1", port=0)
        await self._server.start_server()
        return str(self._server.make_url(API_PREFIX))

    async def close(self) -> None:
        """Let slow handlers finish and stop the server."""
        self.release.set()
        if self._server is not None:
            await self._server.close()

    async def wait_forever(self, request: web.Request) -> web.Response:
        """Respond only after the test ends, so that the client times out."""
        await self.release.wait()
        return web.json_response({"code": 0, "msg": "late", "data": None})

    @web.middleware
    async def _record(
        self, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        """Record the request before its handler runs."""
        self.requests.append(
            RecordedRequest(
                method=request.method,
                path=request.path.removeprefix(API_PREFIX),
                query=dict(request.query),
                authorization=request.headers.get("Authorization"),
                body=await request.read(),
            )
        )
        return await handler(request)


def reply(
    data: Any = None,
    *,
    code: Any = 0,
    msg: str = "Successful operation",
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Handler:
    """Return a handler that responds with one fixed envelope."""
    body: dict[str, Any] = {"code": code, "msg": msg}
    if code in (0, "0"):
        body["data"] = data

    async def handle(request: web.Request) -> web.Response:
        return web.json_response(body, status=status, headers=headers)

    return handle


def listing_item(number: int) -> dict[str, Any]:
    """Return a fleet listing item in the documented shape."""
    return {
        "pCabinetid": f"BJX{number:05d}",
        "pQrcode": f"QR-BJX{number:05d}",
        "pShopid": "shop0000001",
        "shopName": "Cafe Central",
        "type": "8",
        "slots": 8,
        "pBorrow": 3,
        "pAlso": 5,
        "online": True,
        "infoStatus": "online",
        "signal": "25",
        "ip": "198.51.100.7",
    }


@pytest.fixture
async def cloud(socket_enabled: None) -> AsyncIterator[FakeCloud]:
    """Yield a fake cloud, to which the test adds routes before starting it."""
    fake = FakeCloud()
    yield fake
    await fake.close()


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """Yield a client session that is closed after the test."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
def make_client(
    session: aiohttp.ClientSession,
) -> Callable[..., ChargeNowClient]:
    """Return a factory of clients with test-sized timeouts and no retry delay."""

    def factory(base_url: str, **options: Any) -> ChargeNowClient:
        options.setdefault("timeout", 5.0)
        options.setdefault("retry_delays", (0.0, 0.0))
        return ChargeNowClient(session, USERNAME, PASSWORD, base_url, **options)

    return factory
