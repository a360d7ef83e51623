"""Check the brand images against Home Assistant's brand image rules."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
import struct
import zlib

from homeassistant.components.brands.const import ALLOWED_IMAGES
from homeassistant.core import HomeAssistant
from homeassistant.loader import async_get_integration
import pytest

from custom_components.bajie_charging.const import DOMAIN

BRAND_DIR = Path(__file__).parent.parent / "custom_components" / DOMAIN / "brand"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Bytes per pixel of the 8-bit colour types that carry alpha: grey with
# alpha (4) and RGBA (6).
BYTES_PER_PIXEL = {4: 2, 6: 4}

ICONS = {"icon.png": 256, "icon@2x.png": 512}
LOGOS = {
    "logo.png": 128,
    "logo@2x.png": 256,
    "dark_logo.png": 128,
    "dark_logo@2x.png": 256,
}


@dataclass(frozen=True)
class Png:
    """Header fields and decoded alpha channel of one PNG file."""

    width: int
    height: int
    bit_depth: int
    colour_type: int
    interlace: int
    alpha_rows: list[bytes]

    def alpha(self, x: int, y: int) -> int:
        """Return the alpha value of one pixel."""
        return self.alpha_rows[y][x]


def read_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """Split a PNG file into (type, payload) chunks, checking each CRC."""
    assert data[:8] == PNG_SIGNATURE
    chunks = []
    offset = 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        payload = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert zlib.crc32(kind + payload) == crc, f"bad CRC in {kind!r} chunk"
        chunks.append((kind, payload))
        offset += 12 + length
    return chunks


def paeth(left: int, up: int, up_left: int) -> int:
    """Return the Paeth predictor of three neighbouring bytes."""
    estimate = left + up - up_left
    distance_left = abs(estimate - left)
    distance_up = abs(estimate - up)
    distance_up_left = abs(estimate - up_left)
    if distance_left <= distance_up and distance_left <= distance_up_left:
        return left
    if distance_up <= distance_up_left:
        return up
    return up_left


def unfilter_rows(raw: bytes, width: int, height: int, stride: int) -> list[bytes]:
    """Undo the per-row PNG filters of a non-interlaced image."""
    row_length = width * stride
    rows: list[bytes] = []
    previous = bytearray(row_length)
    for y in range(height):
        start = y * (row_length + 1)
        filter_type = raw[start]
        row = bytearray(raw[start + 1 : start + 1 + row_length])
        for i in range(row_length):
            left = row[i - stride] if i >= stride else 0
            up = previous[i]
            up_left = previous[i - stride] if i >= stride else 0
            if filter_type == 1:
                row[i] = (row[i] + left) & 0xFF
            elif filter_type == 2:
                row[i] = (row[i] + up) & 0xFF
            elif filter_type == 3:
                row[i] = (row[i] + (left + up) // 2) & 0xFF
            elif filter_type == 4:
                row[i] = (row[i] + paeth(left, up, up_left)) & 0xFF
            else:
                assert filter_type == 0, f"unknown filter type {filter_type}"
        rows.append(bytes(row))
        previous = row
    return rows


def read_png(path: Path) -> Png:
    """Parse a PNG file's header and decode its alpha channel."""
    chunks = read_chunks(path.read_bytes())
    assert chunks[0][0] == b"IHDR"
    width, height, bit_depth, colour_type, _, _, interlace = struct.unpack(
        ">IIBBBBB", chunks[0][1]
    )
    alpha_rows: list[bytes] = []
    if bit_depth == 8 and colour_type in BYTES_PER_PIXEL and interlace == 0:
        stride = BYTES_PER_PIXEL[colour_type]
        raw = zlib.decompress(
            b"".join(data for kind, data in chunks if kind == b"IDAT")
        )
        rows = unfilter_rows(raw, width, height, stride)
        alpha_rows = [row[stride - 1 :: stride] for row in rows]
    return Png(width, height, bit_depth, colour_type, interlace, alpha_rows)


@pytest.fixture(scope="module", name="images")
def images_fixture() -> dict[str, Png]:
    """Decode every brand image once for the whole module."""
    return {name: read_png(BRAND_DIR / name) for name in (*ICONS, *LOGOS)}


def test_brand_folder_names() -> None:
    assert BRAND_DIR.is_dir()
    names = {path.name for path in BRAND_DIR.iterdir()}
    # Home Assistant's brands proxy serves only these names from the folder.
    assert names <= ALLOWED_IMAGES, f"unexpected files: {names - ALLOWED_IMAGES}"


@pytest.mark.parametrize("name", [*ICONS, *LOGOS])
def test_brand_image_format(images: dict[str, Png], name: str) -> None:
    image = images[name]
    assert image.bit_depth == 8
    assert image.colour_type in BYTES_PER_PIXEL, "PNG has no alpha channel"
    assert image.interlace == 0
    assert len(image.alpha_rows) == image.height


@pytest.mark.parametrize(("name", "size"), ICONS.items())
def test_icon_size(images: dict[str, Png], name: str, size: int) -> None:
    assert images[name].width == size
    assert images[name].height == size


@pytest.mark.parametrize(("name", "height"), LOGOS.items())
def test_logo_size(images: dict[str, Png], name: str, height: int) -> None:
    assert images[name].height == height
    assert images[name].width > 2 * height, "logo is not landscape"


@pytest.mark.parametrize("prefix", ["", "dark_"])
def test_logo_2x_doubles_width(images: dict[str, Png], prefix: str) -> None:
    normal = images[f"{prefix}logo.png"]
    double = images[f"{prefix}logo@2x.png"]
    assert double.width == 2 * normal.width


def test_dark_logo_matches_logo(images: dict[str, Png]) -> None:
    assert images["dark_logo.png"].width == images["logo.png"].width
    assert images["dark_logo@2x.png"].width == images["logo@2x.png"].width


@pytest.mark.parametrize("name", [*ICONS, *LOGOS])
def test_brand_corners_transparent(images: dict[str, Png], name: str) -> None:
    image = images[name]
    right, bottom = image.width - 1, image.height - 1
    for x, y in ((0, 0), (right, 0), (0, bottom), (right, bottom)):
        assert image.alpha(x, y) == 0, f"corner ({x}, {y}) is not transparent"


@pytest.mark.parametrize("name", [*ICONS, *LOGOS])
def test_brand_image_trimmed(images: dict[str, Png], name: str) -> None:
    image = images[name]
    columns = range(image.width)
    rows = range(image.height)
    touches_top = any(image.alpha(x, 0) for x in columns)
    touches_bottom = any(image.alpha(x, image.height - 1) for x in columns)
    touches_left = any(image.alpha(0, y) for y in rows)
    touches_right = any(image.alpha(image.width - 1, y) for y in rows)
    trimmed = (touches_top and touches_bottom) or (touches_left and touches_right)
    assert trimmed, "content touches neither both sides nor top and bottom"
    if name in LOGOS:
        assert touches_left
        assert touches_right


async def test_integration_has_branding(hass: HomeAssistant) -> None:
    integration = await async_get_integration(hass, DOMAIN)
    assert integration.has_branding
