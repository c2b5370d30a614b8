"""How the stand-in "solves" captchas without OCR or humans.

The sandbox directories cooperate: an image captcha carries its own answer in a PNG `tEXt`
chunk, and a token widget's valid token is an HMAC of its site key under a secret both sides
know. The sandbox imports `captcha_token` from here to verify what the worker submits.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ANSWER_KEYWORD = b"dbolt-answer"
TOKEN_PREFIX = "dbolt-captcha."  # noqa: S105 - a public prefix, not a secret

# 2Captcha refuses images over 100 kB (ERROR_TOO_BIG_CAPTCHA_FILESIZE).
MAX_IMAGE_BYTES = 100 * 1024

_IMAGE_SIGNATURES = (PNG_SIGNATURE, b"\xff\xd8\xff", b"GIF87a", b"GIF89a")


def captcha_token(secret: str, sitekey: str) -> str:
    """The token the stand-in issues for `sitekey`, and the one the sandbox accepts."""
    digest = hmac.new(secret.encode(), sitekey.encode(), hashlib.sha256).hexdigest()
    return f"{TOKEN_PREFIX}{digest[:32]}"


def png_answer(image: bytes) -> str | None:
    """The text of the PNG's `tEXt` chunk keyed `dbolt-answer`; None when there is none."""
    if not image.startswith(PNG_SIGNATURE):
        return None
    position = len(PNG_SIGNATURE)
    while position + 8 <= len(image):
        length, chunk_type = struct.unpack(">I4s", image[position : position + 8])
        start = position + 8
        end = start + length
        if end + 4 > len(image):  # truncated: a chunk must be followed by its CRC
            return None
        if chunk_type == b"tEXt":
            keyword, separator, text = image[start:end].partition(b"\0")
            if separator and keyword == ANSWER_KEYWORD:
                # tEXt is Latin-1 by the PNG specification.
                return text.decode("latin-1")
        if chunk_type == b"IEND":
            return None
        position = end + 4
    return None


def is_supported_image(image: bytes) -> bool:
    """PNG, JPEG or GIF, the formats 2Captcha takes for normal captchas."""
    return image.startswith(_IMAGE_SIGNATURES)


def decode_image_body(body: str) -> bytes | None:
    """A base64 image body, with or without a `data:` URI prefix (2Captcha accepts both).

    None when it is not base64 at all.
    """
    if body.startswith("data:"):
        _, _, body = body.partition(",")
    try:
        # Line breaks are common in base64 bodies and harmless; anything else is not base64.
        return base64.b64decode("".join(body.split()), validate=True)
    except (binascii.Error, ValueError):
        return None
