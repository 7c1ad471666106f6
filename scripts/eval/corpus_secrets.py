"""Scenes of issue-16's classes: printed recovery keys, Wi-Fi cards, 2FA set-up pages, wallet
receive screens, and the login pages and empty payee forms that must stay silent. Languages:
English, French, German, Spanish, Italian; every value is made here, in code.
"""

from __future__ import annotations

import base64
import string
from random import Random

import corpus_content as content
from corpus_draw import FontBook, Item, Screen, paper, photo_size, photograph, qr_image, wrap
from PIL import ImageDraw

from companion.sensitivity import validators

LANGS = ("en", "fr", "de", "es", "it")
_ALNUM = string.ascii_uppercase + string.digits


def _item(s: Screen, what: str, categories: tuple[str, ...], lang: str) -> Item:
    return Item(s.image, what, categories, lang, screenshot=True, fmt="png")


def _say(lang: str, **words: str) -> str:
    return words[lang]


def _qr(s: Screen, payload: str) -> None:
    code = qr_image(payload, s.px(s.rng.choice((3, 4))))
    if code.width > s.size[0] - 2 * s.margin:
        code = code.resize((s.size[0] - 2 * s.margin,) * 2)
    s.image.paste(code, ((s.size[0] - code.width) // 2, s.y + s.px(12)))
    s.y += code.height + s.px(28)


def _groups(rng: Random, count: int) -> str:
    while True:
        key = "-".join("".join(rng.choice(_ALNUM) for _ in range(4)) for _ in range(count))
        if validators.find_recovery_keys(key):
            return key


def bitlocker_key(rng: Random) -> str:
    return "-".join(f"{11 * rng.randrange(65536):06d}" for _ in range(8))


def recovery_screen(rng: Random, book: FontBook) -> Item:
    """A note holding a recovery key: Apple, BitLocker, FileVault, an SSH or PGP private key."""
    lang, kind = rng.choice(LANGS), rng.randrange(5)
    s = Screen(rng, book)
    s.title(_say(lang, en="Notes", fr="Notes", de="Notizen", es="Notas", it="Note"))
    if kind == 0:
        s.text(
            _say(
                lang,
                en="Apple ID recovery key",
                fr="Clé de secours Apple",
                de="Apple-Wiederherstellungsschlüssel",
                es="Clave de recuperación Apple",
                it="Chiave di recupero Apple",
            ),
            17,
            bold=True,
        )
        s.text(_groups(rng, 7), rng.choice((15, 16)), mono=True)
    elif kind == 1:
        s.text("BitLocker", 17, bold=True)
        key = bitlocker_key(rng)
        s.text(key[:27], 16, mono=True)
        s.text(key[28:], 16, mono=True)
    elif kind == 2:
        s.text("FileVault", 17, bold=True)
        s.text(_groups(rng, 6), 17, mono=True)
    else:
        block = "OPENSSH PRIVATE KEY" if kind == 3 else "PGP PRIVATE KEY BLOCK"
        s.text(f"-----BEGIN {block}-----", 13, mono=True)
        body = base64.b64encode(rng.randbytes(240)).decode()
        for start in range(0, len(body), 36):
            s.text(body[start : start + 36], 13, mono=True)
        s.text(f"-----END {block}-----", 13, mono=True)
    return _item(s, f"recovery-screen-{kind}", ("credentials",), lang)


def twofa_screen(rng: Random, book: FontBook) -> Item:
    """A 2FA set-up page: an otpauth QR code and, often, its key spelled out for manual entry."""
    lang = rng.choice(LANGS)
    secret = base64.b32encode(rng.randbytes(10)).decode().rstrip("=")
    issuer = rng.choice(("GitHub", "Proton", "Dropbox", "Impots.gouv"))
    s = Screen(rng, book)
    s.title(
        _say(
            lang,
            en="Two-factor authentication",
            fr="Double authentification",
            de="Zwei-Faktor-Authentifizierung",
            es="Autenticación de doble factor",
            it="Autenticazione a due fattori",
        ),
        24,
    )
    _qr(s, f"otpauth://totp/{issuer}:me@example.com?secret={secret}&issuer={issuer}")
    if rng.random() < 0.6:
        s.text(
            _say(
                lang,
                en="Setup key",
                fr="Clé de configuration",
                de="Einrichtungsschlüssel",
                es="Clave secreta",
                it="Chiave segreta",
            ),
            15,
            colour="muted",
        )
        s.text(" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)), 17, mono=True)
    return _item(s, "twofa-screen", ("credentials", "secret_qr"), lang)


def wallet_screen(rng: Random, book: FontBook) -> Item:
    """A wallet's receive screen: an ethereum: or bitcoin: URI in a QR code, the address below."""
    lang = rng.choice(LANGS)
    if rng.random() < 0.5:
        address = "0x" + rng.randbytes(20).hex()
        uri, coin = f"ethereum:{address}" + rng.choice(("", "@1", "@1?value=1e16")), "ETH"
    else:
        address = content.base58check(b"\0" + rng.randbytes(20))
        uri, coin = f"bitcoin:{address}" + rng.choice(("", "?amount=0.01")), "BTC"
    s = Screen(rng, book)
    s.title(_say(lang, en="Receive", fr="Recevoir", de="Empfangen", es="Recibir", it="Ricevi"))
    _qr(s, uri)
    s.text(f"{coin}: {address[:10]}…{address[-6:]}", 15, mono=True)
    return _item(s, "wallet-screen", ("secret_qr",), lang)


def login_screen(rng: Random, book: FontBook) -> Item:
    """A login form: labels, a masked field, "forgot password?"; no secret on it."""
    lang = rng.choice(LANGS)
    s = Screen(rng, book)
    s.title(
        _say(lang, en="Sign in", fr="Connexion", de="Anmelden", es="Iniciar sesión", it="Accedi")
    )
    user = f"{rng.choice(content.FIRST_NAMES).lower()}.{rng.randint(1, 99)}@example.com"
    word = _say(
        lang, en="Password", fr="Mot de passe", de="Passwort", es="Contraseña", it="Password"
    )
    required = _say(
        lang,
        en="(required)",
        fr="(obligatoire)",
        de="(erforderlich)",
        es="(obligatorio)",
        it="(obbligatorio)",
    )
    s.text(f"E-mail{rng.choice(('*', ''))}", 15, colour="muted")
    s.text(user, 17)
    s.text(f"{word}{rng.choice(('*', ' ' + required))}", 15, colour="muted")
    s.text("•" * rng.randint(8, 12) if rng.random() < 0.7 else "", 17)
    s.text(
        _say(
            lang,
            en="Forgot password?",
            fr="Mot de passe oublié ?",
            de="Passwort vergessen?",
            es="¿Has olvidado tu contraseña?",
            it="Password dimenticata?",
        ),
        15,
        colour="accent",
    )
    s.text(_say(lang, en="Log in", fr="Se connecter", de="Einloggen", es="Entrar", it="Entra"), 18)
    return _item(s, "login-screen", (), lang)


def payee_screen(rng: Random, book: FontBook) -> Item:
    """An empty "add a payee" form: IBAN and BIC labels with placeholders, no valid IBAN."""
    lang = rng.choice(LANGS)
    country = {"en": "GB", "fr": "FR", "de": "DE", "es": "ES", "it": "IT"}[lang]
    s = Screen(rng, book)
    s.title(
        _say(
            lang,
            en="Add a payee",
            fr="Ajouter un bénéficiaire",
            de="Empfänger hinzufügen",
            es="Añadir beneficiario",
            it="Aggiungi beneficiario",
        ),
        26,
    )
    s.rows(
        [
            (_say(lang, en="Name", fr="Nom", de="Name", es="Nombre", it="Nome"), "…"),
            ("IBAN", f"{country}76 XXXX XXXX XXXX"),
            ("BIC", rng.choice(("ex. BNPAFRPP", "e.g. NWBKGB2L", "AAAABBCCXXX"))),
            (
                _say(
                    lang,
                    en="Account number",
                    fr="Numéro de compte",
                    de="Kontonummer",
                    es="Número de cuenta",
                    it="Numero di conto",
                ),
                "-",
            ),
        ],
        15,
    )
    s.text(
        _say(lang, en="Continue", fr="Continuer", de="Weiter", es="Continuar", it="Continua"), 17
    )
    return _item(s, "payee-screen", (), lang)


def wifi_photo(rng: Random, book: FontBook) -> Item:
    """A printed guest Wi-Fi card, photographed: a WIFI: QR code and the password beside it."""
    lang = rng.choice(LANGS)
    network = rng.choice(("Maison-5G", "Gite-Invites", "Gaeste-WLAN", "Casa-Rossi", "Guest-42"))
    secret = content.password(rng)
    card = paper((1240, 1754))
    draw = ImageDraw.Draw(card)
    face = book.pick(rng, rng.choice(("sans", "serif")))
    y = 90
    lines = [
        _say(
            lang,
            en="Guest Wi-Fi",
            fr="Wi-Fi invités",
            de="Gäste-WLAN",
            es="Wi-Fi invitados",
            it="Wi-Fi ospiti",
        ),
        _say(lang, en="Network", fr="Réseau", de="Netzwerk", es="Red", it="Rete") + f": {network}",
        _say(lang, en="Password", fr="Mot de passe", de="Passwort", es="Contraseña", it="Password")
        + f": {secret}",
        _say(
            lang,
            en="Welcome!",
            fr="Bienvenue !",
            de="Willkommen!",
            es="¡Bienvenidos!",
            it="Benvenuti!",
        ),
    ]
    for line in lines:
        font = book.font(face, 54)
        for part in wrap(line, font, 1240 - 180):
            draw.text((90, y), part, font=font, fill=(20, 20, 25))
            y += 84
    code = qr_image(f"WIFI:T:WPA;S:{network};P:{secret};;", 12).resize((640, 640))
    card.paste(code, (300, y + 60))
    image = photograph(card, rng, photo_size(rng, (2000, 2600)), 0.8)
    fmt = "heic" if rng.random() < 0.25 else "jpeg"
    return Item(
        image,
        "wifi-photo",
        ("credentials", "secret_qr"),
        lang,
        fmt=fmt,
        quality=rng.randint(70, 88),
    )
