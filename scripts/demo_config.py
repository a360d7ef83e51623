"""Prepare the demo's Home Assistant configuration folder, demo/config.

scripts/demo.py calls this before every start of Home Assistant, while Home
Assistant is not running, because some settings live in its .storage files.
"""

from __future__ import annotations

from dataclasses import dataclass
import json
import os
from pathlib import Path
import string
import time
from typing import Any

from homeassistant.components import onboarding
from homeassistant.components.http import config as http_config, const as http_const
from homeassistant.components.network import const as network_const
from homeassistant.components.onboarding import const as onboarding_const

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEMO_DIR = PROJECT_DIR / "demo"
CONFIG_DIR = DEMO_DIR / "config"
CONFIG_TEMPLATE = PROJECT_DIR / "scripts" / "demo_configuration.yaml"
INTEGRATION_DIR = PROJECT_DIR / "custom_components" / "bajie_charging"

DOMAIN = "bajie_charging"
HOST = "127.0.0.1"
LOOPBACK_ADAPTER = "lo"
# Both the simulator's push timestamps and Home Assistant use this zone, so
# the zone-less timestamps of pushes read the same on both sides.
TIME_ZONE = "UTC"


class DemoError(Exception):
    """A demo step failed. The message names the step and what to do next."""


@dataclass(frozen=True, kw_only=True)
class SavedEntry:
    """Data of the integration's config entry from a previous run."""

    base_url: str
    webhook_id: str
    registered_push: bool


def prepare_config_dir(
    port: int, *, config_dir: Path = CONFIG_DIR, template: Path = CONFIG_TEMPLATE
) -> None:
    """Write the configuration and storage files Home Assistant starts from."""
    (config_dir / ".storage").mkdir(parents=True, exist_ok=True)
    configuration = string.Template(template.read_text(encoding="utf-8"))
    (config_dir / "configuration.yaml").write_text(
        configuration.substitute(port=port, time_zone=TIME_ZONE),
        encoding="utf-8",
    )
    link_integration(config_dir=config_dir)
    write_http_store(port, config_dir=config_dir)
    write_network_store(config_dir=config_dir)
    mark_core_config_onboarded(config_dir=config_dir)


def link_integration(*, config_dir: Path = CONFIG_DIR) -> None:
    """Make the checkout's integration visible in the configuration folder."""
    link = config_dir / "custom_components" / DOMAIN
    link.parent.mkdir(exist_ok=True)
    # Relative, so the link resolves both on the host and inside the chroot.
    target = os.path.relpath(INTEGRATION_DIR, link.parent)
    if link.is_symlink():
        if os.readlink(link) != target:
            link.unlink()
    elif link.exists():
        raise DemoError(
            f"{link} exists and is not a link to {INTEGRATION_DIR}. "
            "Move it away and start again"
        )
    if not link.is_symlink():
        link.symlink_to(target, target_is_directory=True)
    if not (link / "manifest.json").is_file():
        raise DemoError(f"{link} does not resolve to the integration's folder")


def write_storage_file(
    key: str,
    version: int,
    minor_version: int,
    data: Any,
    *,
    config_dir: Path = CONFIG_DIR,
) -> None:
    """Write one file of Home Assistant's .storage folder in its own format."""
    content = {
        "version": version,
        "minor_version": minor_version,
        "key": key,
        "data": data,
    }
    path = config_dir / ".storage" / key
    path.write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
    path.chmod(0o600)


def read_storage_data(key: str, *, config_dir: Path = CONFIG_DIR) -> Any:
    """Return the data of one .storage file, or None when there is none."""
    path = config_dir / ".storage" / key
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))["data"]


def write_http_store(port: int, *, config_dir: Path = CONFIG_DIR) -> None:
    """Make 127.0.0.1:port the confirmed HTTP configuration.

    Home Assistant 2026.10 reads the HTTP server settings from .storage/http.
    An http: YAML section would be copied there once as an unconfirmed trial
    that is reverted with a restart after five minutes, and ignored on later
    starts, so that a new --port would never take effect.
    """
    stable = dict(
        http_config.HTTP_STORAGE_SCHEMA(
            {
                http_const.CONF_SERVER_HOST: [HOST],
                http_const.CONF_SERVER_PORT: port,
            }
        )
    )
    stable[http_config.HTTP_CONFIG_CREATED_AT] = time.strftime(
        "%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()
    )
    stable[http_config.HTTP_CONFIG_ERROR] = None
    stable[http_config.HTTP_CONFIG_ERROR_MESSAGE] = None
    write_storage_file(
        http_config.STORAGE_KEY,
        http_config.STORAGE_VERSION,
        http_config.STORAGE_MINOR_VERSION,
        {
            http_config.KEY_STABLE: stable,
            http_config.KEY_PENDING: None,
            http_config.KEY_YAML_MIGRATION_DONE: True,
        },
        config_dir=config_dir,
    )


def write_network_store(*, config_dir: Path = CONFIG_DIR) -> None:
    """Limit Home Assistant's network adapters to the loopback interface.

    Home Assistant's HTTP client sessions resolve .local names over mDNS, and
    the mDNS sockets join multicast groups on every enabled adapter. With only
    the loopback adapter enabled, the demo sends nothing on other interfaces.
    """
    write_storage_file(
        network_const.STORAGE_KEY,
        network_const.STORAGE_VERSION,
        1,
        {network_const.ATTR_CONFIGURED_ADAPTERS: [LOOPBACK_ADAPTER]},
        config_dir=config_dir,
    )


def mark_core_config_onboarded(*, config_dir: Path = CONFIG_DIR) -> None:
    """Mark the core_config onboarding step done before Home Assistant starts.

    Finishing that step through the API makes Home Assistant 2026.10.4 start
    config flows for met, google_translate, radio_browser and shopping_list,
    which install packages and contact servers on the internet. The location,
    time zone and units the step would ask for are set in configuration.yaml.
    """
    stored = read_storage_data(onboarding.STORAGE_KEY, config_dir=config_dir)
    data = stored or {"done": []}
    if onboarding_const.STEP_CORE_CONFIG in data["done"]:
        return
    data["done"].append(onboarding_const.STEP_CORE_CONFIG)
    write_storage_file(
        onboarding.STORAGE_KEY,
        onboarding.STORAGE_VERSION,
        1,
        data,
        config_dir=config_dir,
    )


def read_saved_entry() -> SavedEntry | None:
    """Return the integration's config entry of a previous run, if there is one."""
    data = read_storage_data("core.config_entries")
    if data is None:
        return None
    for entry in data.get("entries", []):
        if entry.get("domain") == DOMAIN:
            entry_data = entry.get("data", {})
            return SavedEntry(
                base_url=entry_data.get("base_url", ""),
                webhook_id=entry_data.get("webhook_id", ""),
                registered_push=bool(entry_data.get("push_url")),
            )
    return None
