"""The sensitivity filter's validators: card numbers, IBANs, MRZs and BIP39 seed phrases."""

from __future__ import annotations

import hashlib
import random
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mnemonic import Mnemonic

from companion.sensitivity import validators
from companion.sensitivity.validators import (
    LANGUAGES,
    CardNumber,
    Iban,
    Mrz,
    SeedPhrase,
    bip39_words,
    find_card_numbers,
    find_ibans,
    find_mrz,
    find_national_ids,
    find_recovery_keys,
    find_seed_phrase,
    iban_length,
    iban_ok,
    icao_check_digit,
    luhn_ok,
    mask_middle,
)

# --- masks --------------------------------------------------------------------------------------


def test_mask_middle_keeps_the_ends() -> None:
    assert mask_middle("4539148803436467", 4, 4) == "4539••••••••6467"
    assert mask_middle("abcdef", 0, 2) == "••••ef"


def test_mask_middle_never_shows_a_value_too_short_to_hide() -> None:
    assert mask_middle("1234", 2, 2) == "••••"
    assert mask_middle("", 1, 1) == ""
    with pytest.raises(ValueError):
        mask_middle("1234", -1, 2)


# --- Luhn and card numbers ----------------------------------------------------------------------


@pytest.mark.parametrize("digits", ["4539148803436467", "79927398713", "378282246310005"])
def test_luhn_accepts_known_numbers(digits: str) -> None:
    assert luhn_ok(digits)


@pytest.mark.parametrize(
    "digits",
    [
        "4539148803436468",  # last digit changed
        "4539148803430467",  # one inner digit changed
        "79927398712",
        "5439148803436467",  # first two digits swapped
        "4539148830436467",  # inner adjacent digits swapped
        "79927397813",  # adjacent swap
    ],
)
def test_luhn_rejects_near_misses(digits: str) -> None:
    assert not luhn_ok(digits)


@pytest.mark.parametrize("digits", ["", "0", "4539 1488 0343 6467", "45391488O3436467", "٤٥"])
def test_luhn_wants_ascii_digits_only(digits: str) -> None:
    assert not luhn_ok(digits)


@pytest.mark.parametrize(
    ("digits", "issuer"),
    [
        ("4539148803436467", "Visa"),
        ("4222222222222", "Visa"),
        ("4539148803436467123", "Visa"),
        ("5555555555554444", "Mastercard"),
        ("2223003122003222", "Mastercard"),
        ("378282246310005", "American Express"),
        ("371449635398431", "American Express"),
        ("6011111111111117", "Discover"),
        ("3530111333300000", "JCB"),
        ("30569309025904", "Diners Club"),
        ("6200000000000005", "UnionPay"),
        ("6759649826438453", "Maestro"),
    ],
)
def test_finds_cards_of_every_network(digits: str, issuer: str) -> None:
    assert find_card_numbers(f"Card number: {digits}.") == [CardNumber(digits, issuer)]


@pytest.mark.parametrize(
    "text",
    [
        "4539 1488 0343 6467",
        "4539-1488-0343-6467",
        "4539.1488.0343.6467",
        "4539148803436467",
        "Visa •••• paid with 4539 1488 0343 6467 (debit)",
        "card:4539 1488 0343 6467\nexpires 05/27",
    ],
)
def test_finds_cards_with_separators(text: str) -> None:
    assert find_card_numbers(text) == [CardNumber("4539148803436467", "Visa")]


def test_finds_amex_and_nineteen_digit_groupings() -> None:
    text = "AMEX 3782 822463 10005 and VISA 4539 1488 0343 6467 123"
    assert find_card_numbers(text) == [
        CardNumber("378282246310005", "American Express"),
        CardNumber("4539148803436467123", "Visa"),
    ]


def test_a_card_seen_twice_is_reported_once() -> None:
    text = "4539 1488 0343 6467 / 4539-1488-0343-6467 / 5555555555554444"
    assert [card.digits for card in find_card_numbers(text)] == [
        "4539148803436467",
        "5555555555554444",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "124539148803436467",  # glued to more digits: an 18-digit run
        "4539148803436467000000",  # a 22-digit run holding a valid 16-digit window
        "ref 9999 4539 1488 0343 6467",  # a 20-digit grouped run
        "4539 1488 0343 6467 1234",
        "x4539148803436467",  # glued to a letter
        "4539148803436467kg",
        "offset -4539148803436467",  # a negative number
        "4539 1488-0343 6467",  # mixed separators
        "4539  1488  0343  6467",  # double spaces are not one number
        "45 39 14 88 03 43 64 67",  # not printed as a card
        "4539148803436468",  # fails Luhn
        "0000000000000000",  # passes Luhn, no issuer
        "0000 0000 0000 0000",
        "8888888888888888",  # passes Luhn, no issuer
        "1234567812345670",  # passes Luhn, no issuer starts with 1
        "79927398713",  # too short
    ],
)
def test_card_near_misses_are_not_found(text: str) -> None:
    assert find_card_numbers(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "+33 6 12 34 56 78",
        "06 12 34 56 78",
        "+4915123456787",  # 13 digits, Luhn-valid, Visa-like: a phone number all the same
        "Tel. +44 20 7946 0958",
    ],
)
def test_phone_numbers_are_not_cards(text: str) -> None:
    assert luhn_ok("4915123456787")
    assert find_card_numbers(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "IBAN FR76 3000 6000 0112 3456 7890 189",
        "FR7630006000011234567890189",
        # a UK IBAN whose trailing digit groups are, alone, a valid Diners Club number
        "IBAN: GB04 NWBK 3056 9309 0259 04",
    ],
)
def test_iban_digit_parts_are_not_cards(text: str) -> None:
    assert find_card_numbers(text) == []
    assert len(find_ibans(text)) == 1


def test_the_diners_digits_alone_are_a_card() -> None:
    assert find_card_numbers("3056 9309 0259 04") == [CardNumber("30569309025904", "Diners Club")]


def test_card_masks() -> None:
    assert CardNumber("4539148803436467", "Visa").masked() == "4539 •••• •••• 6467"
    assert CardNumber("378282246310005", "American Express").masked() == "3782 •••••• •0005"
    assert CardNumber("4539148803436467123", "Visa").masked() == "4539 •••• •••• •••7 123"
    assert CardNumber("30569309025904", "Diners Club").masked() == "3056 •••••• 5904"


@given(st.text())
def test_card_finder_never_raises_and_only_reports_luhn_valid_numbers(text: str) -> None:
    for card in find_card_numbers(text):
        assert luhn_ok(card.digits)
        assert card.issuer


@given(st.lists(st.sampled_from(["4539", "1488", "0343", "6467", "378282", " ", "-", "x", "+"])))
def test_card_finder_on_digit_soup(parts: list[str]) -> None:
    for card in find_card_numbers("".join(parts)):
        assert luhn_ok(card.digits)
        assert 13 <= len(card.digits) <= 19


# --- IBAN ---------------------------------------------------------------------------------------

VALID_IBANS = [
    "FR7630006000011234567890189",
    "DE89370400440532013000",
    "GB29NWBK60161331926819",
    "BE68539007547034",
    "CH9300762011623852957",
]


@pytest.mark.parametrize("compact", VALID_IBANS)
def test_iban_ok_accepts_real_formats(compact: str) -> None:
    assert iban_ok(compact)


def test_iban_near_misses_fail() -> None:
    assert not iban_ok("FR7630006000011234567890188")  # one character changed
    assert not iban_ok("DE89370400440532013001")
    assert not iban_ok("GB29NWBK60161331926818")
    assert not iban_ok("FR763000600001123456789018")  # one short for France
    assert not iban_ok("BE685390075470340")  # one long for Belgium
    assert not iban_ok("XX04NWBK60161331926819")  # mod 97 holds, no such country
    assert not iban_ok("fr7630006000011234567890189")  # compact means upper case
    assert not iban_ok("FR76 3000 6000 0112 3456 7890 189")
    assert not iban_ok("")


def test_iban_check_digits_outside_02_to_98_fail_even_when_mod_97_holds() -> None:
    rng = random.Random(13616)
    while True:
        bban = "".join(rng.choices(string.digits, k=18))
        number = int("".join(str(int(char, 36)) for char in bban + "DE00"))
        if 98 - number % 97 == 98:
            break
    assert iban_ok(f"DE98{bban}")
    alias = f"DE01{bban}"
    rotated = alias[4:] + alias[:4]
    assert int("".join(str(int(char, 36)) for char in rotated)) % 97 == 1
    assert not iban_ok(alias)


def test_iban_length_table_holds_the_common_countries() -> None:
    expected = {"FR": 27, "DE": 22, "GB": 22, "ES": 24, "IT": 27, "BE": 16, "NL": 18, "CH": 21}
    expected |= {"LU": 20, "MC": 27, "PT": 25, "IE": 22, "AT": 20, "PL": 28, "NO": 15, "SE": 24}
    assert {country: iban_length(country) for country in expected} == expected
    assert iban_length("XX") is None and iban_length("fr") is None


def _with_mod97(country: str, bban: str) -> str:
    number = int("".join(str(int(char, 36)) for char in bban + country + "00"))
    return f"{country}{98 - number % 97:02d}{bban}"


@pytest.mark.parametrize(
    ("country", "good", "bad"),
    [
        ("FR", "30006000011234567890189", "30006000011234567890188"),  # the RIB key
        ("BE", "539007547034", "539007547035"),  # the account's mod-97 pair
        ("IT", "X0542811101000000123456", "Y0542811101000000123456"),  # the CIN letter
    ],
)
def test_national_check_digits_are_checked_inside_the_bban(
    country: str, good: str, bad: str
) -> None:
    assert iban_ok(_with_mod97(country, good))
    forged = _with_mod97(country, bad)  # mod 97 holds, the country's own key does not
    rotated = forged[4:] + forged[:4]
    assert int("".join(str(int(char, 36)) for char in rotated)) % 97 == 1
    assert not iban_ok(forged)
    assert find_ibans(f"IBAN {forged}") == []


@pytest.mark.parametrize(
    "text",
    [
        "FR76 3000 6000 0112 3456 7890 189",
        "FR7630006000011234567890189",
        "fr76 3000 6000 0112 3456 7890 189",
        "IBAN FR76 3000 6000 0112 3456 7890 189",
        "IBAN : FR76 3000 6000 0112 3456 7890 189 BIC BNPAFRPP",
        "iban:fr7630006000011234567890189",
        "IBANFR7630006000011234567890189",
        "Pay to (FR76\u00a03000\u00a06000\u00a00112\u00a03456\u00a07890\u00a0189).",
    ],
)
def test_finds_ibans_in_ocr_text(text: str) -> None:
    assert find_ibans(text) == [Iban("FR", "FR7630006000011234567890189")]


def test_finds_several_ibans_each_once() -> None:
    text = "de89 3704 0044 0532 0130 00, GB29 NWBK 6016 1331 9268 19\nDE89370400440532013000"
    assert find_ibans(text) == [
        Iban("DE", "DE89370400440532013000"),
        Iban("GB", "GB29NWBK60161331926819"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "FR76 3000 6000 0112 3456 7890 188",  # one character changed
        "FR76 3000 6000 0112 3456 7890 1891",  # runs on past the country's length
        "FR76 3000 6000 0112 3456 7890 18",  # stops short
        "XFR7630006000011234567890189",  # glued to a letter in front
        "FR7630006000011234567890189X",
        "FR76 3000 6000  0112 3456 7890 189",  # a double space splits it
        "FR76 3OOO 6OOO O112 3456 7890 189",  # OCR letter O for zero: not repaired
        "XX04 NWBK 6016 1331 9268 19",
    ],
)
def test_iban_near_misses_are_not_found(text: str) -> None:
    assert find_ibans(text) == []


def test_iban_masks() -> None:
    assert Iban("FR", "FR7630006000011234567890189").masked() == (
        "FR76 •••• •••• •••• •••• •••• 189"
    )
    assert Iban("BE", "BE68539007547034").masked() == "BE68 •••• •••• •034"


@given(st.text())
def test_iban_finder_only_reports_valid_ibans(text: str) -> None:
    for iban in find_ibans(text):
        assert iban_ok(iban.compact)
        assert iban.country == iban.compact[:2]


@given(st.text(alphabet="FRDEGB0123456789 IBAN:", max_size=80))
def test_iban_finder_on_iban_soup(text: str) -> None:
    for iban in find_ibans(text):
        assert iban_ok(iban.compact)


# --- MRZ ----------------------------------------------------------------------------------------

TD3 = [
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
]
TD1 = [
    "I<UTOD231458907<<<<<<<<<<<<<<<",
    "7408122F1204159UTO<<<<<<<<<<<6",
    "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
]
TD2 = ["I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "D231458907UTO7408122F1204159<<<<<<<6"]
FR_ID = ["IDFRAERIKSSON<<<<<<<<<<<<<<<<<921013", "8806923102858ANNA<<MARIA<<<7408122F5"]


def test_icao_check_digits_of_the_specimen() -> None:
    assert icao_check_digit("L898902C3") == 6
    assert icao_check_digit("740812") == 2
    assert icao_check_digit("120415") == 9
    assert icao_check_digit("ZE184226B<<<<<") == 1
    assert icao_check_digit("<<<<") == 0
    with pytest.raises(ValueError):
        icao_check_digit("l898902c3")


def test_specimen_passport_passes_every_check() -> None:
    assert find_mrz(TD3) == [Mrz("TD3", "passport", "UTO", 5, 5)]


def test_specimen_identity_card_passes_every_check() -> None:
    assert find_mrz(TD1) == [Mrz("TD1", "identity card", "UTO", 4, 4)]


def test_td2_and_the_older_french_identity_card() -> None:
    assert find_mrz(TD2) == [Mrz("TD2", "identity card", "UTO", 4, 4)]
    assert find_mrz(FR_ID) == [Mrz("FR-ID", "identity card", "FRA", 3, 3)]


def test_issuing_state_drops_its_fillers() -> None:
    german = [TD3[0].replace("UTO", "D<<"), TD3[1]]
    assert find_mrz(german) == [Mrz("TD3", "passport", "D", 5, 5)]


@pytest.mark.parametrize(
    ("position", "passes"),
    [
        (9, 3),  # document number check digit: it and the composite fail
        (27, 3),  # expiry check digit
        (42, 3),  # optional data check digit: it and the composite fail
    ],
)
def test_an_altered_check_digit_reports_fewer_passes(position: int, passes: int) -> None:
    line = TD3[1]
    altered = line[:position] + str((int(line[position]) + 1) % 10) + line[position + 1 :]
    assert find_mrz([TD3[0], altered]) == [Mrz("TD3", "passport", "UTO", passes, 5)]


def test_too_few_passing_checks_is_not_an_mrz() -> None:
    line = TD3[1]
    # birth date and composite check digits both wrong: what holds is neither of them
    altered = line[:19] + "7" + line[20:43] + "4"
    assert find_mrz([TD3[0], altered]) == []


@pytest.mark.parametrize(
    "lines",
    [
        [
            " p<utoeriksson<<anna<maria<<<<<<<<<<<<<<<<<<< ",
            "L898902C36 UTO7408122F 1204159ZE184226B<<<<<10",
        ],
        [TD3[0].replace("<", "«"), TD3[1].replace("<", "‹")],
        [TD3[0].replace("<<", "«"), TD3[1]],
        ["P<UTOERIKSSON<<ANNA<MA", "RIA<<<<<<<<<<<<<<<<<<<", TD3[1]],  # a line split in two
        ["Passport / Passeport", "Surname ERIKSSON", *TD3, "", "page 2"],
    ],
)
def test_ocr_noised_mrz_is_still_found(lines: list[str]) -> None:
    assert find_mrz(lines) == [Mrz("TD3", "passport", "UTO", 5, 5)]


def test_noised_identity_card_is_still_found() -> None:
    lines = [line.lower().replace("<<", "«") for line in TD1]
    assert find_mrz(lines) == [Mrz("TD1", "identity card", "UTO", 4, 4)]


def test_two_documents_in_one_picture() -> None:
    assert find_mrz([*TD1, "", *TD3]) == [
        Mrz("TD1", "identity card", "UTO", 4, 4),
        Mrz("TD3", "passport", "UTO", 5, 5),
    ]


def test_lines_of_the_wrong_length_are_not_an_mrz() -> None:
    assert find_mrz([TD3[0] + "<", TD3[1]]) == []
    assert find_mrz([TD3[0], TD3[1][:-1]]) == []
    assert find_mrz(TD3[:1]) == []
    assert find_mrz([]) == []


def test_random_text_of_mrz_lengths_is_not_found() -> None:
    rng = random.Random(9303)
    alphabet = string.ascii_uppercase + string.digits + "<"
    for _ in range(500):
        first = "".join(rng.choices(alphabet, k=44))
        second = "".join(rng.choices(alphabet, k=44))
        assert find_mrz([first, second]) == []
        assert find_mrz(["P<" + first[2:], second]) == []
        assert find_mrz([first[:30], second[:30], first[14:44]]) == []
        assert find_mrz([first[:36], second[:36]]) == []


def test_an_all_filler_zone_is_not_found() -> None:
    assert find_mrz(["P<UTO" + "<" * 39, "<" * 44]) == []
    assert find_mrz(["P<UTO" + "<" * 39, "<<<<<<<<<0UTO<<<<<<0F<<<<<<0<<<<<<<<<<<<<<00"]) == []


@given(st.lists(st.text(alphabet=string.ascii_letters + string.digits + "<« ", max_size=50)))
def test_mrz_finder_never_raises(lines: list[str]) -> None:
    for mrz in find_mrz(lines):
        assert mrz.checks_passed >= 2
        assert mrz.checks_passed <= mrz.checks_total


# --- BIP39 word lists and seed phrases ----------------------------------------------------------

WORDLIST_SHA256 = {  # the files of the BIP-0039 repository, one word a line
    "english": "2f5eed53a4727b4bf8880d8f3f199efc90e58503646d9ff8eff3a2ed3b24dbda",
    "french": "ebc3959ab7801a1df6bac4fa7d970652f1df76b683cd2f4003c941c63d517e59",
}


@pytest.mark.parametrize("language", ["english", "french"])
def test_word_lists_are_the_official_ones(language: str) -> None:
    words = Mnemonic(language).wordlist
    data = ("\n".join(words) + "\n").encode("utf-8")
    assert hashlib.sha256(data).hexdigest() == WORDLIST_SHA256[language]
    assert len(words) == len(set(words)) == 2048
    assert len(bip39_words(language)) == 2048


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_list_stays_unique_without_accents(language: str) -> None:
    folded = bip39_words(language)
    assert len(folded) == 2048
    assert all(word.isascii() and word.islower() for word in folded)
    if language == "french":
        assert {"abaisser", "eleve", "academie", "algebre"} <= folded


@pytest.mark.parametrize("language", ["spanish", "italian", "portuguese", "czech"])
def test_seed_phrases_of_other_languages_are_found(language: str) -> None:
    phrase = Mnemonic(language).to_mnemonic(bytes(range(16)))
    numbered = [f"{n}. {word}" for n, word in enumerate(phrase.split(), 1)]
    assert find_seed_phrase(numbered) == SeedPhrase(language, 12, 12)


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError):
        bip39_words("klingon")


ABANDON_12 = (
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
)
LEGAL_12 = "legal winner thank year wave sausage worth useful legal winner thank yellow"
LETTER_24 = (
    "letter advice cage absurd amount doctor acoustic avoid letter advice cage absurd "
    "amount doctor acoustic avoid letter advice cage absurd amount doctor acoustic bless"
)
# random phrases with valid checksums, as a wallet would show them
RANDOM_12 = "put lava ask attitude daring patient horse benefit glance waste hand artwork"
RANDOM_24 = (
    "put lava ask attitude daring patient horse benefit glance waste hand around always wasp "
    "sibling slide inside shock earn mimic garment reform fancy fabric"
)
FRENCH_RANDOM_12 = (
    "osmose idylle anéantir anormal copain musicien frontal audace famille véhicule fléau ancien"
)
FRENCH_12 = (
    "académie adéquat aérer algèbre bénéfice cédille "
    "dépenser écureuil élève fédérer géranium hélium"
)


@pytest.mark.parametrize("phrase", [ABANDON_12, LEGAL_12, RANDOM_12])
def test_twelve_word_english_phrases_fire(phrase: str) -> None:
    assert find_seed_phrase(phrase.split()) == SeedPhrase("english", 12, 12)


def test_twenty_four_word_phrases_fire() -> None:
    assert find_seed_phrase(LETTER_24.split()) == SeedPhrase("english", 24, 24)
    assert find_seed_phrase(RANDOM_24.split()) == SeedPhrase("english", 24, 24)
    abandon_24 = ["abandon"] * 23 + ["art"]
    assert find_seed_phrase(abandon_24) == SeedPhrase("english", 24, 24)


def test_french_phrase_fires_with_or_without_accents() -> None:
    assert find_seed_phrase(FRENCH_12.split()) == SeedPhrase("french", 12, 12)
    assert find_seed_phrase(FRENCH_RANDOM_12.split()) == SeedPhrase("french", 12, 12)
    ocr = "OSMOSE idylle aneantir anormal copain musicien frontal audace famille vehicule fleau "
    ocr += "ancien"
    assert find_seed_phrase(ocr.split()) == SeedPhrase("french", 12, 12)
    stripped = "ACADEMIE adequat Aerer algebre benefice cedille depenser ecureuil eleve federer"
    stripped += " geranium HELIUM"
    assert find_seed_phrase(stripped.split()) == SeedPhrase("french", 12, 12)


def test_numbered_forms_fire() -> None:
    words = LEGAL_12.split()
    numbered = [f"{index}. {word}" for index, word in enumerate(words, 1)]
    assert find_seed_phrase(numbered) == SeedPhrase("english", 12, 12)
    mixed = "1) Legal, 2) winner, 03 thank 04 year #5 wave (6) sausage 7.worth 8.useful"
    mixed += " 9- legal 10: winner 11 thank 12 yellow"
    assert find_seed_phrase(mixed.split()) == SeedPhrase("english", 12, 12)
    assert find_seed_phrase([mixed]) == SeedPhrase("english", 12, 12)


def test_a_phrase_among_other_words_fires() -> None:
    screen = f"Your recovery words - do not show them to anyone {RANDOM_12} I saved them Continue"
    assert find_seed_phrase(screen.split()) == SeedPhrase("english", 12, 12)


def test_list_words_next_to_a_phrase_lengthen_the_run() -> None:
    # "write", "keep", "safe", "have" and "phrase" are list words: the longest run that keeps
    # within 2 misses is reported, here 14 list words in a run of 15
    screen = "Recovery phrase Write these words down and keep them safe"
    screen += f" {RANDOM_12} I have saved my recovery phrase Continue"
    assert find_seed_phrase(screen.split()) == SeedPhrase("english", 14, 15)


def test_ten_of_twelve_with_two_ocr_garbles_fires() -> None:
    words = RANDOM_12.split()
    words[2], words[7] = "asx", "benef1t"
    assert find_seed_phrase(words) == SeedPhrase("english", 10, 12)


def test_nine_of_twelve_does_not_fire() -> None:
    words = RANDOM_12.split()
    words[2], words[7], words[10] = "asx", "benef1t", "h4nd"
    assert find_seed_phrase(words) is None


def test_twenty_two_of_twenty_four_fires_as_twenty_four() -> None:
    words = RANDOM_24.split()
    words[0], words[13] = "pvt", "wa5p"
    assert find_seed_phrase(words) == SeedPhrase("english", 22, 24)


def test_many_repeats_need_a_valid_checksum() -> None:
    # a run of one word is a mnemonic only whole, with its checksum, and alone
    assert find_seed_phrase(["abandon"] * 11 + ["ability"]) is None
    assert find_seed_phrase(["abandon"] * 11 + ["about", "face"]) is None
    assert find_seed_phrase(["Mnemonic:", *ABANDON_12.split(), "(words)"]) == SeedPhrase(
        "english", 12, 12
    )
    # up to a quarter of repeats is still a phrase: this vector repeats 3 of its 12 words
    garbled = LEGAL_12.split()
    garbled[4] = "wav3"
    assert find_seed_phrase(garbled) == SeedPhrase("english", 11, 12)


@pytest.mark.parametrize(
    "text",
    [
        "north south east west north east south west north south east west north",
        "true false false true false true true false false true false true true false true false",
        "dog horse cat fish dog cat fish horse dog cat horse fish",
    ],
)
def test_repetitive_word_lists_do_not_fire(text: str) -> None:
    assert find_seed_phrase(text.split()) is None


def test_nothing_to_read_does_not_fire() -> None:
    assert find_seed_phrase([]) is None
    assert find_seed_phrase(["", "1.", "2)", "—"]) is None


ENGLISH_PROSE = [
    """We finally made it to the coast after a long drive through the mountains. The kids were
    tired but happy, and we stopped at a small village for lunch before the last stretch. The
    weather was perfect all afternoon, so we walked along the beach until the sun went down and
    the wind picked up. Tomorrow we plan to rent bikes and ride out to the old lighthouse, then
    maybe take the ferry over to the island if the sea is calm enough. I still need to book a
    table for dinner on Saturday, and someone has to remember to charge the camera batteries
    tonight, because last time we missed half the trip.""",
    """Please find attached the agenda for next week's meeting. We will review the budget for the
    second quarter, discuss the new hiring plan and agree on a date for the office move. If you
    cannot attend, let me know before Friday so that we can share the notes with you afterwards.
    The project team would also like feedback on the draft report, especially the section about
    customer support and the timeline for the mobile app. Remember that the deadline for expense
    claims is the end of the month, and that the parking garage will be closed for repairs on
    Monday and Tuesday. Thank you all for your patience during this busy period.""",
    """To make the soup, chop two onions, three carrots and a stick of celery, then cook them
    gently in a little olive oil until they are soft. Add a crushed clove of garlic, a can of
    tomatoes and about a litre of vegetable stock, and bring everything to a simmer. After twenty
    minutes, stir in a handful of lentils and season with salt, pepper and a pinch of cumin. Let
    it cook for another half hour, adding water if it gets too thick. Serve it hot with fresh
    bread and a spoon of yogurt on top. It keeps well in the fridge for three days and freezes
    nicely too.""",
]

FRENCH_PROSE = [
    """Nous sommes enfin arrivés à la mer après une longue route à travers les montagnes. Les
    enfants étaient fatigués mais contents, et nous nous sommes arrêtés dans un petit village
    pour déjeuner avant la dernière étape. Le temps était parfait tout l'après-midi, alors nous
    avons marché sur la plage jusqu'au coucher du soleil. Demain, nous voulons louer des vélos
    pour aller jusqu'au vieux phare, puis peut-être prendre le bateau vers l'île si la mer est
    assez calme. Il faut encore réserver une table pour samedi soir, et quelqu'un doit penser à
    recharger les batteries de l'appareil photo ce soir, sinon nous raterons encore la moitié.""",
    """Vous trouverez ci-joint l'ordre du jour de la réunion de la semaine prochaine. Nous ferons
    le point sur le budget du deuxième trimestre, nous parlerons du nouveau plan de recrutement
    et nous fixerons une date pour le déménagement des bureaux. Si vous ne pouvez pas venir,
    prévenez-moi avant vendredi afin que nous puissions vous envoyer le compte rendu. L'équipe
    du projet aimerait aussi avoir votre avis sur le rapport provisoire, en particulier sur la
    partie consacrée au service client. Le parking sera fermé lundi et mardi pour des travaux.
    Merci à tous pour votre patience pendant cette période très chargée de l'année.""",
    """Pour la soupe, émincez deux oignons, trois carottes et une branche de céleri, puis faites
    les revenir doucement dans un peu d'huile d'olive jusqu'à ce qu'ils soient tendres. Ajoutez
    une gousse d'ail écrasée, une boîte de tomates et environ un litre de bouillon de légumes,
    puis portez le tout à frémissement. Au bout de vingt minutes, incorporez une poignée de
    lentilles et assaisonnez avec du sel, du poivre et une pincée de cumin. Laissez cuire encore
    une demi-heure en ajoutant de l'eau si la soupe devient trop épaisse. Servez bien chaud avec
    du pain frais et une cuillère de yaourt.""",
]


@pytest.mark.parametrize("paragraph", ENGLISH_PROSE + FRENCH_PROSE)
def test_prose_does_not_fire(paragraph: str) -> None:
    words = paragraph.split()
    assert len(words) >= 100
    assert find_seed_phrase(words) is None
    assert find_seed_phrase(paragraph.splitlines()) is None


def test_all_the_prose_together_does_not_fire() -> None:
    assert find_seed_phrase(" ".join(ENGLISH_PROSE + FRENCH_PROSE).split()) is None


@given(st.lists(st.text(max_size=20), max_size=60))
def test_seed_finder_never_raises(words: list[str]) -> None:
    phrase = find_seed_phrase(words)
    if phrase is not None:
        assert phrase.total in {12, 15, 18, 21, 24}
        assert phrase.total - 2 <= phrase.count <= phrase.total


def test_mrz_reads_a_zero_back_as_o_where_only_letters_can_be() -> None:
    # OCR reads the O of "UTO" and of names as 0; no check digit covers those fields
    passport = find_mrz(
        [
            "P<UT0ERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
            "L898902C36UT07408122F1204159ZE184226B<<<<<10",
        ]
    )
    assert [(m.kind, m.country, m.checks_passed) for m in passport] == [("TD3", "UTO", 5)]
    card = find_mrz(
        [
            "I<UT0D231458907<<<<<<<<<<<<<<<",
            "7408122F1204159UT0<<<<<<<<<<<6",
            "ERIKSS0N<<ANNA<MARIA<<<<<<<<<<",
        ]
    )
    assert [(m.kind, m.country) for m in card] == [("TD1", "UTO")]
    # a 0 where a digit belongs is still a digit: the document number's check must still hold
    wrong = find_mrz(
        [
            "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
            "L898902C36UT07408122F1204159ZE184226B<<<<<1O",
        ]
    )
    assert wrong == [] or wrong[0].checks_passed < 5


def test_mrz_reads_a_stray_mark_in_a_name_as_a_filler() -> None:
    # OCR read the T of SMITH as a CJK character; names carry no check digit
    lines = [
        "I<BEL2MX7MZPBU1<<<<<<<<<<<<<<<",
        "8803078M3011168BEL<<<<<<<<<<<2",
        "SMI\u58ebH<<ZOE" + "<" * 20,
    ]
    assert [(m.kind, m.country, m.checks_passed) for m in find_mrz(lines)] == [("TD1", "BEL", 4)]
    # the same stray mark in the document number is not forgiven: its check digit fails
    bad = ["I<BEL2MX7M\u58ebPBU1<<<<<<<<<<<<<<<", *lines[1:]]
    assert all(m.checks_passed < 4 for m in find_mrz(bad))


# --- recovery keys ------------------------------------------------------------------------------

BITLOCKER = "-".join(f"{11 * n:06d}" for n in (1234, 40000, 5, 65535, 3, 777, 12000, 9))


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (f"Recovery key: {BITLOCKER}", "a BitLocker recovery key"),
        ("RK 7Q2M-X9DF-K3LP-ZR8T-WN4C-HV6B-J5YS", "an Apple account recovery key"),
        ("FileVault: 4F7A-9C2E-QW8R-T5YU-PL3K-ZX7V", "a FileVault recovery key"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1r", "an SSH private key block"),
        ("-----BEGIN PGP PRIVATE KEY BLOCK-----", "a PGP private key block"),
        ("-----BEGIN RSA PRIVATE KEY-----", "a private key block"),
    ],
)
def test_recovery_keys_are_found(text: str, kind: str) -> None:
    assert [key.kind for key in find_recovery_keys(text)] == [kind]


@pytest.mark.parametrize(
    "text",
    [
        BITLOCKER.replace("013574", "013575"),  # one group not a multiple of 11
        BITLOCKER.rsplit("-", 1)[0],  # 7 groups
        "-----BEGIN PGP PUBLIC KEY BLOCK-----",  # a public key is no secret
        "ABCD-EFGH-IJKL-MNOP-QRST-UVWX",  # letters only: a pattern, not a key
        "1234-5678-9012-3456-7890-1234",  # digits only
        "REF 7Q2M-X9DF-K3LP-ZR8T-WN4C-HV6B-J5YS-0000",  # part of a longer reference
        "Commande 123-1234567-1234567",
        "IBAN FR76 3000 6000 0112 3456 7890 189",  # groups of four, not joined by dashes
    ],
)
def test_recovery_key_look_alikes_are_not_found(text: str) -> None:
    assert find_recovery_keys(text) == []


# --- national identity numbers ------------------------------------------------------------------


def test_national_ids_need_their_check() -> None:
    assert find_national_ids("Codice fiscale RCCMNL83S18D969H")
    assert not find_national_ids("Codice fiscale RCCMNL83S18D969G")
    assert find_national_ids("DNI 54362315-K", dni_hinted=True)
    assert not find_national_ids("DNI 54362315-K")  # one letter in 23: not without the word
    assert not find_national_ids("DNI 54362315-J", dni_hinted=True)
    assert find_national_ids("2 69 05 49 588 157 80")


def test_a_labelled_iban_is_read_again_where_ocr_confuses_o_and_0_or_i_and_1() -> None:
    # A French IBAN whose account number holds letters (valid: mod-97 and the RIB key).
    real = "FR661665864714LDH1VSU7OJS11"
    assert validators.iban_ok(real)
    misread = "FR66 I665 8647 14LD H1VS U70J S11"  # I for 1 (digits only there), 0 for O
    assert [i.compact for i in validators.find_ibans(f"IBAN : {misread} Motif")] == [real]
    assert validators.find_ibans(misread) == []  # unlabelled: taken as read, and it fails
    too_many = "FR66 1665 8647 14LD H1V5 U70I S0O"  # more look-alikes than are tried
    assert validators.find_ibans(f"IBAN {too_many}") == []
    assert validators.find_ibans("IBAN : FR66 1665 8647 14LD H1VS U70J S12") == []
    # Italy's CIN is a letter: a 0 read there is an O.
    italian = "IT61O0525643137WPZJ8R3YLGCO"
    assert validators.iban_ok(italian)
    found = validators.find_ibans("IBAN IT61 0052 5643 137W PZJ8 R3YL GCO")
    assert [i.compact for i in found] == [italian]
