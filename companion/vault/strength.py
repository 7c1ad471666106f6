"""How hard a new passphrase is to guess, asked before a key file is made with it.

Whoever copies a vault can try passphrases offline for as long as they like. scrypt makes each
try costly (at the default work factor 17: about half a second and 128 MiB on one processor
core, ten or twenty tries a second on a laptop, roughly a thousand on a high-end graphics card),
but it only multiplies: a passphrase among the first million anyone tries falls in hours. zxcvbn
estimates how many guesses a passphrase takes from what people actually choose (common passwords,
names, words, dates, keyboard patterns, repeats) and sums it up as a score from 0 to 4.

The floor is score 3, about 10^8 guesses: months of an ordinary computer's time, at least a day
of a graphics card's, at the default work factor. Below it a passphrase is refused unless the
person says they know (``--weak-passphrase-ok``); at score 3 they are told it could be stronger;
at 4 (10^10 guesses and more) nothing is said.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from companion.errors import UsageError

FLOOR = 3  # zxcvbn score: at least 10^8 guesses
TOP = 4  # at least 10^10 guesses

# zxcvbn refuses longer input; a passphrase is at least as strong as its first 72 characters.
_MAX_LENGTH = 72
# Words a guesser would try first against this program's vault.
_OWN_WORDS = ("companion", "vault", "iphone", "photos", "backup", "passphrase")

WEAK_OK_OPTION = "--weak-passphrase-ok"


@dataclass(frozen=True)
class Strength:
    score: int  # 0 (a few guesses) to 4 (10^10 guesses and more)
    guesses: float
    advice: str  # zxcvbn's warning and suggestions, one line ("" when it has none)

    @property
    def magnitude(self) -> str:
        """The number of guesses as a power of ten: "10^8"."""
        return f"10^{max(int(math.log10(max(self.guesses, 1))), 0)}"


def estimate(passphrase: str) -> Strength:
    """zxcvbn's estimate for ``passphrase`` (never shown, never logged)."""
    from zxcvbn import zxcvbn

    result = zxcvbn(passphrase[:_MAX_LENGTH], user_inputs=list(_OWN_WORDS))
    feedback = result["feedback"]
    advice = " ".join(str(s) for s in [feedback["warning"], *feedback["suggestions"]] if s)
    return Strength(int(result["score"]), float(result["guesses"]), advice)


def check_new_passphrase(passphrase: str, *, weak_ok: bool) -> str | None:
    """Refuse a passphrase below the floor (``UsageError``) unless ``weak_ok``; return the
    one-line warning to show for one below the top score, or None for a strong one."""
    if not passphrase:  # zxcvbn cannot score nothing
        raise UsageError("the passphrase is empty", hint="Choose a passphrase you can remember.")
    strength = estimate(passphrase)
    if strength.score >= TOP:
        return None
    guesses = f"about {strength.magnitude} guesses"
    if strength.score >= FLOOR:
        return (
            f"warning: this passphrase takes {guesses} to find; another word or two would make "
            "it much harder."
        )
    advice = f": {strength.advice}" if strength.advice else ""
    if weak_ok:
        return f"warning: this passphrase is easy to guess ({guesses}){advice}"
    raise UsageError(
        f"this passphrase is too easy to guess ({guesses}){advice}",
        hint="Choose a longer one (four or more uncommon words are easy to remember and hard to "
        f"guess), or keep this one with {WEAK_OK_OPTION}.",
    )
