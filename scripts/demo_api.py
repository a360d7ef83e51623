"""Drive Home Assistant's HTTP and websocket APIs for the demo in scripts/demo.py.

Covers what a person would click through in the UI: onboarding, logging in,
creating a long-lived access token and adding a config entry through its
config flow.
"""

from __future__ import annotations

from http import HTTPStatus
import logging
import time
from typing import Any

import aiohttp

_LOGGER = logging.getLogger(__name__)

TOKEN_LIFESPAN_DAYS = 3650


class ApiError(Exception):
    """Home Assistant rejected a request or returned something unexpected."""


class HomeAssistantApi:
    """Client of one Home Assistant instance's HTTP and websocket APIs."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        """Store the session and the base URL, such as http://127.0.0.1:8123."""
        self._session = session
        self.base_url = base_url
        # Home Assistant's frontend uses its own URL as client id, too.
        self.client_id = f"{base_url}/"
        self.redirect_uri = f"{base_url}/?auth_callback=1"

    async def _request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json_body: Any = None,
        form: dict[str, str] | None = None,
        expected: tuple[int, ...] = (HTTPStatus.OK,),
    ) -> tuple[int, Any]:
        """Send one request; return the status and the decoded JSON body."""
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        async with self._session.request(
            method, self.base_url + path, headers=headers, json=json_body, data=form
        ) as response:
            text = await response.text()
            if response.status not in expected:
                raise ApiError(
                    f"{method} {path} returned HTTP {response.status}: {text[:300]}"
                )
            body = None
            if response.content_type == "application/json" and text:
                body = await response.json()
            return response.status, body

    async def is_token_valid(self, token: str) -> bool:
        """Return whether Home Assistant accepts the access token."""
        status, _ = await self._request(
            "GET",
            "/api/",
            token=token,
            expected=(HTTPStatus.OK, HTTPStatus.UNAUTHORIZED),
        )
        return status == HTTPStatus.OK

    async def core_state(self, token: str) -> str:
        """Return the core's state, such as NOT_RUNNING, STARTING or RUNNING."""
        _, body = await self._request("GET", "/api/config", token=token)
        return str(body["state"])

    # --- Onboarding and tokens ------------------------------------------------

    async def onboarding_steps(self) -> dict[str, bool] | None:
        """Return each onboarding step and whether it is done.

        Returns None once onboarding is complete, because Home Assistant then
        no longer serves the onboarding API.
        """
        status, body = await self._request(
            "GET",
            "/api/onboarding",
            expected=(HTTPStatus.OK, HTTPStatus.NOT_FOUND),
        )
        if status == HTTPStatus.NOT_FOUND:
            return None
        return {step["step"]: bool(step["done"]) for step in body}

    async def create_owner(self, name: str, username: str, password: str) -> str:
        """Create the owner account (onboarding step user); return an access token."""
        _, body = await self._request(
            "POST",
            "/api/onboarding/users",
            json_body={
                "client_id": self.client_id,
                "name": name,
                "username": username,
                "password": password,
                "language": "en",
            },
        )
        return await self._exchange_auth_code(body["auth_code"])

    async def finish_onboarding_step(self, step: str, token: str) -> None:
        """Finish the analytics or integration onboarding step."""
        payload: dict[str, str] = {}
        if step == "integration":
            payload = {"client_id": self.client_id, "redirect_uri": self.redirect_uri}
        await self._request(
            "POST", f"/api/onboarding/{step}", token=token, json_body=payload
        )

    async def log_in(self, username: str, password: str) -> str:
        """Log in with a password through the login flow; return an access token."""
        _, flow = await self._request(
            "POST",
            "/auth/login_flow",
            json_body={
                "client_id": self.client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": self.redirect_uri,
            },
        )
        _, result = await self._request(
            "POST",
            f"/auth/login_flow/{flow['flow_id']}",
            json_body={
                "client_id": self.client_id,
                "username": username,
                "password": password,
            },
        )
        if result.get("type") != "create_entry":
            raise ApiError(
                f"Logging in as {username!r} failed: {result.get('errors')}. "
                "Delete the demo folder to start from a new configuration"
            )
        return await self._exchange_auth_code(result["result"])

    async def _exchange_auth_code(self, code: str) -> str:
        """Exchange an authorization code for an access token."""
        _, body = await self._request(
            "POST",
            "/auth/token",
            form={
                "grant_type": "authorization_code",
                "code": code,
                "client_id": self.client_id,
            },
        )
        return str(body["access_token"])

    async def create_long_lived_token(self, access_token: str) -> str:
        """Create a long-lived access token over the websocket API."""
        url = self.base_url.replace("http://", "ws://", 1) + "/api/websocket"
        async with self._session.ws_connect(url) as websocket:
            await self._receive(websocket, "auth_required")
            await websocket.send_json({"type": "auth", "access_token": access_token})
            await self._receive(websocket, "auth_ok")
            # Home Assistant rejects a second token of the same name.
            name = f"bajie_charging demo {time.strftime('%Y-%m-%d %H:%M:%S')}"
            await websocket.send_json(
                {
                    "id": 1,
                    "type": "auth/long_lived_access_token",
                    "client_name": name,
                    "lifespan": TOKEN_LIFESPAN_DAYS,
                }
            )
            message = await self._receive(websocket, "result")
        if not message.get("success"):
            raise ApiError(
                f"Creating a long-lived token failed: {message.get('error')}"
            )
        return str(message["result"])

    @staticmethod
    async def _receive(
        websocket: aiohttp.ClientWebSocketResponse, expected_type: str
    ) -> dict[str, Any]:
        """Receive one websocket message and check its type."""
        message: dict[str, Any] = await websocket.receive_json()
        if message.get("type") != expected_type:
            raise ApiError(
                f"Expected a websocket message of type {expected_type!r}, "
                f"got {message.get('type')!r}"
            )
        return message

    # --- Config entries -------------------------------------------------------

    async def config_entries(self, domain: str, token: str) -> list[dict[str, Any]]:
        """Return the config entries of an integration."""
        _, body = await self._request(
            "GET", f"/api/config/config_entries/entry?domain={domain}", token=token
        )
        return list(body)

    async def add_config_entry(
        self, domain: str, user_input: dict[str, Any], token: str
    ) -> dict[str, Any]:
        """Run an integration's config flow with user_input; return the new entry.

        Only the fields the user step's form declares are sent, so an optional
        field the flow does not have is left out rather than rejected.
        """
        _, form = await self._request(
            "POST",
            "/api/config/config_entries/flow",
            token=token,
            json_body={"handler": domain, "show_advanced_options": False},
        )
        if form.get("type") != "form":
            raise ApiError(f"The {domain} config flow did not show a form: {form}")
        fields = {field["name"] for field in form.get("data_schema", [])}
        _, result = await self._request(
            "POST",
            f"/api/config/config_entries/flow/{form['flow_id']}",
            token=token,
            json_body={
                key: value for key, value in user_input.items() if key in fields
            },
        )
        match result.get("type"):
            case "create_entry":
                return dict(result["result"])
            case "form":
                raise ApiError(
                    f"The {domain} config flow returned its {result.get('step_id')} "
                    f"step with errors {result.get('errors')}"
                )
            case "abort":
                raise ApiError(
                    f"The {domain} config flow aborted: {result.get('reason')}"
                )
            case other:
                raise ApiError(f"The {domain} config flow returned type {other!r}")


class SimulatorApi:
    """Client of the simulator's push configuration endpoints."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        username: str,
        password: str,
    ) -> None:
        """Store the session, the API's base URL and the agent credentials."""
        self._session = session
        self._base_url = base_url
        self._headers = {"Authorization": aiohttp.encode_basic_auth(username, password)}

    async def _call(self, method: str, path: str, json_body: Any = None) -> Any:
        """Send one request; return the data of a successful reply."""
        async with self._session.request(
            method, self._base_url + path, headers=self._headers, json=json_body
        ) as response:
            body = await response.json()
        if not isinstance(body, dict) or body.get("code") != 0:
            raise ApiError(f"The simulator rejected {method} {path}: {body}")
        return body.get("data")

    async def set_push_url(self, push_url: str) -> None:
        """Push every event kind to push_url."""
        await self._call(
            "POST",
            "/cabinet/eventPush/config",
            {"pushUrl": push_url, "eventSubscriptions": []},
        )

    async def has_push_url(self) -> bool:
        """Return whether any push URL is configured."""
        data = await self._call("GET", "/cabinet/eventPush/config/get") or {}
        return bool(data.get("pushUrl")) or any(
            subscription.get("pushUrl")
            for subscription in data.get("eventSubscriptions", [])
        )
