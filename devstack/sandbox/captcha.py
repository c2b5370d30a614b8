"""The captcha contract shared with the 2Captcha stand-in (docs/recipes.md).

Image captchas are stateless: a challenge id is random, its answer is derived from it with the
shared secret, so the same URL always gives the same bytes and the answer can be checked with
nothing stored. Token captchas accept `dbolt-captcha.<HMAC-SHA256(secret, sitekey)[:32]>`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from devstack.sandbox.png import Canvas

ANSWER_KEYWORD = "dbolt-answer"
TOKEN_PREFIX = "dbolt-captcha."  # noqa: S105 - the public shape of a token, no secret
ANSWER_DIGITS = 5
CHALLENGE = re.compile(r"^[0-9a-f]{16}$")

# 5 by 7 bitmaps of the digits, drawn so a person can read the captcha too.
_FONT = {
    "0": ("01110", "10001", "10011", "10101", "11001", "10001", "01110"),
    "1": ("00100", "01100", "00100", "00100", "00100", "00100", "01110"),
    "2": ("01110", "10001", "00001", "00010", "00100", "01000", "11111"),
    "3": ("11111", "00010", "00100", "00010", "00001", "10001", "01110"),
    "4": ("00010", "00110", "01010", "10010", "11111", "00010", "00010"),
    "5": ("11111", "10000", "11110", "00001", "00001", "10001", "01110"),
    "6": ("00110", "01000", "10000", "11110", "10001", "10001", "01110"),
    "7": ("11111", "00001", "00010", "00100", "01000", "01000", "01000"),
    "8": ("01110", "10001", "10001", "01110", "10001", "10001", "01110"),
    "9": ("01110", "10001", "10001", "01111", "00001", "00010", "01100"),
}
_SCALE = 4
_MARGIN = 8


def _mac(secret: str, message: str) -> bytes:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()


def expected_token(secret: str, sitekey: str) -> str:
    return (
        TOKEN_PREFIX + hmac.new(secret.encode(), sitekey.encode(), hashlib.sha256).hexdigest()[:32]
    )


def token_is_valid(secret: str, sitekey: str, token: str) -> bool:
    return hmac.compare_digest(token.strip(), expected_token(secret, sitekey))


def new_challenge() -> str:
    return secrets.token_hex(8)


def image_answer(secret: str, challenge: str) -> str:
    number = int.from_bytes(_mac(secret, f"image-captcha:{challenge}")[:8], "big")
    return str(number % 10**ANSWER_DIGITS).zfill(ANSWER_DIGITS)


def answer_is_right(secret: str, challenge: str, answer: str) -> bool:
    if not CHALLENGE.match(challenge):
        return False
    return hmac.compare_digest(answer.strip(), image_answer(secret, challenge))


def captcha_png(secret: str, challenge: str) -> bytes:
    """The digits drawn with a little deterministic jitter and noise, answer in a tEXt chunk."""
    answer = image_answer(secret, challenge)
    noise = _mac(secret, f"image-noise:{challenge}")
    glyph_width, glyph_height = 5 * _SCALE, 7 * _SCALE
    width = _MARGIN + len(answer) * (glyph_width + _MARGIN)
    height = glyph_height + 2 * _MARGIN
    canvas = Canvas(width, height, (238, 240, 232))
    for index in range(0, 24, 2):
        canvas.fill_rect(noise[index] % width, noise[index + 1] % height, 3, 3, (170, 176, 190))
    for position, digit in enumerate(answer):
        left = _MARGIN + position * (glyph_width + _MARGIN)
        top = _MARGIN + noise[24 + position] % 5 - 2
        for row, bits in enumerate(_FONT[digit]):
            for column, bit in enumerate(bits):
                if bit == "1":
                    canvas.fill_rect(
                        left + column * _SCALE, top + row * _SCALE, _SCALE, _SCALE, (40, 44, 70)
                    )
    return canvas.png({ANSWER_KEYWORD: answer})
