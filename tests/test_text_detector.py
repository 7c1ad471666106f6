"""The text detector on images drawn here: OCR (RapidOCR, offline), the gate, the validators
behind each finding, and explanations that never spell a secret out."""

from __future__ import annotations

import io
import random
import re
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("rapidocr")
pytest.importorskip("onnxruntime")

from PIL import Image, ImageDraw, ImageFont

from companion.model import Asset, AssetKind
from companion.pictures import Subject
from companion.sensitivity import text
from companion.sensitivity.base import ScanSettings, Verdict

_FONTS = Path("/usr/share/fonts/truetype/dejavu")
CARD = "4539 1488 0343 6467"
IBAN = "FR76 3000 6000 0112 3456 7890 189"
MRZ = (
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
)  # the ICAO Doc 9303 specimen
SEED = [  # 12 words of the BIP39 English list
    *("orbit", "velvet", "magnet", "hollow", "cradle", "pioneer"),
    *("basket", "thunder", "glimpse", "saddle", "ocean", "fringe"),
]
TIMES: dict[str, float] = {}


def _font(size: int) -> Any:
    """DejaVu Sans when the system has it (its accents read better), else Pillow's own font."""
    path = _FONTS / "DejaVuSans.ttf"
    if path.exists():
        return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size=size)


def _draw(
    lines: list[str],
    size: tuple[int, int] = (750, 1334),
    *,
    dark: bool = False,
    font_size: int = 30,
    columns: int = 1,
    header: tuple[str, ...] = (),
) -> Image.Image:
    """A screenshot: a status bar, ``header`` lines, then ``lines`` in ``columns`` (filled row
    by row)."""
    background, ink = ((0, 0, 0), (235, 235, 235)) if dark else ((255, 255, 255), (25, 25, 25))
    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    scale = size[0] / 750
    draw.text((int(40 * scale), int(20 * scale)), "9:41", fill=ink, font=_font(int(26 * scale)))
    font = _font(int(font_size * scale))
    step, width = int(font_size * 1.9 * scale), (size[0] - int(80 * scale)) // columns
    cells = [(0, n, line) for n, line in enumerate(header)]
    cells += [(i % columns, len(header) + i // columns, line) for i, line in enumerate(lines)]
    for column, row, line in cells:
        position = (int(40 * scale) + column * width, int(120 * scale) + row * step)
        draw.text(position, line, fill=ink, font=font)
    return image


def _noise(width: int, height: int, *, seed: int) -> Image.Image:
    """A photo-like background: a gradient under grain, no text."""
    gradient = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    rng = random.Random(seed)
    tint = Image.new("RGB", (width, height), tuple(rng.randrange(60, 200) for _ in range(3)))
    grain = Image.effect_noise((width, height), 40).convert("RGB")
    return Image.blend(Image.blend(gradient, tint, 0.4), grain, 0.3)


def _subject(image: Image.Image, *, screenshot: bool = True) -> Subject:
    buffer = io.BytesIO()
    if screenshot:
        image.save(buffer, format="PNG")
        path = "DCIM/100APPLE/IMG_0001.PNG"
    else:
        image.save(buffer, format="JPEG", quality=90)
        path = "DCIM/100APPLE/IMG_0002.JPG"
    data = buffer.getvalue()
    asset = Asset(
        source="test",
        path=path,
        size=len(data),
        mtime_ns=0,
        kind=AssetKind.PHOTO,
        screenshot=screenshot,
    )
    return Subject(asset, data)


@pytest.fixture(scope="module")
def detector() -> text.TextDetector:
    return text.load(ScanSettings())


def _scan(detector: text.TextDetector, name: str, subject: Subject) -> Verdict:
    started = time.perf_counter()
    verdict = detector.detect(subject)
    TIMES[name] = time.perf_counter() - started
    return verdict


def _only(verdict: Verdict, category: str) -> str:
    """The explanation of the one finding of ``category``; fails with the note otherwise."""
    found = [f for f in verdict.findings if f.category == category]
    assert len(found) == 1, verdict
    assert found[0].detector == "text"
    assert 0 < found[0].confidence <= 1
    return found[0].explanation


def _hides(verdict: Verdict, *secrets: str) -> None:
    said = " ".join([verdict.note, *(f.explanation for f in verdict.findings)])
    for secret in secrets:
        assert secret not in said
        assert secret.replace(" ", "") not in said.replace(" ", "")


# --- screenshots ------------------------------------------------------------------------------


def test_card_number_in_a_screenshot(detector: text.TextDetector) -> None:
    subject = _subject(_draw(["Wallet", "Visa Classic", CARD, "Exp 12/27", "JEAN DUPONT"]))
    verdict = _scan(detector, "card 750x1334", subject)
    explanation = _only(verdict, "payment_card")
    assert explanation.startswith("card number 4539 •••• •••• 6467 passes the Luhn check (Visa)")
    assert "expiry date" in explanation
    assert verdict.note.startswith("OCR: ")
    assert "card number found" in verdict.note
    assert CARD in subject.cache["text"]  # kept in memory for the other detectors
    _hides(verdict, CARD)


@pytest.mark.slow
def test_card_number_split_over_two_lines_in_a_dark_full_size_screenshot(
    detector: text.TextDetector,
) -> None:
    lines = [
        "Cards",
        "Visa Debit",
        "4539 1488",
        "0343 6467",
        "CVV 123",
        "Valid thru 12/27",
    ]
    subject = _subject(_draw(lines, (1170, 2532), dark=True))
    verdict = _scan(detector, "card split, dark 1170x2532", subject)
    explanation = _only(verdict, "payment_card")
    assert "4539 •••• •••• 6467" in explanation
    assert "security code" in explanation
    _hides(verdict, CARD)


@pytest.mark.slow
def test_iban_in_a_screenshot(detector: text.TextDetector) -> None:
    lines = [
        "Relevé d'identité bancaire",
        "Titulaire : M. JEAN DUPONT",
        "IBAN",
        IBAN,
        "BIC AGRIFRPP",
    ]
    verdict = _scan(detector, "iban", _subject(_draw(lines, font_size=26)))
    explanation = _only(verdict, "bank_details")
    assert explanation.startswith("IBAN FR76 ")
    assert "passes the mod-97 check" in explanation
    assert verdict.findings[0].confidence == 0.98  # the bank words agree
    _hides(verdict, IBAN, "3000 6000 0112 3456 7890")


@pytest.mark.slow
def test_seed_phrase_in_a_numbered_two_column_list(detector: text.TextDetector) -> None:
    cells = [f"{i + 1}. {SEED[i]}" for i in range(12)]
    rows = [cells[i // 2 + (6 if i % 2 else 0)] for i in range(12)]  # 1 7 / 2 8 / ...
    header = ("Recovery phrase", "Write these words down")
    subject = _subject(_draw(rows, columns=2, header=header))
    verdict = _scan(detector, "seed phrase", subject)
    explanation = _only(verdict, "credentials")
    assert explanation.startswith(
        "12 of 12 words are from the BIP39 English list: a wallet recovery phrase; "
        "second check agrees"
    )
    assert verdict.findings[0].confidence == 0.98
    _hides(verdict, *SEED)


@pytest.mark.slow
def test_backup_codes_in_a_screenshot(detector: text.TextDetector) -> None:
    rng = random.Random(7)
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    codes = ["".join(rng.choice(alphabet) for _ in range(4)) for _ in range(16)]
    pairs = [f"{codes[i]}-{codes[i + 1]}" for i in range(0, 16, 2)]
    header = ("Backup codes", "Keep them somewhere safe.")
    verdict = _scan(detector, "backup codes", _subject(_draw(pairs, columns=2, header=header)))
    explanation = _only(verdict, "credentials")
    assert explanation.startswith("8 one-time backup codes next to 'backup codes'; second check")
    _hides(verdict, *pairs)


def test_password_in_a_note(detector: text.TextDetector) -> None:
    lines = ["Notes", "Box internet", "Wi-Fi password: Kx7mQ2pL94", "See you tomorrow"]
    verdict = _scan(detector, "password", _subject(_draw(lines)))
    assert _only(verdict, "credentials") == (
        "a Wi-Fi password next to 'password' and 'Wi-Fi'; "
        "second check agrees: the value mixes 3 kinds of characters"
    )
    _hides(verdict, "Kx7mQ2pL94")


@pytest.mark.slow
def test_prescription(detector: text.TextDetector) -> None:
    lines = [
        "Dr Claire Martin",
        "Médecin généraliste",
        "Ordonnance du 12/03/2025",
        "Doliprane 1000 mg",
        "3 comprimés par jour pendant 5 jours",
        "Signature",
    ]
    verdict = _scan(detector, "prescription", _subject(_draw(lines)))
    explanation = _only(verdict, "medical")
    assert "'ordonnance'" in explanation
    assert "medical document found" in verdict.note


def test_french_social_security_number(detector: text.TextDetector) -> None:
    lines = ["Carte Vitale", "Mme CLAIRE MARTIN", "2 69 05 49 588 157 80"]
    verdict = _scan(detector, "social security number", _subject(_draw(lines)))
    explanation = _only(verdict, "identity_document")
    assert explanation.startswith("French social security number ••• passes its key check; ")
    _hides(verdict, "2 69 05 49 588 157 80")


# --- a photographed passport: the gate lets it through, OCR reads its MRZ at 2048 px ------------


@pytest.mark.slow
def test_passport_photo_passes_the_gate_and_its_mrz_reads(detector: text.TextDetector) -> None:
    rng = random.Random(3)
    image = Image.new("RGB", (2400, 1700), (214, 205, 190))
    draw = ImageDraw.Draw(image)
    for _ in range(400):  # a little paper texture
        x, y = rng.randrange(2400), rng.randrange(1700)
        draw.point((x, y), fill=(200, 190, 175))
    draw.rectangle((120, 300, 620, 1000), fill=(160, 150, 140))  # the portrait
    labels = [
        "PASSPORT",
        "Surname ERIKSSON",
        "Given names ANNA MARIA",
        "Nationality UTOPIAN",
        "Date of birth 12 AUG 1974",
        "Date of expiry 15 APR 2012",
    ]
    label_font = _font(52)
    for index, label in enumerate(labels):
        draw.text((700, 300 + index * 110), label, fill=(40, 40, 60), font=label_font)
    # A proportional font: with monospaced ones (DejaVu Sans Mono, Noto Sans Mono, Nimbus Mono)
    # the OCR reads the O of "UTO" before digits as a zero, and find_mrz fixes no misread.
    mrz_font = _font(66)
    for index, line in enumerate(MRZ):
        draw.text((90, 1300 + index * 110), line, fill=(20, 20, 20), font=mrz_font)
    subject = _subject(image, screenshot=False)
    verdict = _scan(detector, "passport photo 2400x1700", subject)
    assert subject.cache["text_boxes"] >= text.GATE_LINES
    explanation = _only(verdict, "identity_document")
    assert explanation.startswith("passport machine-readable zone (UTO), ")
    assert "check digits pass; second check" in explanation
    assert verdict.findings[0].confidence >= 0.9
    _hides(verdict, "L898902C3", "ERIKSSON<<ANNA")


@pytest.mark.slow
def test_card_photographed_sideways_is_turned_upright(detector: text.TextDetector) -> None:
    """A portrait shot stored landscape with EXIF orientation 6, as the camera writes it."""
    upright = _noise(1512, 2016, seed=5)
    draw = ImageDraw.Draw(upright)
    draw.rounded_rectangle((150, 700, 1360, 1460), radius=50, fill=(30, 60, 120))
    for position, line, size in [
        ((230, 760), "MA BANQUE", 48),
        ((230, 1060), CARD, 76),
        ((230, 1220), "VALID THRU 12/27", 48),
        ((230, 1340), "JEAN DUPONT", 48),
        ((1100, 1340), "VISA", 60),
    ]:
        draw.text(position, line, fill="white", font=_font(size))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    buffer = io.BytesIO()
    upright.rotate(90, expand=True).save(buffer, format="JPEG", quality=90, exif=exif.tobytes())
    data = buffer.getvalue()
    asset = Asset("test", "DCIM/100APPLE/IMG_0004.JPG", len(data), 0, AssetKind.PHOTO)
    subject = Subject(asset, data)
    verdict = _scan(detector, "card photo, EXIF-rotated 2016x1512", subject)
    assert subject.cache["text_boxes"] >= text.GATE_LINES
    assert "4539 •••• •••• 6467" in _only(verdict, "payment_card")
    _hides(verdict, CARD)


# --- negatives ----------------------------------------------------------------------------------


def test_chat_is_nothing_private(detector: text.TextDetector) -> None:
    lines = [
        "Messages",
        "Are we still on for dinner tonight?",
        "Yes! 8 pm at the usual place",
        "Can you bring the dessert?",
        "Sure, see you there",
        "On a reçu le colis, merci !",
    ]
    verdict = _scan(detector, "chat", _subject(_draw(lines)))
    assert verdict.findings == ()
    assert verdict.note.endswith("; nothing private")


@pytest.mark.slow
def test_receipt_numbers_that_fail_luhn_are_not_cards(detector: text.TextDetector) -> None:
    lines = [
        "SUPERMARCHE DU CENTRE",
        "Ticket 4539 1488 0343 6468",
        "Transaction 1234567890123456",
        "Carte ****6467",
        "TOTAL 42,50 EUR",
        "Ref 8800 1234 5678 9012",
    ]
    verdict = _scan(detector, "receipt", _subject(_draw(lines, font_size=28)))
    assert verdict.findings == ()


@pytest.mark.slow
def test_url_is_nothing_private(detector: text.TextDetector) -> None:
    lines = [
        "example.com",
        "https://www.example.com/account/reset-password?token=ab12cd34ef",
        "Reset your password",
        "Enter the email address of your account",
    ]
    verdict = _scan(detector, "url", _subject(_draw(lines, font_size=22)))
    assert verdict.findings == ()


def test_photo_without_text_stops_at_the_gate(detector: text.TextDetector) -> None:
    rng = random.Random(11)
    image = _noise(1600, 1200, seed=11)
    draw = ImageDraw.Draw(image)
    for _ in range(12):  # a few soft shapes, like out-of-focus objects
        x, y, r = rng.randrange(1600), rng.randrange(1200), rng.randrange(40, 200)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(rng.randrange(256), 120, 90))
    subject = _subject(image, screenshot=False)
    verdict = _scan(detector, "photo without text (gate)", subject)
    assert verdict.findings == ()
    assert re.fullmatch(r"[0-3] text lines?: below the gate", verdict.note)
    assert "text" not in subject.cache  # OCR never ran
    assert subject.cache["text_boxes"] < text.GATE_LINES


def test_undecodable_bytes_are_a_note_not_a_crash(detector: text.TextDetector) -> None:
    asset = Asset("test", "DCIM/100APPLE/IMG_0003.JPG", 9, 0, AssetKind.PHOTO, screenshot=False)
    verdict = detector.detect(Subject(asset, b"not a jpg"))
    assert verdict.findings == ()
    assert verdict.note == "not a readable picture (unknown format)"


def test_an_ocr_error_is_a_note_not_a_crash(
    detector: text.TextDetector, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("ONNXRuntimeError: bad input\ndetails")

    text._engine()
    monkeypatch.setattr(text, "_ENGINE", broken)  # the third-party engine, not our code
    verdict = detector.detect(_subject(_draw(["Hello"])))
    assert verdict == Verdict(note="OCR failed: ONNXRuntimeError: bad input")


# --- the engine ---------------------------------------------------------------------------------


def test_engine_is_shared_and_runs_on_one_thread(detector: text.TextDetector) -> None:
    detector.detect(_subject(_draw(["Hello", "World"])))
    engine = text._engine()
    assert engine is text._engine()
    # RapidOCR keeps its onnxruntime InferenceSession on each model's wrapper.
    for model in (engine.text_det, engine.text_rec):
        options = model.session.session.get_session_options()
        assert options.intra_op_num_threads == 1
    assert engine.text_cls is None  # orientation is never classified: screenshots are upright


def test_ocr_times(detector: text.TextDetector) -> None:
    """Runs last: prints what each image took (pytest -s shows it)."""
    for name, seconds in TIMES.items():
        print(f"{name}: {seconds:.2f} s")


# --- rules on OCR lines (no image) --------------------------------------------------------------


def _categories(lines: list[str]) -> set[str]:
    return {f.category for f in text.examine(lines)}


def test_keyword_rules() -> None:
    # bank details need a value: an account number with its bank code (no IBAN here)
    assert _categories(["RIB", "Numéro de compte 00012345678"]) == set()
    assert _categories(["Code banque : 30006", "Numéro de compte : 00012345678"]) == {
        "bank_details"
    }
    assert _categories(["Sort code", "12-34-56", "Account number", "31926819"]) == {"bank_details"}
    assert _categories(["BIC / SWIFT"]) == set()  # one idea, said twice
    identity = ["CARTE NATIONALE D'IDENTITÉ", "Nom : MARTIN", "Prénoms : Claire", "Sexe : F"]
    assert _categories([*identity, "Né(e) le 12.03.1985"]) == {"identity_document"}
    assert _categories([*identity, "Né(e) le"]) == set()  # the labels of an empty form
    assert _categories(["passport", "carte vitale", "permis de conduire"]) == set()  # no field
    assert _categories(["Analyses de sang", "Hémoglobine 14,2", "Cholestérol 1,8"]) == {"medical"}
    assert _categories(["Patient", "Results", "Dr House"]) == set()  # no strong cue
    assert _categories(["Laboratoire Bio", "Résultats", "Glycémie 0,9"]) == {"medical"}
    assert _categories(["Mot de passe", "oublié ?"]) == set()  # a keyword alone
    assert _categories(["Codes de secours", *[f"{n}8-{n}1" for n in range(100, 105)]]) == {
        "credentials"
    }


@pytest.mark.parametrize(
    "lines",
    [
        ["Sign in", "Email*", "alice.7@example.com", "Password*", "••••••••", "Forgot password?"],
        ["Connexion", "Mot de passe (obligatoire)", "Mot de passe oublié ?", "Se connecter"],
        ["Anmelden", "Passwort (erforderlich)", "Passwort vergessen?", "Einloggen"],
        ["Password", "Forgot-password1?"],  # a link's text is not the field's value
    ],
)
def test_a_login_page_without_a_password_is_not_credentials(lines: list[str]) -> None:
    assert _categories(lines) == set()


@pytest.mark.parametrize(
    "lines",
    [
        ["Ajouter un bénéficiaire", "IBAN", "FR76 XXXX XXXX XXXX", "BIC", "ex. BNPAFRPP"],
        ["Add a payee", "Account number", "Sort code", "BIC / SWIFT", "NWBKGB2L"],
        ["Empfänger hinzufügen", "IBAN", "DE89 3704 0044 0532 0130 01", "BIC"],  # mod 97 fails
    ],
)
def test_an_empty_payee_form_is_not_bank_details(lines: list[str]) -> None:
    assert _categories(lines) == set()


@pytest.mark.parametrize(
    ("lines", "words"),
    [
        (["Apple ID", "7Q2M-X9DF-K3LP-ZR8T-WN4C-HV6B-J5YS"], "Apple account recovery key"),
        (["BitLocker", "013574-440000-000055-720885", "000033-008547-132000-000099"], "BitLocker"),
        (["-----BEGIN OPENSSH PRIVATE KEY-----", "b3BlbnNzaC1rZXktdjEAAAAA"], "SSH private key"),
        (["Gäste-WLAN", "Netzwerk: Casa-Rossi", "Passwort: Tr0ub4dor&3"], "Wi-Fi password"),
        (["Wi-Fi ospiti", "Rete: Casa", "Password: sole-mare-42"], "Wi-Fi password"),
        (["Red: Casa", "Contraseña", "Gat0s&Perr0s"], "Wi-Fi password"),
        (["Authenticator", "Setup key", "jbsw y3dp ehpk 3pxp"], "2FA setup key"),
        (["Codici di backup", *[f"{n}8-{n}1" for n in range(100, 108)]], "backup codes"),
    ],
)
def test_printed_secrets_are_credentials(lines: list[str], words: str) -> None:
    findings = text.examine(lines)
    assert [f.category for f in findings] == ["credentials"]
    assert words in findings[0].explanation
    assert not any(secret in findings[0].explanation for secret in ("Tr0ub4dor", "7Q2M-X9DF"))


def test_accents_and_case_do_not_matter_but_words_must_be_whole() -> None:
    assert _categories(["ORDONNANCE", "POSOLOGIE", "comprimes"]) == {"medical"}
    assert _categories(["Relev d'identit bancaire", "code guichet 00001", "numero de compte"]) == (
        set()  # labels alone
    )
    assert _categories(["code guichet 00001", "numero de compte 0001234567"]) == {"bank_details"}
    assert _categories(["ordonnancement", "posologies", "comprimésx"]) == set()


@pytest.mark.parametrize(
    ("nir", "ok"),
    [
        ("269054958815780", True),
        ("2 69 05 49 588 157 80", True),
        ("269054958815781", False),
        ("1 85 05 2A 006 084 35", True),  # Corsica: 2A counts as 19
        ("1 85 05 2B 006 084 62", True),  # and 2B as 18
        ("1 85 05 2C 006 084 62", False),
    ],
)
def test_nir_key(nir: str, ok: bool) -> None:
    assert text.nir_ok(nir) is ok


def test_a_bare_fifteen_digit_run_needs_a_social_security_hint() -> None:
    assert not text.find_nir("Commande 269054958815780")
    assert text.find_nir("269054958815780", hinted=True)


def test_codes_and_passwords() -> None:
    assert text.count_codes(["1. 1234-5678", "2. 8765-4321", "a1b2c3d4   e5f6g7h8"]) == 4
    assert text.count_codes(["Hello world", "abcdefgh"]) == 0  # a code holds a digit
    assert text.password_like("Tr0ub4dor&3")
    assert not text.password_like("••••••••")
    assert not text.password_like("https://ex.com/a1")
    assert not text.password_like("correcthorse")


def test_a_card_number_glued_to_its_label_or_to_an_expiry_is_still_read() -> None:
    glued = text.examine(["Numéro de cart3530 0821 9449 7302", "Date d'expiration 11/29"])
    assert [f.category for f in glued] == ["payment_card"]
    assert "3530 •••• •••• 7302" in glued[0].explanation
    # a row joined from pieces runs the expiry into the number; the pieces keep them apart
    row = ["EXPIRE FIN 04/29 4970 9689 6280 0302 12"]
    assert text.examine(row) == ()
    found = text.examine(row, ["EXPIRE FIN 04/29", "4970 9689 6280 0302", "12"])
    assert [f.category for f in found] == ["payment_card"]
    assert text.examine(["Order ABC12345678 shipped", "Tracking 1Z999AA10123456784"]) == ()
