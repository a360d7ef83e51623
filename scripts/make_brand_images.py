"""Draw the integration's brand icons and logos as PNG files.

The artwork is drawn in code, so this script is its only source. It needs
Pillow and the DejaVu Sans Bold font (Debian package fonts-dejavu-core), and
it runs `optipng` (Debian package optipng) on each file when that program is
installed. Pillow is not part of the project environment, so run the script
from a throwaway venv with the host's Python:

    python3 -m venv /tmp/brand-venv
    /tmp/brand-venv/bin/pip install pillow
    /tmp/brand-venv/bin/python scripts/make_brand_images.py

The files go to custom_components/bajie_charging/brand/ unless --output-dir
names another folder. The sizes follow Home Assistant's brand image rules:
icons are 256x256 (512x512 for @2x) and logos are 128 px high (256 px for
@2x), all trimmed, with transparent backgrounds. The mark reads on light and
dark backgrounds, so only the logo has a dark_ variant, with light lettering.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
import logging
from pathlib import Path
import shutil
import subprocess

from PIL import Image, ImageDraw, ImageFont

_LOGGER = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT_DIR = REPO_ROOT / "custom_components" / "bajie_charging" / "brand"
DEFAULT_FONT_PATHS = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf"),
    Path("/usr/local/share/fonts/DejaVuSans-Bold.ttf"),
)

ICON_SIZE = 256
LOGO_HEIGHT = 128

# Shapes are laid out in units on a 512-unit high mark and drawn SUPERSAMPLE
# times larger than the @2x output, so that downscaling smooths every edge.
UNITS = 512
SUPERSAMPLE = 4

RGB = tuple[int, int, int]
Box = tuple[float, float, float, float]


@dataclass(frozen=True, kw_only=True)
class Palette:
    """Colours of one theme variant."""

    cabinet_top: RGB
    cabinet_bottom: RGB
    slot: RGB
    bank: RGB
    led: RGB
    battery_top: RGB
    battery_bottom: RGB
    bolt: RGB
    word_primary: RGB
    word_secondary: RGB


LIGHT = Palette(
    cabinet_top=(22, 170, 158),
    cabinet_bottom=(12, 110, 112),
    slot=(8, 66, 70),
    bank=(236, 246, 245),
    led=(40, 196, 104),
    battery_top=(255, 204, 77),
    battery_bottom=(247, 150, 20),
    bolt=(10, 70, 74),
    word_primary=(20, 42, 52),
    word_secondary=(13, 128, 126),
)

# The dark variant keeps the mark and lightens the wordmark, whose dark
# letters would vanish on Home Assistant's dark theme.
DARK = Palette(
    cabinet_top=LIGHT.cabinet_top,
    cabinet_bottom=LIGHT.cabinet_bottom,
    slot=LIGHT.slot,
    bank=LIGHT.bank,
    led=LIGHT.led,
    battery_top=LIGHT.battery_top,
    battery_bottom=LIGHT.battery_bottom,
    bolt=LIGHT.bolt,
    word_primary=(240, 246, 247),
    word_secondary=(64, 214, 200),
)


def grow(box: Box, amount: float) -> Box:
    """Return a box widened by an amount on every side."""
    return (box[0] - amount, box[1] - amount, box[2] + amount, box[3] + amount)


def vertical_gradient(size: tuple[int, int], top: RGB, bottom: RGB) -> Image.Image:
    """Return an opaque RGBA image that fades from one colour to another."""
    width, height = size
    column = Image.new("RGBA", (1, height))
    for y in range(height):
        t = y / max(height - 1, 1)
        red, green, blue = (
            round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)
        )
        column.putpixel((0, y), (red, green, blue, 255))
    return column.resize((width, height), Image.Resampling.NEAREST)


class Canvas:
    """Transparent RGBA drawing surface addressed in layout units."""

    def __init__(self, width_units: float, height_units: float, scale: float) -> None:
        """Create a surface of the given layout size at pixels per unit."""
        self.scale = scale
        size = (round(width_units * scale), round(height_units * scale))
        self.image = Image.new("RGBA", size, (0, 0, 0, 0))

    def pixels(self, box: Box) -> tuple[int, int, int, int]:
        """Convert a layout box to pixel coordinates."""
        left, top, right, bottom = (round(value * self.scale) for value in box)
        return (left, top, right, bottom)

    def rounded_mask(self, box: Box, radius: float) -> Image.Image:
        """Return the coverage mask of one rounded rectangle."""
        mask = Image.new("L", self.image.size, 0)
        ImageDraw.Draw(mask).rounded_rectangle(
            self.pixels(box), radius=round(radius * self.scale), fill=255
        )
        return mask

    def polygon_mask(self, points: list[tuple[float, float]]) -> Image.Image:
        """Return the coverage mask of one polygon."""
        mask = Image.new("L", self.image.size, 0)
        scaled = [(x * self.scale, y * self.scale) for x, y in points]
        ImageDraw.Draw(mask).polygon(scaled, fill=255)
        return mask

    def fill(self, mask: Image.Image, colour: RGB) -> None:
        """Paint a flat colour through a mask."""
        layer = Image.new("RGBA", self.image.size, (*colour, 255))
        layer.putalpha(mask)
        self.image.alpha_composite(layer)

    def fill_gradient(self, mask: Image.Image, box: Box, top: RGB, bottom: RGB) -> None:
        """Paint a gradient that runs from the top to the bottom of a box."""
        left, upper, right, lower = self.pixels(box)
        layer = Image.new("RGBA", self.image.size, (0, 0, 0, 0))
        layer.paste(
            vertical_gradient((right - left, lower - upper), top, bottom), (left, upper)
        )
        layer.putalpha(mask)
        self.image.alpha_composite(layer)

    def erase(self, mask: Image.Image) -> None:
        """Make the pixels under a mask transparent."""
        alpha = self.image.getchannel("A")
        alpha.paste(0, (0, 0), mask)
        self.image.putalpha(alpha)


def bolt_points(box: Box) -> list[tuple[float, float]]:
    """Return a lightning bolt polygon that spans a box."""
    left, top, right, bottom = box
    shape = (
        (0.62, 0.00),
        (0.06, 0.58),
        (0.44, 0.58),
        (0.36, 1.00),
        (0.94, 0.40),
        (0.56, 0.40),
    )
    width, height = right - left, bottom - top
    return [(left + x * width, top + y * height) for x, y in shape]


def draw_cabinet(canvas: Canvas, palette: Palette) -> None:
    """Draw the rental cabinet: a screen above two columns of slots."""
    body = (16.0, 8.0, 360.0, 504.0)
    canvas.fill_gradient(
        canvas.rounded_mask(body, 56), body, palette.cabinet_top, palette.cabinet_bottom
    )

    screen = (48.0, 44.0, 328.0, 132.0)
    canvas.fill(canvas.rounded_mask(screen, 18), palette.slot)
    canvas.fill(
        canvas.polygon_mask(bolt_points((72, 58, 112, 118))), palette.battery_top
    )
    for index, width in enumerate((150, 100)):
        line = (132.0, 70.0 + index * 30, 132.0 + width, 88.0 + index * 30)
        canvas.fill(canvas.rounded_mask(line, 9), palette.bank)

    slot_width, slot_height, gap = 132, 92, 20
    for row in range(3):
        for column in range(2):
            left = 48.0 + column * (slot_width + gap)
            top = 156.0 + row * (slot_height + gap)
            slot = (left, top, left + slot_width, top + slot_height)
            canvas.fill(canvas.rounded_mask(slot, 18), palette.slot)
            # The top right slot stays empty: its bank is the one in front.
            if (row, column) == (0, 1):
                continue
            canvas.fill(canvas.rounded_mask(grow(slot, -12), 10), palette.bank)
            led = (left + 26, top + 36, left + 46, top + 56)
            canvas.fill(canvas.rounded_mask(led, 10), palette.led)


def draw_power_bank(canvas: Canvas, palette: Palette) -> None:
    """Draw the power bank with a bolt in front of the cabinet's right side."""
    body = (296.0, 196.0, 496.0, 504.0)
    terminal = (356.0, 164.0, 436.0, 212.0)

    # A transparent gap separates the bank from the cabinet on any background.
    gap = 20
    canvas.erase(canvas.rounded_mask(grow(body, gap), 40 + gap))
    canvas.erase(canvas.rounded_mask(grow(terminal, gap), 16 + gap))

    canvas.fill(canvas.rounded_mask(terminal, 16), palette.battery_bottom)
    canvas.fill_gradient(
        canvas.rounded_mask(body, 40), body, palette.battery_top, palette.battery_bottom
    )
    canvas.fill(canvas.polygon_mask(bolt_points((326, 236, 466, 468))), palette.bolt)


def draw_mark(canvas: Canvas, palette: Palette) -> None:
    """Draw the cabinet-and-power-bank mark in the canvas's first 512 units."""
    draw_cabinet(canvas, palette)
    draw_power_bank(canvas, palette)


def trim_to_square(image: Image.Image) -> Image.Image:
    """Crop an image to its visible pixels and centre them on a square."""
    box = image.getbbox()
    assert box is not None
    content = image.crop(box)
    side = max(content.size)
    square = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    square.paste(content, ((side - content.width) // 2, (side - content.height) // 2))
    return square


def trim_width(image: Image.Image) -> Image.Image:
    """Crop empty columns from the left and right of an image."""
    box = image.getbbox()
    assert box is not None
    return image.crop((box[0], 0, box[2], image.height))


def render_icons(palette: Palette) -> tuple[Image.Image, Image.Image]:
    """Render the icon at its normal and @2x sizes from one master."""
    canvas = Canvas(UNITS, UNITS, 2 * ICON_SIZE * SUPERSAMPLE / UNITS)
    draw_mark(canvas, palette)
    master = trim_to_square(canvas.image)
    return (
        master.resize((ICON_SIZE, ICON_SIZE), Image.Resampling.LANCZOS),
        master.resize((2 * ICON_SIZE, 2 * ICON_SIZE), Image.Resampling.LANCZOS),
    )


def find_font(explicit: Path | None) -> Path:
    """Return the path of the wordmark font, or exit if none is installed."""
    candidates = (explicit,) if explicit else DEFAULT_FONT_PATHS
    for path in candidates:
        if path.is_file():
            return path
    raise SystemExit(
        "DejaVu Sans Bold not found: install fonts-dejavu-core or pass --font PATH"
    )


def ink_box(font_path: Path, text: str, size: float, tracking: float) -> Box:
    """Return the inked box of text set on a baseline at the origin, in units.

    Tracking is extra space after each character, as a fraction of the size.
    """
    scale = 8.0
    font = ImageFont.truetype(str(font_path), round(size * scale))
    left, top, _, bottom = font.getbbox(text, anchor="ls")
    advance = sum(font.getlength(character) for character in text[:-1])
    advance += tracking * size * scale * (len(text) - 1)
    right = advance + font.getbbox(text[-1], anchor="ls")[2]
    return (left / scale, top / scale, right / scale, bottom / scale)


def draw_text(
    canvas: Canvas,
    font_path: Path,
    text: str,
    *,
    origin: tuple[float, float],
    size: float,
    colour: RGB,
    tracking: float = 0.0,
) -> None:
    """Draw text one character at a time from a left baseline point."""
    font = ImageFont.truetype(str(font_path), round(size * canvas.scale))
    pen = ImageDraw.Draw(canvas.image)
    x, baseline = origin
    for character in text:
        position = (x * canvas.scale, baseline * canvas.scale)
        pen.text(position, character, font=font, fill=(*colour, 255), anchor="ls")
        x += font.getlength(character) / canvas.scale + tracking * size


def render_logo_master(palette: Palette, font_path: Path, scale: float) -> Image.Image:
    """Render the mark and wordmark, trimmed left and right, 512 units high.

    The wordmark is "Bajie" over "CHARGING" in spaced capitals, the two lines
    equally wide and the pair centred on the mark's height.
    """
    canvas = Canvas(4 * UNITS, UNITS, scale)
    draw_mark(canvas, palette)

    name, name_size = "Bajie", 250.0
    tagline, tracking = "CHARGING", 0.14
    name_box = ink_box(font_path, name, name_size, 0.0)
    probe = ink_box(font_path, tagline, 100.0, tracking)
    tagline_size = 100.0 * (name_box[2] - name_box[0]) / (probe[2] - probe[0])
    tagline_box = ink_box(font_path, tagline, tagline_size, tracking)

    # The gap runs from the name's baseline to the tagline's cap top, and the
    # descender of the "j" reaches into it.
    line_gap = 0.34 * name_size
    block_height = -name_box[1] + line_gap - tagline_box[1]
    name_baseline = (UNITS - block_height) / 2 - name_box[1]
    tagline_baseline = name_baseline + line_gap - tagline_box[1]

    text_left = UNITS + 64.0
    draw_text(
        canvas,
        font_path,
        name,
        origin=(text_left - name_box[0], name_baseline),
        size=name_size,
        colour=palette.word_primary,
    )
    draw_text(
        canvas,
        font_path,
        tagline,
        origin=(text_left - tagline_box[0], tagline_baseline),
        size=tagline_size,
        colour=palette.word_secondary,
        tracking=tracking,
    )
    return trim_width(canvas.image)


def render_logos(palette: Palette, font_path: Path) -> tuple[Image.Image, Image.Image]:
    """Render the logo at its normal and @2x heights from one master.

    The @2x width is rounded to an even number so that it is exactly twice
    the normal width.
    """
    scale = 2 * LOGO_HEIGHT * SUPERSAMPLE / UNITS
    master = render_logo_master(palette, font_path, scale)
    double_width = 2 * round(master.width * LOGO_HEIGHT / master.height)
    return (
        master.resize((double_width // 2, LOGO_HEIGHT), Image.Resampling.LANCZOS),
        master.resize((double_width, 2 * LOGO_HEIGHT), Image.Resampling.LANCZOS),
    )


def save_png(image: Image.Image, path: Path) -> None:
    """Write an image as a compressed PNG and shrink it losslessly if possible."""
    image.save(path, optimize=True)
    optipng = shutil.which("optipng")
    if optipng is None:
        _LOGGER.warning(
            "optipng is not installed, so %s is not optimised further", path
        )
    else:
        # -nc keeps the RGBA colour type, so every file has an alpha channel.
        # The command is the installed optipng on a file this script wrote.
        subprocess.run(  # noqa: S603
            [optipng, "-quiet", "-o7", "-nc", "-strip", "all", str(path)], check=True
        )
    _LOGGER.info("Wrote %s (%d bytes)", path, path.stat().st_size)


def main() -> None:
    """Parse the command line and write every brand image."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=DEFAULT_OUTPUT_DIR,
        help="folder for the PNG files (default: the integration's brand folder)",
    )
    parser.add_argument("--font", type=Path, help="path of DejaVuSans-Bold.ttf")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    output: Path = arguments.output_dir
    font_path = find_font(arguments.font)
    output.mkdir(parents=True, exist_ok=True)

    icon, icon_2x = render_icons(LIGHT)
    save_png(icon, output / "icon.png")
    save_png(icon_2x, output / "icon@2x.png")
    for prefix, palette in (("", LIGHT), ("dark_", DARK)):
        logo, logo_2x = render_logos(palette, font_path)
        save_png(logo, output / f"{prefix}logo.png")
        save_png(logo_2x, output / f"{prefix}logo@2x.png")


if __name__ == "__main__":
    main()
