"""Screenshot scenes: app screens with a secret on them, and ordinary screens that look close
enough to fool a careless detector (hard negatives). Each scene returns a PNG ``Item`` at a real
iPhone screen size, in English or French, light or dark.
"""

from __future__ import annotations

from random import Random

import corpus_content as content
from corpus_draw import FontBook, Item, Screen, nfc, qr_image


def _lang(rng: Random) -> str:
    return rng.choice(("en", "fr"))


def _item(screen: Screen, what: str, categories: tuple[str, ...], lang: str) -> Item:
    return Item(screen.image, what, categories, lang, screenshot=True, fmt="png")


def card_screen(rng: Random, book: FontBook) -> Item:
    lang, card = _lang(rng), content.card(rng)
    s = Screen(rng, book)
    s.title(
        rng.choice(("Wallet", "My cards", "Card details"))
        if lang == "en"
        else rng.choice(("Cartes", "Mes cartes", "Détails de la carte"))
    )
    if rng.random() < 0.5:  # the card itself, drawn large
        w, h = s.size[0] - 2 * s.margin, round((s.size[0] - 2 * s.margin) / 1.586)
        colour = tuple(rng.randint(30, 200) for _ in range(3))
        s.draw.rounded_rectangle(
            (s.margin, s.y, s.margin + w, s.y + h), radius=s.px(14), fill=colour
        )
        font = book.font(s.face, s.px(18))
        big = book.font(book.pick(rng, "mono"), s.px(24))
        top, left, white = s.y, s.margin + s.px(20), (250, 250, 250)
        s.draw.text((left, top + s.px(18)), card.network, font=font, fill=white)
        s.draw.text((left, top + h // 2 - s.px(4)), card.number, font=big, fill=white)
        valid = "VALID THRU" if lang == "en" else "EXPIRE FIN"
        s.draw.text((left, top + h - s.px(70)), f"{valid} {card.expiry}", font=font, fill=white)
        s.draw.text((left, top + h - s.px(40)), nfc(card.holder), font=font, fill=white)
        s.y += h + s.px(24)
    else:
        labels = (
            ("Card number", "Expiry date", "Cardholder", "Network")
            if lang == "en"
            else ("Numéro de carte", "Date d'expiration", "Titulaire", "Réseau")
        )
        s.rows(
            list(
                zip(labels, (card.number, card.expiry, nfc(card.holder), card.network), strict=True)
            ),
            15,
        )
    s.text("Apple Pay" if lang == "en" else "Paiement sans contact activé", 15, colour="muted")
    return _item(s, "card-screen", ("payment_card",), lang)


def iban_screen(rng: Random, book: FontBook) -> Item:
    lang = _lang(rng)
    number = content.iban(rng, "FR" if lang == "fr" and rng.random() < 0.7 else None)
    holder, bic = (
        content.person(rng),
        "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(8)),
    )
    s = Screen(rng, book)
    kind = rng.randrange(3)
    if kind == 0:
        s.title("Account details" if lang == "en" else "Relevé d'identité bancaire")
        labels = ("Account holder", "IBAN", "BIC") if lang == "en" else ("Titulaire", "IBAN", "BIC")
        s.rows(list(zip(labels, (holder, number, bic), strict=True)), 14)
        s.text(
            "Share these details to receive a transfer."
            if lang == "en"
            else "Partagez ce RIB pour recevoir un virement.",
            15,
            colour="muted",
        )
    elif kind == 1:
        s.title("Transfer sent" if lang == "en" else "Virement envoyé")
        s.text(f"{rng.randint(20, 900)},00 € → {holder}", 22, bold=True)
        s.text(f"IBAN : {number}", 16)
        s.text("Reference: rent, March" if lang == "en" else "Motif : loyer de mars", 16)
    else:
        s.title("Bank statement" if lang == "en" else "Relevé de compte")
        s.text(f"IBAN {number}", 15)
        s.gap(10)
        shops = ("Carrefour", "SNCF", "Boulangerie Paul", "Amazon", "Pharmacie", "Uber")
        s.rows(
            [
                (rng.choice(shops), f"-{rng.randint(2, 120)},{rng.randrange(100):02d} €")
                for _ in range(6)
            ],
            15,
        )
    return _item(s, "iban-screen", ("bank_details",), lang)


def seed_screen(rng: Random, book: FontBook) -> Item:
    lang, count = _lang(rng), rng.choice((12, 12, 24))
    words = content.seed_phrase(rng, "french" if lang == "fr" else "english", count)
    s = Screen(rng, book)
    if rng.random() < 0.7:
        s.title("Recovery phrase" if lang == "en" else "Phrase de récupération", 28)
        s.text(
            f"Write down these {count} words in order."
            if lang == "en"
            else f"Notez ces {count} mots dans l'ordre.",
            16,
            colour="muted",
        )
    s.gap(12)
    if rng.random() < 0.75:
        columns = 2 if count == 12 or s.size[0] < 1000 else 3
        per = -(-count // columns)
        font = book.font(s.face, s.px(17 if columns == 2 else 15))
        width = (s.size[0] - 2 * s.margin) // columns
        for index, word in enumerate(words):
            column, row = divmod(index, per)
            x, y = s.margin + column * width, s.y + row * s.px(38)
            s.draw.text((x, y), f"{index + 1}. {word}", font=font, fill=s.colours["ink"])
        s.y += per * s.px(38)
    else:  # pasted in a note, one line
        s.text(" ".join(words), 17)
    return _item(s, "seed-screen", ("credentials",), lang)


def password_screen(rng: Random, book: FontBook) -> Item:
    lang = _lang(rng)
    s = Screen(rng, book)
    s.title(
        rng.choice(("Notes", "Passwords", "Logins"))
        if lang == "en"
        else rng.choice(("Notes", "Mots de passe", "Codes"))
    )
    user = f"{rng.choice(content.FIRST_NAMES).lower()}.{rng.randint(1, 99)}@example.com"
    site = rng.choice(("Netflix", "Amazon", "Ameli", "Free Mobile", "Gmail", "Impots.gouv"))
    if lang == "en":
        lines = [f"{site}", f"Login: {user}", f"Password: {content.password(rng)}"]
        extra = [
            f"Home Wi-Fi password: {content.password(rng)}",
            f"Door code: {rng.randint(1000, 9999)}A",
        ]
    else:
        lines = [f"{site}", f"Identifiant : {user}", f"Mot de passe : {content.password(rng)}"]
        extra = [
            f"Wi-Fi maison - mdp : {content.password(rng)}",
            f"Digicode : {rng.randint(1000, 9999)}B",
        ]
    for line in lines + rng.sample(extra, rng.randint(0, 2)):
        s.text(line, rng.choice((16, 17, 19)))
        s.gap(6)
    return _item(s, "password-screen", ("credentials",), lang)


def codes_screen(rng: Random, book: FontBook) -> Item:
    lang = _lang(rng)
    s = Screen(rng, book)
    s.title(
        rng.choice(("Backup codes", "Recovery codes"))
        if lang == "en"
        else rng.choice(("Codes de secours", "Codes de récupération"))
    )
    s.text(
        "Keep these codes somewhere safe. Each code can be used once."
        if lang == "en"
        else "Conservez ces codes en lieu sûr. Chaque code ne sert qu'une fois.",
        16,
        colour="muted",
    )
    s.gap(10)
    for code in content.backup_codes(rng):
        s.text(code, 20, mono=True, indent=12)
    return _item(s, "codes-screen", ("credentials",), lang)


def medical_screen(rng: Random, book: FontBook) -> Item:
    lang = _lang(rng)
    s = Screen(rng, book, theme="light")
    for line, points in content.medical_lines(rng, lang, rng.random() < 0.5):
        s.text(line, points)
    return _item(s, "medical-screen", ("medical",), lang)


def qr_screen(rng: Random, book: FontBook, secret: bool) -> Item:
    lang = _lang(rng)
    kind, payload = (content.secret_qr_payload if secret else content.harmless_qr_payload)(rng)
    s = Screen(rng, book)
    titles = {
        "en": ("Scan this code", "Share", "Connect", "Receive"),
        "fr": ("Scannez ce code", "Partager", "Se connecter", "Recevoir"),
    }
    s.title(rng.choice(titles[lang]))
    module = s.px(rng.choice((3, 4, 5)))
    code = qr_image(payload, module)
    if code.width > s.size[0] - 2 * s.margin:
        code = code.resize((s.size[0] - 2 * s.margin,) * 2)
    s.image.paste(code, ((s.size[0] - code.width) // 2, s.y + s.px(20)))
    s.y += code.height + s.px(40)
    s.text(
        "Point your camera at the code."
        if lang == "en"
        else "Visez le code avec l'appareil photo.",
        16,
        colour="muted",
    )
    what = f"qr-screen-{kind}"
    return _item(s, what, content.qr_categories(kind) if secret else (), lang)


# -- hard negatives ------------------------------------------------------------------------------


def chat_screen(rng: Random, book: FontBook) -> Item:
    lang = _lang(rng)
    s = Screen(rng, book)
    s.title(content.person(rng), 22)
    lines = {
        "en": [
            "Are we still on for tonight?",
            "Yes! 7pm at the usual place",
            f"Call me on {content.phone_number(rng)}",
            "Running 10 min late, sorry",
            "No worries, I'll order drinks",
            "Did you see the match?",
        ],
        "fr": [
            "On se voit toujours ce soir ?",
            "Oui ! 19h au café habituel",
            f"Appelle-moi au {content.phone_number(rng)}",
            "J'ai 10 min de retard, désolé",
            "Pas de souci, je commande",
            "Tu as vu le match hier ?",
        ],
    }[lang]
    for line in lines:
        s.text(line, 17, indent=rng.choice((0, 60)), colour=rng.choice(("ink", "accent")))
        s.gap(14)
    return _item(s, "chat-screen", (), lang)


def receipt_screen(rng: Random, book: FontBook) -> Item:
    lang = _lang(rng)
    s = Screen(rng, book, theme="light")
    s.title("Receipt" if lang == "en" else "Ticket de caisse", 26)
    items = ("Baguette", "Croissant x2", "Lait 1L", "Coffee beans", "Tomates", "Pasta 500g")
    s.rows(
        [
            (item, f"{rng.randint(1, 9)},{rng.randrange(100):02d} €")
            for item in rng.sample(items, 4)
        ],
        15,
    )
    s.text(f"Transaction {content.non_luhn(rng)}", 15, mono=True)
    s.text(
        f"{'Card' if lang == 'en' else 'Carte'} **** **** **** {rng.randint(1000, 9999)}",
        15,
        mono=True,
    )
    s.text(f"Terminal {rng.randrange(10**8):08d}  Auth {rng.randrange(10**6):06d}", 15, mono=True)
    s.text(f"SIRET {rng.randrange(10**14):014d}", 14, colour="muted")
    return _item(s, "receipt-screen", (), lang)


def order_screen(rng: Random, book: FontBook) -> Item:
    lang = _lang(rng)
    s = Screen(rng, book)
    s.title("Order confirmed" if lang == "en" else "Commande confirmée", 26)
    number = f"{rng.randint(100, 999)}-{rng.randrange(10**7):07d}-{rng.randrange(10**7):07d}"
    s.text(("Order #" if lang == "en" else "Commande n° ") + number, 17)
    s.text(
        ("Tracking number: " if lang == "en" else "Numéro de suivi : ")
        + f"6A{rng.randrange(10**11):011d}",
        16,
    )
    s.text(
        ("Delivery to " if lang == "en" else "Livraison à ")
        + f"{rng.randint(1, 99)} rue des Lilas, 75020 Paris",
        16,
    )
    s.text(f"{'Phone' if lang == 'en' else 'Téléphone'}: {content.phone_number(rng)}", 16)
    return _item(s, "order-screen", (), lang)


def contacts_screen(rng: Random, book: FontBook) -> Item:
    lang = _lang(rng)
    s = Screen(rng, book)
    s.title("Contacts")
    s.rows([(content.person(rng), content.phone_number(rng)) for _ in range(rng.randint(5, 9))], 15)
    return _item(s, "contacts-screen", (), lang)


def article_screen(rng: Random, book: FontBook) -> Item:
    lang = _lang(rng)
    s = Screen(rng, book, theme="light")
    text = {
        "en": (
            "Ten tips before you travel",
            "Check that your passport is valid for six months after your return. "
            "Use a strong, unique password for each booking site, and turn on two-factor "
            "authentication. Pack light, keep a paper copy of your itinerary, and tell your "
            "bank where you are going.",
        ),
        "fr": (
            "Dix conseils avant de partir",
            "Vérifiez que votre passeport est valide six mois après le retour. "
            "Choisissez un mot de passe solide et différent pour chaque site de réservation. "
            "Voyagez léger, gardez une copie papier de l'itinéraire et prévenez votre banque.",
        ),
    }[lang]
    s.title(text[0], 26)
    s.text(text[1], rng.choice((16, 17, 18)))
    return _item(s, "article-screen", (), lang)


def wordlist_screen(rng: Random, book: FontBook) -> Item:
    lang = _lang(rng)
    s = Screen(rng, book)
    s.title("Shopping list" if lang == "en" else "Liste de courses")
    words = {
        "en": (
            "apples",
            "milk",
            "bread",
            "coffee",
            "eggs",
            "butter",
            "rice",
            "lemons",
            "cheese",
            "tomatoes",
            "soap",
            "pasta",
            "yogurt",
            "onions",
            "carrots",
        ),
        "fr": (
            "pommes",
            "lait",
            "pain",
            "café",
            "oeufs",
            "beurre",
            "riz",
            "citrons",
            "fromage",
            "tomates",
            "savon",
            "pâtes",
            "yaourts",
            "oignons",
            "carottes",
        ),
    }[lang]
    for index, word in enumerate(rng.sample(words, 12), 1):
        s.text(f"{index}. {word}" if rng.random() < 0.5 else f"- {word}", 17)
    return _item(s, "wordlist-screen", (), lang)


def settings_screen(rng: Random, book: FontBook) -> Item:
    lang = _lang(rng)
    s = Screen(rng, book)
    s.title("Settings" if lang == "en" else "Réglages")
    names = (
        ("Wi-Fi", "Bluetooth", "Mobile data", "Notifications", "Sounds", "Focus")
        if lang == "en"
        else ("Wi-Fi", "Bluetooth", "Données cellulaires", "Notifications", "Sons", "Concentration")
    )
    s.rows([(n, rng.choice(("On", "Off", ">"))) for n in names], 16)
    return _item(s, "settings-screen", (), lang)
