"""A minimal PNG writer (8-bit RGB, zlib + struct), so the sandbox ships no binary files.

Used for the sample logo and the image captcha, whose answer rides in a `tEXt` chunk.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping

RGB = tuple[int, int, int]
SIGNATURE = b"\x89PNG\r\n\x1a\n"


class Canvas:
    def __init__(self, width: int, height: int, background: RGB) -> None:
        self.width = width
        self.height = height
        self.pixels = bytearray(bytes(background) * (width * height))

    def set(self, x: int, y: int, colour: RGB) -> None:
        if 0 <= x < self.width and 0 <= y < self.height:
            offset = (y * self.width + x) * 3
            self.pixels[offset : offset + 3] = bytes(colour)

    def fill_rect(self, x: int, y: int, width: int, height: int, colour: RGB) -> None:
        for row in range(y, y + height):
            for column in range(x, x + width):
                self.set(column, row, colour)

    def png(self, text: Mapping[str, str] | None = None) -> bytes:
        stride = self.width * 3
        # Filter type 0 (None) before every scanline.
        raw = b"".join(
            b"\x00" + bytes(self.pixels[row * stride : (row + 1) * stride])
            for row in range(self.height)
        )
        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        chunks = [_chunk(b"IHDR", header)]
        for keyword, value in (text or {}).items():
            chunks.append(
                _chunk(b"tEXt", keyword.encode("latin-1") + b"\x00" + value.encode("latin-1"))
            )
        chunks.append(_chunk(b"IDAT", zlib.compress(raw, 9)))
        chunks.append(_chunk(b"IEND", b""))
        return SIGNATURE + b"".join(chunks)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def text_chunks(data: bytes) -> dict[str, str]:
    """The tEXt chunks of a PNG: what the 2Captcha stand-in reads, and the tests too."""
    if not data.startswith(SIGNATURE):
        raise ValueError("not a PNG")
    found: dict[str, str] = {}
    offset = len(SIGNATURE)
    while offset + 8 <= len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        if kind == b"tEXt":
            keyword, _, value = body.partition(b"\x00")
            found[keyword.decode("latin-1")] = value.decode("latin-1")
        offset += 12 + length
    return found


def sample_logo() -> bytes:
    """A 96 px bluebird on a sky background: a logo a demo business can point logo_url at."""
    size = 96
    canvas = Canvas(size, size, (222, 238, 252))
    for y in range(size):
        for x in range(size):
            if (x - 44) ** 2 + (y - 52) ** 2 <= 26**2:
                canvas.set(x, y, (36, 87, 166))  # body
            if (x - 44) ** 2 + (y - 60) ** 2 <= 14**2 and y > 56:
                canvas.set(x, y, (244, 246, 250))  # belly
            if 68 <= x <= 82 and abs(y - 46) <= (82 - x) // 3:
                canvas.set(x, y, (240, 160, 40))  # beak
    canvas.fill_rect(56, 40, 5, 5, (20, 24, 32))  # eye
    return canvas.png({"Title": "Sample logo"})
