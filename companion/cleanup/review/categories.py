"""Each category of the scan as the review page names and explains it.

The names are the scan's stable category names (docs/scan.md). The cleanup layer does not import
the sensitivity filter (they are siblings), so the order and the words live here, for the page;
a category this table does not know still shows, under its own name, after the known ones.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Category:
    name: str
    title: str
    about: str
    blurred: bool = False  # its thumbnails are blurred until the person clicks one


KNOWN = (
    Category(
        "nudity",
        "Nudity",
        "Photos and videos that seem to show nudity. They stay blurred until you click one.",
        blurred=True,
    ),
    Category(
        "identity_document",
        "Identity documents",
        "Passports, identity cards, residence permits, driving licences, health insurance, "
        "student and press cards, with or without the machine-readable lines at the bottom: "
        "a copy is what someone needs to pass for you.",
    ),
    Category(
        "payment_card",
        "Payment cards",
        "Card numbers that pass the check banks use: with the expiry date, enough to pay online.",
    ),
    Category(
        "bank_details",
        "Bank details",
        "IBANs and bank statements.",
    ),
    Category(
        "credentials",
        "Passwords and recovery codes",
        "Passwords (typed or written on a sticky note), Wi-Fi passwords, two-factor setup keys "
        "and backup codes, recovery keys (Apple, BitLocker, FileVault) and wallet recovery "
        "phrases. A QR code holding one shows here and under QR codes holding a secret.",
    ),
    Category(
        "secret_qr",
        "QR codes holding a secret",
        "Two-factor set-up codes, wallet keys and Wi-Fi passwords, and wallet receive "
        "addresses: scanning the picture is enough to copy them. A code holding a password or a "
        "key also shows under passwords and recovery codes.",
    ),
    Category(
        "private_place",
        "Private places",
        "Taken at a place you declared private: the photo's position tells where it is.",
    ),
    Category(
        "medical",
        "Medical papers",
        "Prescriptions, lab results and health insurance papers.",
    ),
    Category(
        "screenshot",
        "Screenshots",
        "Screenshots among the photos above: they often hold messages and codes.",
    ),
    Category(
        "hidden",
        "In the Hidden album",
        "Photos you already hid in the Photos app.",
    ),
    Category(
        "faces",
        "Faces",
        "Photos above that show faces.",
    ),
)
_BY_NAME = {category.name: category for category in KNOWN}


def describe(name: str) -> Category:
    """The category's words; an unknown name is shown as it is, with no explanation."""
    return _BY_NAME.get(name) or Category(name, name.replace("_", " ").capitalize(), "")


def order(name: str) -> tuple[int, str]:
    """Sort key: the known categories in the table's order, then the others by name."""
    position = next((i for i, c in enumerate(KNOWN) if c.name == name), len(KNOWN))
    return position, name
