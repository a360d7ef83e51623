"""Checks of manifest.json, hacs.json and the translation files."""

from __future__ import annotations

import json
from pathlib import Path
import re
from typing import Any

from awesomeversion import AwesomeVersion
import pytest
import yaml

ROOT = Path(__file__).parent.parent
INTEGRATION = ROOT / "custom_components" / "bajie_charging"

REQUIRED_MANIFEST_KEYS = {
    "domain",
    "name",
    "codeowners",
    "config_flow",
    "documentation",
    "integration_type",
    "iot_class",
    "issue_tracker",
    "requirements",
    "version",
}
IOT_CLASSES = {
    "assumed_state",
    "calculated",
    "cloud_polling",
    "cloud_push",
    "local_polling",
    "local_push",
}
HACS_KEYS = {
    "name",
    "content_in_root",
    "zip_release",
    "filename",
    "hide_default_branch",
    "country",
    "homeassistant",
    "hacs",
    "persistent_directory",
    "render_readme",
}


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _keys(tree: Any, prefix: str = "") -> set[str]:
    if not isinstance(tree, dict):
        return {prefix}
    keys: set[str] = set()
    for key, value in tree.items():
        keys |= _keys(value, f"{prefix}.{key}" if prefix else key)
    return keys


def test_manifest_keys_and_order() -> None:
    """The manifest has every required key, domain and name first, then A-Z."""
    manifest = _load(INTEGRATION / "manifest.json")
    keys = list(manifest)

    assert set(keys) >= REQUIRED_MANIFEST_KEYS
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])


def test_manifest_values() -> None:
    """The manifest's values are valid for a custom integration."""
    manifest = _load(INTEGRATION / "manifest.json")

    assert manifest["domain"] == INTEGRATION.name
    assert manifest["iot_class"] in IOT_CLASSES
    assert AwesomeVersion(manifest["version"]).valid
    assert manifest["dependencies"] == ["http", "webhook"]
    assert manifest["config_flow"] is True


def test_hacs_json() -> None:
    """hacs.json has only known keys and a valid minimum Home Assistant."""
    hacs = _load(ROOT / "hacs.json")

    assert set(hacs) <= HACS_KEYS
    assert hacs["name"]
    assert re.fullmatch(r"\d{4}\.\d{1,2}\.\d+", hacs["homeassistant"])


def test_hacs_minimum_is_tested() -> None:
    """The minimum in hacs.json is the release the oldest CI run pins."""
    hacs = _load(ROOT / "hacs.json")
    oldest = (ROOT / "requirements_test_oldest.txt").read_text(encoding="utf-8")

    assert f"pins Home Assistant {hacs['homeassistant']}." in oldest


@pytest.mark.parametrize(
    "path",
    sorted((INTEGRATION / "translations").glob("*.json")),
    ids=lambda path: path.name,
)
def test_translation_has_same_keys(path: Path) -> None:
    """Every translation file has exactly the keys of strings.json."""
    assert _keys(_load(path)) == _keys(_load(INTEGRATION / "strings.json"))


def test_english_matches_strings() -> None:
    """translations/en.json is strings.json itself."""
    assert _load(INTEGRATION / "translations" / "en.json") == _load(
        INTEGRATION / "strings.json"
    )


QUALITY_SCALE_RULES = {
    "bronze": [
        "action-setup",
        "appropriate-polling",
        "brands",
        "common-modules",
        "config-flow-test-coverage",
        "config-flow",
        "dependency-transparency",
        "docs-actions",
        "docs-high-level-description",
        "docs-installation-instructions",
        "docs-removal-instructions",
        "entity-event-setup",
        "entity-unique-id",
        "has-entity-name",
        "runtime-data",
        "test-before-configure",
        "test-before-setup",
        "unique-config-entry",
    ],
    "silver": [
        "action-exceptions",
        "config-entry-unloading",
        "docs-configuration-parameters",
        "docs-installation-parameters",
        "entity-unavailable",
        "integration-owner",
        "log-when-unavailable",
        "parallel-updates",
        "reauthentication-flow",
        "test-coverage",
    ],
    "gold": [
        "devices",
        "diagnostics",
        "discovery-update-info",
        "discovery",
        "docs-data-update",
        "docs-examples",
        "docs-known-limitations",
        "docs-supported-devices",
        "docs-supported-functions",
        "docs-troubleshooting",
        "docs-use-cases",
        "dynamic-devices",
        "entity-category",
        "entity-device-class",
        "entity-disabled-by-default",
        "entity-translations",
        "exception-translations",
        "icon-translations",
        "reconfiguration-flow",
        "repair-issues",
        "stale-devices",
    ],
    "platinum": ["async-dependency", "inject-websession", "strict-typing"],
}


def test_quality_scale_lists_every_rule() -> None:
    """quality_scale.yaml marks each rule done, or exempt with a reason."""
    scale = yaml.safe_load((INTEGRATION / "quality_scale.yaml").read_text())
    rules = scale["rules"]
    expected = {rule for tier in QUALITY_SCALE_RULES.values() for rule in tier}

    assert set(rules) == expected
    for name, rule in rules.items():
        assert rule["status"] in {"done", "exempt"}, name
        if rule["status"] == "exempt":
            assert rule.get("comment"), name
