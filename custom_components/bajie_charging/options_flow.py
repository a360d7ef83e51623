"""Options flow: poll intervals, push registration, time zone, fleet filter."""

from __future__ import annotations

import logging
from typing import Any
import zoneinfo

from homeassistant.config_entries import ConfigFlowResult, OptionsFlowWithReload
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import callback
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)
import probatio as vol

from .api import ChargeNowClient, ChargeNowError
from .api.models import PushConfig
from .const import (
    CONF_BASE_URL,
    CONF_CABINETS,
    CONF_POLL_INTERVAL,
    CONF_PREVIOUS_PUSH_CONFIG,
    CONF_PUSH_POLL_INTERVAL,
    CONF_PUSH_URL,
    CONF_REGISTER_PUSH,
    CONF_SHOPS,
    CONF_TIME_ZONE,
    CONF_WEBHOOK_ID,
    DEFAULT_POLL_INTERVAL_MINUTES,
    DEFAULT_PUSH_POLL_INTERVAL_MINUTES,
)
from .coordinator import BajieConfigEntry
from .push_config import (
    async_register_push_url,
    async_restore_push_config,
    conflicting_push_url,
    webhook_push_url,
)

_LOGGER = logging.getLogger(__name__)

CONF_REPLACE_PUSH_URL = "replace_push_url"
HOME_ASSISTANT_ZONE = "home_assistant"
"""Time zone choice that stores no zone, so Home Assistant's current one is used."""


def _minutes_selector(minimum: int, maximum: int) -> NumberSelector:
    return NumberSelector(
        NumberSelectorConfig(
            min=minimum,
            max=maximum,
            step=1,
            unit_of_measurement="min",
            mode=NumberSelectorMode.BOX,
        )
    )


def _multi_select(options: list[SelectOptionDict]) -> SelectSelector:
    return SelectSelector(
        SelectSelectorConfig(
            options=options, multiple=True, mode=SelectSelectorMode.DROPDOWN, sort=True
        )
    )


def _options_from_input(user_input: dict[str, Any]) -> dict[str, Any]:
    """Return the options to store from the submitted form.

    Push registration is stored in the entry's data, and Home Assistant's
    time zone is stored as no zone, so that the entry follows later changes
    of it.
    """
    options = {
        key: value for key, value in user_input.items() if key != CONF_REGISTER_PUSH
    }
    for key in (CONF_POLL_INTERVAL, CONF_PUSH_POLL_INTERVAL):
        options[key] = int(options[key])
    if options.get(CONF_TIME_ZONE) in (HOME_ASSISTANT_ZONE, ""):
        del options[CONF_TIME_ZONE]
    return options


class BajieOptionsFlow(OptionsFlowWithReload):
    """Change how an entry polls, receives pushes and which cabinets it shows."""

    config_entry: BajieConfigEntry

    def __init__(self) -> None:
        """Start with no choices made."""
        self._options: dict[str, Any] = {}
        self._client: ChargeNowClient | None = None
        self._current_push_config: PushConfig | None = None
        self._user_input: dict[str, Any] = {}
        self._registration_changed = False

    def _make_client(self) -> ChargeNowClient:
        data = self.config_entry.data
        return ChargeNowClient(
            async_get_clientsession(self.hass),
            data[CONF_USERNAME],
            data[CONF_PASSWORD],
            data[CONF_BASE_URL],
        )

    def _schema(self, zones: set[str]) -> vol.Schema:
        entry = self.config_entry
        runtime_data = getattr(entry, "runtime_data", None)
        listed_cabinets: dict[str, str | None] = {}
        listed_shops: dict[str, str | None] = {}
        if runtime_data is not None:
            # The whole listing, because the fleet in coordinator.data is
            # already narrowed by the filters being edited here.
            listed_cabinets = runtime_data.coordinator.listed_cabinets
            listed_shops = runtime_data.coordinator.listed_shops

        cabinet_options: list[SelectOptionDict] = []
        for cabinet_id, shop_name in listed_cabinets.items():
            label = f"{cabinet_id} ({shop_name})" if shop_name else cabinet_id
            cabinet_options.append({"value": cabinet_id, "label": label})
        shop_options = {
            shop_id: shop_name or shop_id for shop_id, shop_name in listed_shops.items()
        }

        # Keep filters that name cabinets or shops no longer listed selectable,
        # so that they can be removed.
        cabinet_options.extend(
            {"value": cabinet_id, "label": cabinet_id}
            for cabinet_id in entry.options.get(CONF_CABINETS, [])
            if cabinet_id not in listed_cabinets
        )
        for shop_id in entry.options.get(CONF_SHOPS, []):
            shop_options.setdefault(shop_id, shop_id)

        # NOTE: the frontend is expected to show this option's translation from
        # strings.json and the zone names as given. Not checked in a browser.
        zone_options: list[SelectOptionDict] = [
            {"value": HOME_ASSISTANT_ZONE, "label": "Home Assistant's time zone"}
        ]
        zone_options.extend({"value": zone, "label": zone} for zone in sorted(zones))

        return vol.Schema(
            {
                vol.Required(
                    CONF_POLL_INTERVAL, default=DEFAULT_POLL_INTERVAL_MINUTES
                ): _minutes_selector(1, 60),
                vol.Required(
                    CONF_PUSH_POLL_INTERVAL, default=DEFAULT_PUSH_POLL_INTERVAL_MINUTES
                ): _minutes_selector(1, 240),
                vol.Required(CONF_REGISTER_PUSH): BooleanSelector(),
                vol.Required(
                    CONF_TIME_ZONE, default=HOME_ASSISTANT_ZONE
                ): SelectSelector(
                    SelectSelectorConfig(
                        options=zone_options,
                        mode=SelectSelectorMode.DROPDOWN,
                        translation_key=CONF_TIME_ZONE,
                    )
                ),
                vol.Optional(CONF_CABINETS, default=[]): _multi_select(cabinet_options),
                vol.Optional(CONF_SHOPS, default=[]): _multi_select(
                    [
                        {"value": shop_id, "label": name}
                        for shop_id, name in shop_options.items()
                    ]
                ),
            }
        )

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show the options and apply a change of push registration."""
        entry = self.config_entry
        errors: dict[str, str] = {}
        if user_input is not None:
            self._user_input = user_input
            self._options = _options_from_input(user_input)
            registered = bool(entry.data.get(CONF_PUSH_URL))
            if user_input[CONF_PUSH_POLL_INTERVAL] < user_input[CONF_POLL_INTERVAL]:
                # Pushes keep the cabinets current, so polling while they
                # arrive is meant to be the rarer of the two.
                errors[CONF_PUSH_POLL_INTERVAL] = "push_interval_too_short"
            elif user_input[CONF_REGISTER_PUSH] and not registered:
                errors = await self._async_read_push_config()
                if not errors:
                    return await self.async_step_push_conflict()
            elif registered and not user_input[CONF_REGISTER_PUSH]:
                if await async_restore_push_config(self.hass, entry):
                    data = dict(entry.data)
                    data.pop(CONF_PUSH_URL, None)
                    data.pop(CONF_PREVIOUS_PUSH_CONFIG, None)
                    self._update_entry_data(data)
                else:
                    errors[CONF_REGISTER_PUSH] = "cannot_connect"
            if not errors:
                return self._async_save_options()

        return await self._async_show_init_form(user_input, errors)

    async def _async_show_init_form(
        self, user_input: dict[str, Any] | None, errors: dict[str, str]
    ) -> ConfigFlowResult:
        """Show the options form, filled with user_input after an error."""
        entry = self.config_entry
        zones = await self.hass.async_add_executor_job(zoneinfo.available_timezones)
        suggested = {
            **entry.options,
            CONF_REGISTER_PUSH: bool(entry.data.get(CONF_PUSH_URL)),
            **(user_input or {}),
        }
        if suggested.get(CONF_TIME_ZONE) not in zones:
            # No zone, or one that cloud_time_zone cannot use either, so the
            # timestamps are read in Home Assistant's zone.
            suggested[CONF_TIME_ZONE] = HOME_ASSISTANT_ZONE
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                self._schema(zones), suggested
            ),
            errors=errors,
        )

    @callback
    def _update_entry_data(self, data: dict[str, Any]) -> None:
        """Store a change of push registration in the entry's data."""
        self.hass.config_entries.async_update_entry(self.config_entry, data=data)
        self._registration_changed = True

    @callback
    def _async_save_options(self) -> ConfigFlowResult:
        """Save the options, and reload the entry after any registration change.

        OptionsFlowWithReload reloads the entry only when the options change,
        but push registration is stored in the entry's data. The reload
        restarts the push health checks, which measure silence from the load.
        """
        entry = self.config_entry
        if self._registration_changed and self._options == dict(entry.options):
            self.hass.config_entries.async_schedule_reload(entry.entry_id)
        return self.async_create_entry(data=self._options)

    def _webhook_url(self) -> str | None:
        return webhook_push_url(self.hass, self.config_entry.data[CONF_WEBHOOK_ID])

    async def _async_read_push_config(self) -> dict[str, str]:
        """Read the cloud's push configuration; return form errors."""
        if self._webhook_url() is None:
            return {CONF_REGISTER_PUSH: "no_url_available"}
        self._client = self._make_client()
        try:
            self._current_push_config = await self._client.async_get_push_config()
        except ChargeNowError as err:
            _LOGGER.warning("Could not read the cloud's push configuration: %s", err)
            return {CONF_REGISTER_PUSH: "cannot_connect"}
        return {}

    async def async_step_push_conflict(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Register the webhook URL, asking first when another URL is there."""
        assert self._client is not None
        assert self._current_push_config is not None
        url = self._webhook_url()
        assert url is not None
        other_url = conflicting_push_url(self._current_push_config, url)
        if other_url is not None and user_input is None:
            return self.async_show_form(
                step_id="push_conflict",
                data_schema=vol.Schema(
                    {vol.Required(CONF_REPLACE_PUSH_URL, default=False): bool}
                ),
                description_placeholders={"current_url": other_url},
            )
        if other_url is None or (user_input or {}).get(CONF_REPLACE_PUSH_URL):
            try:
                registered = await async_register_push_url(
                    self._client,
                    url,
                    self._current_push_config,
                    entry_data=self.config_entry.data,
                )
            except ChargeNowError as err:
                _LOGGER.warning("Could not register the push URL in the cloud: %s", err)
                return await self._async_show_init_form(
                    self._user_input, {CONF_REGISTER_PUSH: "register_failed"}
                )
            self._update_entry_data({**self.config_entry.data, **registered})
        return self._async_save_options()
