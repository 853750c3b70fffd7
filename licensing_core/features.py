"""What each base plan includes, in the words of the CRM help pages, per language.

A plan's features are the common CRM features followed by its solution's tier
features, each a bullet of the CRM's help page in its order (a group heading comes
before its sub-bullets). Premium includes the Essentials features of its
solution, so a Premium list is common + Essentials + Premium; a feature that
would appear twice is kept once, at its first place.

Languages: ``en`` (English help page), ``no`` (Norwegian), ``de`` (German),
``nl`` (Dutch); the data is ``data/plan_features.json``, copied from the
CRM's help pages (docs/licensing.md §1) with the wording kept exactly.
Discrepancies between the editions, decided here:

- The English page has one Marketing list with no Essentials/Premium split,
  while the other languages list Marketing Essentials and a Premium
  "Marketing automation". English Marketing-Essentials is that English list;
  English Marketing-Premium is that list plus "Marketing automation (flows)".
- Only the English page lists "Standard reports" among the common features;
  each language keeps its own list.
- Fixed in the English text, and only there: the mojibake "â€“" → "–" and
  "Diary and taInvitations" → "Diary and invitations".
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

from licensing_core.plans import Plan, plan_named

LANGUAGES: tuple[str, ...] = ("en", "no", "de", "nl")


def features(plan: Plan | str, language: str = "en") -> list[str]:
    """The features of base plan ``plan`` (a Plan or a plan name) in ``language``.

    Raises ValueError for an unknown language and InvalidCombination (a
    ValueError) for an unknown plan name.
    """
    if isinstance(plan, str):
        plan = plan_named(plan)
    if language not in LANGUAGES:
        raise ValueError(
            f"unknown feature language {language!r}; the languages are {', '.join(LANGUAGES)}"
        )
    text = _data()[language]
    bullets = _flatten(text["common"])
    essentials = f"{plan.solution.value}-Essentials"
    bullets.extend(text["tiers"][essentials])
    if plan.name != essentials:
        bullets.extend(text["tiers"][plan.name])
    return list(dict.fromkeys(bullets))


def _flatten(entries: list[str | dict]) -> list[str]:
    bullets: list[str] = []
    for entry in entries:
        if isinstance(entry, str):
            bullets.append(entry)
        else:
            bullets.append(entry["group"])
            bullets.extend(entry["items"])
    return bullets


@cache
def _data() -> dict:
    path = resources.files("licensing_core").joinpath("data", "plan_features.json")
    return json.loads(path.read_text(encoding="utf-8"))["languages"]
