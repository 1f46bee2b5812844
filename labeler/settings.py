"""Project settings: labels, phrases, hypothesis template, target, held-out share.

The one place these are validated and the one template filler: the store checks a project with
`ProjectSettings`, the zero-shot engine builds its hypotheses with `hypotheses()`, the pages and
the CLI split comma lists with `split_list`. Pure Python, so a page can use it without torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .errors import SettingsError

DEFAULT_TEMPLATE = "This tweet is {}."
MAX_LABELS = 20


def split_list(value: str) -> list[str]:
    """'A, B ,C' -> ['A', 'B', 'C'] (empty items kept, so validation can name them)."""
    return [part.strip() for part in value.split(",")] if value.strip() else []


def check_labels(labels: Sequence[str], *, minimum: int = 1) -> list[str]:
    """Stripped, non-empty, distinct labels, or a SettingsError naming what is wrong."""
    clean = [str(lab).strip() for lab in labels]
    if len(clean) < minimum or any(not lab for lab in clean):
        need = "at least two non-empty labels" if minimum >= 2 else "non-empty labels"
        raise SettingsError(
            f"A project needs {need} (got {len(clean)}: "
            f"{', '.join(map(repr, clean)) or 'none'}); give them separated by commas, "
            "e.g. AGAINST, FAVOR, NONE."
        )
    dupes = sorted({lab for lab in clean if clean.count(lab) > 1})
    if dupes:
        raise SettingsError(f"Labels must be distinct; repeated: {', '.join(dupes)}.")
    if len(clean) > MAX_LABELS:
        raise SettingsError(f"{len(clean)} labels is more than the {MAX_LABELS} the app supports.")
    return clean


def check_phrases(phrases: Sequence[str] | None, labels: Sequence[str]) -> list[str]:
    """One phrase per label (None or empty: the labels lowercased)."""
    if phrases is None or (not isinstance(phrases, str) and not phrases):
        return [lab.lower() for lab in labels]
    if isinstance(phrases, str):
        phrases = split_list(phrases)
    clean = [str(p).strip() for p in phrases]
    if len(clean) != len(labels):
        raise SettingsError(
            f"There are {len(labels)} labels but {len(clean)} phrases ({', '.join(labels)} vs "
            f"{', '.join(clean)}); give one phrase per label, in the same order, or none to use "
            "the labels themselves."
        )
    empty = [lab for lab, p in zip(labels, clean, strict=True) if not p]
    if empty:
        raise SettingsError(f"The phrase for label(s) {', '.join(empty)} is empty.")
    return clean


def fill_target(template: str, target: str | None) -> str:
    """Put the target into a template's "{target}", leaving "{}" for the label phrase.

    "The author of this tweet is {} {target}." with "Joe Biden" gives
    "The author of this tweet is {} Joe Biden.". Braces in the target are kept literally.
    """
    if "{target}" not in template:
        return template
    if not (target or "").strip():
        raise SettingsError(
            f"Template {template!r} uses {{target}} but no target is set: set the project's "
            "target (e.g. 'Joe Biden') or write the target into the template."
        )
    return template.replace("{target}", target.strip().replace("{", "{{").replace("}", "}}"))


def check_template(template: str, target: str | None = None) -> str:
    """The template with its target filled in, or a SettingsError saying how to write it."""
    filled = fill_target(template, target)
    if "{}" not in filled:
        raise SettingsError(
            f"Template {template!r} has no {{}} placeholder for the label phrase, "
            "e.g. 'This tweet is {}.'"
        )
    try:
        filled.format("x")
    except (IndexError, KeyError, ValueError) as exc:
        raise SettingsError(
            f"Template {template!r} has braces other than one {{}} (and {{target}}): "
            f"{exc!r}. Write literal braces as {{{{ and }}}}."
        ) from None
    return filled


def hypotheses(template: str, target: str | None, phrases: Sequence[str]) -> list[str]:
    """One NLI hypothesis per phrase: the template with target and phrase filled in."""
    filled = check_template(template, target)
    return [filled.format(p) for p in phrases]


def check_heldout_share(share: float) -> float:
    if not 0.0 <= share < 1.0:
        raise SettingsError(
            f"Held-out share {share} is outside [0, 1); 0.2 keeps one tweet in five for testing."
        )
    return float(share)


@dataclass
class ProjectSettings:
    """A project's editable settings, validated on construction (SettingsError says what to fix)."""

    name: str
    labels: list[str]
    guidelines: str = ""
    target: str = ""
    template: str = DEFAULT_TEMPLATE
    phrases: list[str] | None = None
    heldout_share: float = 0.2

    def __post_init__(self) -> None:
        self.name = str(self.name or "").strip()
        if not self.name:
            raise SettingsError("The project needs a name.")
        if isinstance(self.labels, str):
            self.labels = split_list(self.labels)
        self.labels = check_labels(self.labels, minimum=2)
        self.phrases = check_phrases(self.phrases, self.labels)
        self.target = str(self.target or "").strip()
        # a project may be saved before its target is known: only the phrase slot must be sound
        check_template(self.template.replace("{target}", "x"))
        self.heldout_share = check_heldout_share(self.heldout_share)
