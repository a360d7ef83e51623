"""Record API requests, apply injected faults and check Basic credentials."""

from __future__ import annotations

import base64
import binascii
import contextlib
from dataclasses import dataclass
from hmac import compare_digest
import json
import logging
import math
from typing import TYPE_CHECKING, Any

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from .faults import FaultRule
from .responses import BusinessError, business_response, error_response

if TYPE_CHECKING:
    from .cloud import Simulator

_LOGGER = logging.getLogger(__name__)

API_PREFIX = "/cdb-open-api/v1"

# A truncated envelope: the reply a client gets when a proxy cuts the body short.
MALFORMED_BODY = '{"code": 0, "msg": "Successful operation", "data": {"total": '


@dataclass(slots=True)
class RecordedRequest:
    """API request as the simulator received it, with the status it replied."""

    method: str
    path: str
    """Path relative to the API base, for example `/rent/cabinet/query`."""
    query: dict[str, str]
    body: Any
    """Parsed JSON body, None when there was none or it was not JSON."""
    status: int | None = None
    """HTTP status replied, None while pending or when no reply was sent."""


class ApiMiddleware:
    """Middleware that wraps every request under the API prefix."""

    def __init__(self, sim: Simulator) -> None:
        """Record into, and take faults and credentials from, `sim`."""
        self._sim = sim

    @web.middleware
    async def middleware(
        self, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        """Record API requests, apply faults and check credentials."""
        if request.path != API_PREFIX and not request.path.startswith(f"{API_PREFIX}/"):
            return await handler(request)

        path = request.path.removeprefix(API_PREFIX) or "/"
        record = RecordedRequest(
            method=request.method,
            path=path,
            query=dict(request.query),
            body=await read_json(request),
        )
        self._sim.requests.append(record)

        fault = self._sim.take_fault(path)
        response = await self._respond(request, handler, fault)
        if response is None:
            _LOGGER.info("%s %s: closed without a reply", request.method, path)
            return _close_without_reply(request)

        record.status = response.status
        _LOGGER.info("%s %s: HTTP %s", request.method, path, response.status)
        return response

    async def _respond(
        self, request: web.Request, handler: Handler, fault: FaultRule | None
    ) -> web.StreamResponse | None:
        """Return the reply to an API request, or None to close without one."""
        if fault is not None and fault.delay:
            await self._sim.sleep_unless_stopping(fault.delay)

        if fault is not None and fault.hang:
            await self._wait_for_disconnect(request)
            return None

        if fault is not None and fault.status is not None:
            status_reply = error_response(fault.status)
            if fault.retry_after is not None:
                retry_after = str(math.ceil(fault.retry_after))
                status_reply.headers[hdrs.RETRY_AFTER] = retry_after
            return status_reply

        if fault is not None and fault.malformed:
            return web.Response(text=MALFORMED_BODY, content_type="application/json")

        if (fault is not None and fault.auth) or not self._authorized(request):
            return error_response(401, "Unauthorized")

        if fault is not None and fault.business_error is not None:
            return business_response(BusinessError(*fault.business_error))

        response: web.StreamResponse
        try:
            response = await handler(request)
        except BusinessError as err:
            response = business_response(err)
        except web.HTTPException as err:
            response = error_response(err.status, err.reason)

        if fault is not None and fault.drop_after_action:
            return None
        return response

    def _authorized(self, request: web.Request) -> bool:
        """Return whether the request carries the agent's Basic credentials."""
        header = request.headers.get(hdrs.AUTHORIZATION, "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            received = base64.b64decode(encoded.strip(), validate=True)
        except binascii.Error:
            return False
        # Clients encode the credentials as UTF-8 or as Latin-1, so accept both.
        credentials = f"{self._sim.username}:{self._sim.password}"
        expected = {credentials.encode("utf-8")}
        with contextlib.suppress(UnicodeEncodeError):
            expected.add(credentials.encode("latin-1"))
        return any(compare_digest(received, value) for value in expected)

    async def _wait_for_disconnect(self, request: web.Request) -> None:
        """Wait until the client closes the connection or the simulator stops."""
        while not self._sim.stopping.is_set():
            transport = request.transport
            if transport is None or transport.is_closing():
                return
            await self._sim.sleep_unless_stopping(0.05)


def _close_without_reply(request: web.Request) -> web.Response:
    """Close the connection and return a response that aiohttp cannot send."""
    transport = request.transport
    if transport is not None:
        transport.close()
    # Writing to the closed transport raises ConnectionError, which aiohttp
    # handles quietly as a client that went away.
    return web.Response(status=204)


async def read_json(request: web.Request) -> Any:
    """Return the request body parsed as JSON, or None when absent or invalid."""
    if not request.body_exists:
        return None
    raw = await request.read()
    try:
        return json.loads(raw)
    except ValueError:
        return None
