"""Draw the Teams app icons: a speech bubble with an arrow (standard library only).

    python manifest/make_icons.py [OUTPUT_DIR]     # default: next to this script

``color.png`` is 192x192, opaque: a white bubble on VDAB blue, the arrow cut out in blue.
``outline.png`` is 32x32: the same bubble in white on a transparent background (Teams draws it
on its own colours), so every pixel is white and only the alpha channel varies.
"""

from __future__ import annotations

import struct
import sys
import zlib
from collections.abc import Sequence
from pathlib import Path

BLUE = (0x0B, 0x3B, 0x8C)
WHITE = (0xFF, 0xFF, 0xFF)
SAMPLES = 4  # per axis: 16 samples per pixel smooth the edges

Point = tuple[float, float]


def encode_png(width: int, height: int, pixels: Sequence[tuple[int, ...]], *, alpha: bool) -> bytes:
    """An 8-bit RGB (or RGBA, with ``alpha``) PNG; ``pixels`` row by row, top left first."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    channels = 4 if alpha else 3
    raw = bytearray()
    for y in range(height):
        raw.append(0)  # filter: none
        for pixel in pixels[y * width:(y + 1) * width]:
            raw.extend(pixel[:channels])
    header = struct.pack(">IIBBBBB", width, height, 8, 6 if alpha else 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + chunk(b"IEND", b""))


def _in_triangle(p: Point, a: Point, b: Point, c: Point) -> bool:
    def side(u: Point, v: Point) -> float:
        return (v[0] - u[0]) * (p[1] - u[1]) - (v[1] - u[1]) * (p[0] - u[0])

    sides = (side(a, b), side(b, c), side(c, a))
    return all(s >= 0 for s in sides) or all(s <= 0 for s in sides)


def _in_rounded_rect(p: Point, left: float, top: float, right: float, bottom: float, radius: float) -> bool:
    nearest_x = min(max(p[0], left + radius), right - radius)
    nearest_y = min(max(p[1], top + radius), bottom - radius)
    return (p[0] - nearest_x) ** 2 + (p[1] - nearest_y) ** 2 <= radius**2


def _in_symbol(p: Point) -> bool:
    """The symbol in its own unit box (0..1 wide, 0..0.95 high): a bubble minus a right arrow."""
    bubble = _in_rounded_rect(p, 0.0, 0.0, 1.0, 0.72, 0.16) or _in_triangle(p, (0.18, 0.68), (0.42, 0.68), (0.14, 0.95))
    arrow = (0.18 <= p[0] <= 0.56 and 0.30 <= p[1] <= 0.42) or _in_triangle(p, (0.52, 0.14), (0.52, 0.58), (0.82, 0.36))
    return bubble and not arrow


def coverage(size: int, symbol_share: float) -> list[float]:
    """How much of each pixel the symbol covers (0..1), the symbol ``symbol_share`` of the width, centred."""
    box = size * symbol_share
    left, top = (size - box) / 2, (size - box * 0.95) / 2

    def inside(x: float, y: float) -> bool:
        return _in_symbol(((x - left) / box, (y - top) / box))

    result = []
    for y in range(size):
        for x in range(size):
            corners = {inside(x, y), inside(x + 1, y), inside(x, y + 1), inside(x + 1, y + 1)}
            if len(corners) == 1:  # no edge crosses this pixel (every part of the symbol is wider than one)
                result.append(float(corners.pop()))
                continue
            offsets = [(i + 0.5) / SAMPLES for i in range(SAMPLES)]
            result.append(sum(inside(x + dx, y + dy) for dx in offsets for dy in offsets) / SAMPLES**2)
    return result


def color_icon() -> bytes:
    """192x192, opaque; the symbol keeps to the middle half, as Teams' icon guidance asks."""
    pixels = [tuple(round(b + (w - b) * c) for b, w in zip(BLUE, WHITE, strict=True)) for c in coverage(192, 0.56)]
    return encode_png(192, 192, pixels, alpha=False)


def outline_icon() -> bytes:
    """32x32, white on transparent."""
    return encode_png(32, 32, [(*WHITE, round(255 * c)) for c in coverage(32, 0.88)], alpha=True)


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else Path(__file__).resolve().parent
    out.mkdir(parents=True, exist_ok=True)
    (out / "color.png").write_bytes(color_icon())
    (out / "outline.png").write_bytes(outline_icon())
    print(f"wrote {out / 'color.png'} and {out / 'outline.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
