"""What the review page is told about a plan, and how the person's answer is read and checked.

The page sees file names (never a path: a folder source's path names the person's folders, and
the phone's are of no use to them), capture days, sizes, each finding's explanation (which never
holds the secret in full) and what will happen to each group. Keys are the plan's group keys,
which reveal nothing.

The server is the guard of the answer: the page greys the groups that are not ready, but a
confirmation naming one, or a key the plan does not have, is refused here whatever the page did.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from companion.cleanup.plan import Group, Plan, Readiness
from companion.cleanup.review.categories import Category, describe, order

OTHER = "other"  # the section of a group with no finding (a plan should not hold one)

# What to do about a group that cannot go yet, by its worst file.
_NEXT_STEP = {
    Readiness.NOT_VERIFIED: "verify the vault first (companion cleanup --verify-first)",
    Readiness.CHANGED: "back it up again: the file changed since it was stored",
    Readiness.NOT_BACKED_UP: "back it up first",
    Readiness.DAMAGED: "back it up again, then verify the vault",
}


class BadAnswer(ValueError):
    """An answer from the page that cannot be taken as it is; the message is for the person."""


@dataclass(frozen=True, slots=True)
class Answer:
    """A request body from the page: the CSRF token, and for a confirmation the chosen keys and
    the word the person typed."""

    csrf: str
    keys: tuple[str, ...] = ()
    word: str = ""


def read_answer(body: bytes) -> Answer:
    """The JSON object the page posts (``{"csrf": ..., "keys": [...], "word": ...}``)."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BadAnswer("the request is not JSON") from e
    if not isinstance(data, dict):
        raise BadAnswer("the request is not a JSON object")
    csrf = data.get("csrf", "")
    keys = data.get("keys", [])
    word = data.get("word", "")
    if not isinstance(csrf, str) or not isinstance(word, str):
        raise BadAnswer("csrf and word must be strings")
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise BadAnswer("keys must be a list of strings")
    return Answer(csrf, tuple(keys), word)


class View:
    """One plan as the page shows it, made once (``what_happens`` is called once per group)."""

    def __init__(
        self,
        plan: Plan,
        what_happens: Callable[[Group], str],
        word: str,
        *,
        alive_every: float,
    ) -> None:
        self.plan = plan
        self.word = word
        self.happens = {g.key: what_happens(g) for g in plan.groups}
        self.json = _encode(self._page(alive_every))

    def choose(self, answer: Answer) -> frozenset[str]:
        """The chosen keys if the answer may be carried out; else ``BadAnswer`` saying why."""
        if answer.word.strip() != self.word:
            raise BadAnswer(f"type {self.word} to confirm")
        chosen = frozenset(answer.keys)
        if not chosen:
            raise BadAnswer("nothing is chosen: choose at least one photo, or cancel")
        groups = [self.plan.group(key) for key in sorted(chosen)]
        unknown = sum(1 for g in groups if g is None)
        if unknown:
            raise BadAnswer(f"{unknown} of the chosen photos are not in this review")
        blocked = [g for g in groups if g is not None and not g.ready]
        if blocked:
            first = blocked[0]
            more = f" (and {len(blocked) - 1} more)" if len(blocked) > 1 else ""
            raise BadAnswer(f"{first.primary.name} cannot go yet{more}: {first.why_not()}")
        return chosen

    def _page(self, alive_every: float) -> dict[str, Any]:
        sections: dict[str, list[str]] = {}
        for group in self.plan.groups:
            for name in group.categories or (OTHER,):
                sections.setdefault(name, []).append(group.key)
        categories = []
        for name in sorted(sections, key=order):
            words = Category(OTHER, "Other flagged photos", "") if name == OTHER else describe(name)
            categories.append(
                {
                    "name": words.name,
                    "title": words.title,
                    "about": words.about,
                    "blurred": words.blurred,
                    "keys": sections[name],
                }
            )
        return {
            "source": self.plan.source.split(":", 1)[0],  # the kind only: a folder's path is not
            "word": self.word,
            "alive_every": alive_every,
            "categories": categories,
            "groups": [self._group(g) for g in self.plan.groups],
        }

    def _group(self, group: Group) -> dict[str, Any]:
        captured = group.primary.captured_at
        reasons = list(dict.fromkeys((f.category, f.explanation) for f in group.findings))
        why = ""
        if not group.ready:
            why = f"{group.why_not()}; {_NEXT_STEP.get(group.readiness, 'not ready')}"
        return {
            "key": group.key,
            "name": group.primary.name,
            "kind": group.primary.kind.value,
            "day": captured.date().isoformat() if captured else None,
            "albums": list(group.primary.albums),
            "files": [m.asset.name for m in group.members],
            "size": group.size,
            "ready": group.ready,
            "readiness": group.readiness.value,
            "why_not": why,
            "what_happens": self.happens[group.key],
            "categories": list(group.categories),
            "blurred": any(describe(c).blurred for c in group.categories),
            "reasons": [{"category": c, "explanation": e} for c, e in reasons],
        }


def _encode(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
