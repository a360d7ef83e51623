"""Build the cloud's JSON envelope and its business errors."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aiohttp import web

SUCCESS_MESSAGE = "Successful operation"


class BusinessError(Exception):
    """Error that the cloud returns as HTTP 200 with a non-zero code."""

    def __init__(self, code: int, message: str) -> None:
        """Store the business code and message of the reply."""
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def unknown_cabinet() -> BusinessError:
    """Return the error for a cabinet id that is not in the fleet."""
    return BusinessError(2002, "QR code unbound device.")


def cabinet_offline() -> BusinessError:
    """Return the error for a command or query to an offline cabinet."""
    return BusinessError(2004, "Device not online.")


def slot_empty() -> BusinessError:
    """Return the error for an eject from a slot without a battery."""
    return BusinessError(3001, "No battery in slot.")


def slot_invalid() -> BusinessError:
    """Return the error for a slot that is missing, 0 or above the slot count."""
    return BusinessError(4001, "Invalid slot number.")


def operation_invalid() -> BusinessError:
    """Return the error for an operation type outside the documented list."""
    return BusinessError(4002, "Invalid operation type.")


def envelope(data: Any = None) -> web.Response:
    """Return a successful envelope around `data`."""
    return web.json_response({"code": 0, "msg": SUCCESS_MESSAGE, "data": data})


def business_response(error: BusinessError) -> web.Response:
    """Return a business error: HTTP 200, a non-zero code and no `data` key."""
    return web.json_response({"code": error.code, "msg": error.message})


def error_response(status: int, message: str | None = None) -> web.Response:
    """Return an HTTP error whose envelope code repeats the status."""
    text = message or HTTPStatus(status).phrase
    return web.json_response({"code": status, "msg": text}, status=status)
