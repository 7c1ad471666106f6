"""Private shots planted in the simulated camera roll, for the sensitivity checks to find.

People photograph things they should not keep in a camera roll that syncs and gets shared: a
payment card, a two-factor QR code, a wallet's recovery words, and pictures taken at home whose
GPS tags say where they live. Each planted image here is drawn large and clear (dark text on a
light card, Pillow's scalable default font) so that OCR and QR readers can find it, and carries
only test data: a Luhn-valid test card number, the otpauth example secret from the key-URI
format documentation, a published BIP39 test-vector phrase, a made-up home in a Paris street.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from PIL import Image, ImageDraw, ImageFont


class Planted(StrEnum):
    """What a planted shot shows; the values are the labels ``SamplePhone.planted`` carries."""

    PAYMENT_CARD = "payment_card"
    SECRET_QR = "secret_qr"  # noqa: S105 (a label, not a secret)
    PRIVATE_PLACE = "private_place"
    CREDENTIALS = "credentials"


CARD_NUMBER: Final = "4539 1488 0343 6467"
CARD_HOLDER: Final = "DEMO CARDHOLDER"
CARD_EXPIRY: Final = "09/29"
TOTP_URI: Final = "otpauth://totp/Example:alice@example.com?secret=JBSWY3DPEHPK3PXP&issuer=Example"
# A BIP39 test vector (valid checksum): a wallet's recovery words, known to be worthless.
SEED_WORDS: Final = (
    *("legal", "winner", "thank", "year", "wave", "sausage"),
    *("worth", "useful", "legal", "winner", "thank", "yellow"),
)
# A residential street in Paris' 13th arrondissement. Both values are exact in the degrees,
# minutes and hundredths of seconds EXIF keeps, so the tag reads back as this very point.
HOME: Final = (48.8275, 2.3495)

_INK: Final = (28, 28, 30)
_PAPER: Final = (242, 242, 247)
_CARD: Final = (226, 232, 240)
_QR_SCALE: Final = 12


def payment_card(size: tuple[int, int]) -> Image.Image:
    """A wallet-style screenshot: one big card with number, holder and expiry."""
    image, draw = _screen(size, "Cards")
    width, height = size
    top = height // 4
    draw.rounded_rectangle((40, top, width - 40, top + 640), radius=40, fill=_CARD)
    draw.text((90, top + 60), "VISA DEBIT", font=_font(64), fill=_INK)
    draw.text((90, top + 260), CARD_NUMBER, font=_font(84), fill=_INK)
    draw.text((90, top + 420), CARD_HOLDER, font=_font(60), fill=_INK)
    draw.text((90, top + 510), f"VALID THRU {CARD_EXPIRY}", font=_font(56), fill=_INK)
    return image


def secret_qr(size: tuple[int, int]) -> Image.Image:
    """A 'set up two-factor authentication' screenshot whose QR code holds ``TOTP_URI``."""
    import segno

    image, draw = _screen(size, "Two-factor setup")
    draw.text((60, 300), "Scan this code with", font=_font(60), fill=_INK)
    draw.text((60, 380), "your authenticator app", font=_font(60), fill=_INK)
    left, top, scale = qr_layout(size)
    modules = segno.make(TOTP_URI, error="m").matrix
    side = len(modules) * scale
    draw.rectangle(
        (left - 4 * scale, top - 4 * scale, left + side + 4 * scale, top + side + 4 * scale),
        fill=(255, 255, 255),
    )
    for row, line in enumerate(modules):
        for column, dark in enumerate(line):
            if dark:
                x, y = left + column * scale, top + row * scale
                draw.rectangle((x, y, x + scale - 1, y + scale - 1), fill=(0, 0, 0))
    draw.text((60, top + side + 120), "Key: JBSWY3DPEHPK3PXP", font=_font(56), fill=_INK)
    return image


def qr_layout(size: tuple[int, int]) -> tuple[int, int, int]:
    """Where ``secret_qr`` draws the code: left and top pixel of the first module, module size."""
    return 120, size[1] // 4, _QR_SCALE


def recovery_words(size: tuple[int, int]) -> Image.Image:
    """A wallet app's 'write down your recovery phrase' screen: twelve numbered words."""
    image, draw = _screen(size, "Recovery phrase")
    draw.text((60, 300), "Write these 12 words down", font=_font(60), fill=_INK)
    top = 460
    draw.rounded_rectangle((40, top, size[0] - 40, top + 1280), radius=40, fill=_CARD)
    for index, word in enumerate(SEED_WORDS):
        column, row = divmod(index, 6)
        x, y = 90 + column * (size[0] // 2 - 30), top + 60 + row * 200
        draw.text((x, y), f"{index + 1}. {word}", font=_font(68), fill=_INK)
    return image


def _screen(size: tuple[int, int], title: str) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    """A light app screen with a large title: what every planted screenshot starts from."""
    image = Image.new("RGB", size, _PAPER)
    draw = ImageDraw.Draw(image)
    draw.text((60, 150), title, font=_font(88), fill=_INK)
    return image, draw


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    # Pillow's built-in scalable font: no font file to ship, same glyphs everywhere.
    return ImageFont.load_default(size=size)
