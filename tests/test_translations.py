"""Check each translation file's placeholders, references and empty values."""

from __future__ import annotations

import json
from pathlib import Path
import re
from typing import Any

import pytest

INTEGRATION = Path(__file__).parent.parent / "custom_components" / "bajie_charging"
TRANSLATIONS = sorted((INTEGRATION / "translations").glob("*.json"))


def _flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """Map each dotted key path of a translation tree to its leaf value."""
    if not isinstance(tree, dict):
        return {prefix: tree}
    leaves: dict[str, Any] = {}
    for key, value in tree.items():
        leaves |= _flatten(value, f"{prefix}.{key}" if prefix else key)
    return leaves


def _strings(path: Path) -> dict[str, Any]:
    """Load one translation file as a flat mapping of key path to value."""
    return _flatten(json.loads(path.read_text(encoding="utf-8")))


def _placeholders(text: str) -> set[str]:
    """Return the names of the `{name}` placeholders in a string."""
    return set(re.findall(r"{(\w+)}", text))


def _references(text: str) -> set[str]:
    """Return the `[%key:...%]` references in a string."""
    return set(re.findall(r"\[%key:[^%]+%\]", text))


SOURCE = _strings(INTEGRATION / "strings.json")


@pytest.mark.parametrize("path", TRANSLATIONS, ids=lambda path: path.name)
def test_translation_placeholders_match(path: Path) -> None:
    """Each string has the same placeholders as its strings.json source."""
    translated = _strings(path)
    shared_keys = sorted(SOURCE.keys() & translated.keys())

    mismatched = {
        key: (_placeholders(SOURCE[key]), _placeholders(translated[key]))
        for key in shared_keys
        if _placeholders(SOURCE[key]) != _placeholders(translated[key])
    }

    # Each value is (placeholders in strings.json, placeholders in the file).
    assert mismatched == {}


@pytest.mark.parametrize("path", TRANSLATIONS, ids=lambda path: path.name)
def test_translation_references_match(path: Path) -> None:
    """Each string keeps the [%key:...%] references of its source."""
    translated = _strings(path)
    shared_keys = sorted(SOURCE.keys() & translated.keys())

    mismatched = {
        key: (_references(SOURCE[key]), _references(translated[key]))
        for key in shared_keys
        if _references(SOURCE[key]) != _references(translated[key])
    }

    assert mismatched == {}


@pytest.mark.parametrize("path", TRANSLATIONS, ids=lambda path: path.name)
def test_translation_values_not_empty(path: Path) -> None:
    """Every value in the file is a string with visible text."""
    translated = _strings(path)

    not_strings = sorted(
        key for key, value in translated.items() if not isinstance(value, str)
    )
    empty = sorted(
        key
        for key, value in translated.items()
        if isinstance(value, str) and not value.strip()
    )

    assert not_strings == []
    assert empty == []


def test_translation_files_found() -> None:
    """The translations folder has English and at least one other language."""
    names = {path.name for path in TRANSLATIONS}

    assert "en.json" in names
    assert len(names) > 1
