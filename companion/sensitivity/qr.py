"""QR codes that carry secrets: 2FA seeds, authenticator exports, wallet keys, Wi-Fi passwords.

zxing-cpp reads QR codes only (other symbologies are never secrets here) on the reduced image,
and on the full image for screenshots, where a code may be small. What a code holds is then
classified; a web address or plain text is not a finding. The explanation says what kind of
secret it is and for whom (the issuer, the network name), never the secret itself.

Every secret code is ``secret_qr``. A code that holds a credential (a 2FA seed, an authenticator
export, a Wi-Fi password, a wallet's spending key or recovery phrase) is ``credentials`` too: the
category names what the secret opens, wherever it is printed, as the text detector does for the
same secrets in words. A wallet's receive address is ``secret_qr`` only, at a lower confidence:
it spends nothing, but it ties the person to their funds.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple
from urllib.parse import parse_qs, unquote, urlsplit

from companion.model import Asset, Finding
from companion.pictures import is_image
from companion.sensitivity.base import ScanSettings, Subject, Verdict

NAME = "qr"
VERSION = "3"  # 3: credentials in codes also reported as such; payment URIs (EIP-681, BIP21)

_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_WIF = re.compile(rf"[5KL9c][{_BASE58}]{{50,51}}")  # private keys, uncompressed or compressed
_EXTENDED_PRIVATE = re.compile(rf"[xyzuvt]prv[{_BASE58}]{{100,112}}")
_HEX_KEY = re.compile(r"(0x)?[0-9a-fA-F]{64}")
_BTC_ADDRESS = re.compile(rf"(bc1[02-9ac-hj-np-z]{{11,71}}|[13][{_BASE58}]{{25,34}})")
_ETH_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_WIFI_FIELD = re.compile(r"(?<!\\)([TSPH]):((?:\\.|[^;\\])*)")


class QrSecret(NamedTuple):
    """What a code holds: how sure, what it is in words, and whether it is a credential."""

    confidence: float
    explanation: str
    credential: bool = True


ADDRESS_EXPLANATION = (
    "a wallet's receive address: not a key, but it ties you to your funds for anyone who sees it"
)
_URI_TAIL = re.compile(r"[@/?].*$", re.DOTALL)  # EIP-681's @chain and /function, BIP21's ?amount


def classify(text: str) -> QrSecret | None:
    """What secret ``text`` holds when it is worth flagging, else None."""
    stripped = text.strip()
    lowered = stripped.lower()
    if lowered.startswith("otpauth-migration://"):
        return QrSecret(
            0.99, "an authenticator app export (otpauth-migration): every 2FA secret in it"
        )
    if lowered.startswith("otpauth://"):
        return _otpauth(stripped)
    if lowered.startswith("wifi:"):
        return _wifi(stripped)
    return _wallet(stripped)


def _otpauth(text: str) -> QrSecret | None:
    parts = urlsplit(text)
    query = parse_qs(parts.query)
    if not query.get("secret"):
        return None
    label = unquote(parts.path.lstrip("/"))
    account_issuer = label.split(":", 1)[0] if ":" in label else label
    if "@" in account_issuer:  # an account name (an email), not an issuer: not repeated
        account_issuer = ""
    issuer = (query.get("issuer") or [account_issuer])[0]
    kind = parts.netloc.lower() or "otp"
    who = f" for {_short(issuer)!r}" if issuer else ""
    return QrSecret(0.98, f"a 2FA secret ({kind}){who}: anyone with this picture gets your codes")


def _wifi(text: str) -> QrSecret | None:
    fields = dict(_WIFI_FIELD.findall(text[5:]))
    if not fields.get("P") or fields.get("T", "").lower() == "nopass":
        return None
    network = fields.get("S", "").replace("\\", "")
    return QrSecret(0.9, f"the password of the Wi-Fi network {_short(network)!r}")


def _wallet(text: str) -> QrSecret | None:
    candidate = text.split(":", 1)[-1] if ":" in text[:12] else text
    candidate = _URI_TAIL.sub("", candidate.removeprefix("pay-"))
    if _EXTENDED_PRIVATE.fullmatch(candidate):
        return QrSecret(0.98, "a wallet's extended private key: it spends every address of it")
    if _WIF.fullmatch(candidate):
        return QrSecret(0.95, "a wallet private key (WIF): it spends the coins it holds")
    if _HEX_KEY.fullmatch(candidate):
        return QrSecret(0.8, "a 64-hex-digit key, as wallets print private keys")
    from companion.sensitivity.validators import find_seed_phrase

    seed = find_seed_phrase(re.findall(r"[^\W\d_]+", text))
    if seed is not None:
        return QrSecret(0.95, f"a wallet recovery phrase: {seed.count} of {seed.total} BIP39 words")
    if _ETH_ADDRESS.fullmatch(candidate) or _BTC_ADDRESS.fullmatch(candidate):
        return QrSecret(0.6, ADDRESS_EXPLANATION, credential=False)
    return None


def _short(text: str, limit: int = 40) -> str:
    text = "".join(c for c in text if c.isprintable())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class QrDetector:
    name = NAME
    version = VERSION

    def __init__(self) -> None:
        import zxingcpp

        self._zxing: Any = zxingcpp

    def applies_to(self, asset: Asset) -> bool:
        return is_image(asset)

    def detect(self, subject: Subject) -> Verdict:
        texts = self._read(subject.reduced())
        if not texts and self._worth_full_size(subject):
            texts = self._read(subject.full())
        if not texts:
            return Verdict(note=subject.problem() or "no QR code")
        found: list[Finding] = []
        for text in texts:
            secret = classify(text)
            if secret is None:
                continue
            categories = ("secret_qr", "credentials") if secret.credential else ("secret_qr",)
            for category in categories:
                finding = Finding(category, NAME, secret.confidence, secret.explanation)
                if finding not in found:
                    found.append(finding)
        if not found:
            plural = "s" if len(texts) > 1 else ""
            return Verdict(note=f"{len(texts)} QR code{plural}, none holding a secret")
        said = dict.fromkeys(f.explanation for f in found)
        return Verdict(tuple(found), "; ".join(said))

    def _read(self, image: Any) -> list[str]:
        if image is None:
            return []
        codes = self._zxing.read_barcodes(image, formats=self._zxing.BarcodeFormat.QRCode)
        return list(dict.fromkeys(code.text for code in codes if code.valid))

    @staticmethod
    def _worth_full_size(subject: Subject) -> bool:
        """Screenshots always (a code may be small); a HEIC seen through its 320 px thumbnail
        when the text gate saw something on it (or did not run), since a printed QR code is
        too small to read at that size and the full decode costs about a second."""
        if subject.asset.screenshot or subject.asset.name.lower().endswith(".png"):
            return True
        return bool(subject.cache.get("from_thumbnail")) and subject.cache.get("text_boxes", 1) >= 1


def load(settings: ScanSettings) -> QrDetector:
    return QrDetector()
