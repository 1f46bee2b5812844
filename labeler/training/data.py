"""The labelled data of a training run: checked, split, fingerprinted and tokenised.

Everything here runs before any model loads, so bad input fails in a second with the counts per
label in the message. `prepare_data` cleans the training (and optional evaluation) set and fixes
the label order, which becomes the model's label ids. `split_train_test` is the seeded,
stratified split the CLI uses when no separate test file is given. `encode` tokenises to a
`datasets.Dataset` truncated at `max_length` but not padded: the Trainer's
`DataCollatorWithPadding` pads each batch only to its own longest text (tweets are short and
uneven, so padding everything to max_length would waste most of the work).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import DataError, InputError, SettingsError

MIN_PER_LABEL = 2  # fewer examples of a label than this cannot train (nor be split) sensibly


def _counts_text(counts: Counter | dict[str, int]) -> str:
    return ", ".join(
        f"'{k}': {v}" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    )


def _clean_pairs(texts: Sequence[Any], labels: Sequence[Any], what: str) -> tuple[list, list]:
    if texts is None or labels is None:
        raise DataError(f"The {what} set is missing: give texts and labels.")
    texts, labels = list(texts), list(labels)
    if len(texts) != len(labels):
        raise InputError(
            f"The {what} set has {len(texts)} texts but {len(labels)} labels: give one label "
            "per text."
        )
    if not texts:
        raise DataError(
            f"The {what} set is empty (0 labelled texts). Label some texts first; a few dozen "
            "per label is a minimum, a few hundred in all works well."
        )

    def missing(v: Any) -> bool:
        return v is None or (isinstance(v, float) and math.isnan(v)) or str(v).strip() == ""

    blank = sum(missing(v) for v in labels)
    if blank:
        raise DataError(
            f"{blank} of {len(labels)} rows of the {what} set have no label. Drop them or label "
            "them before training."
        )
    texts = ["" if t is None or (isinstance(t, float) and math.isnan(t)) else str(t) for t in texts]
    return texts, [str(v).strip() for v in labels]


def check_training_data(texts: Sequence[Any], labels: Sequence[Any]) -> Counter:
    """Raise DataError unless the set can train a classifier; return the counts per label."""
    _, labels = _clean_pairs(texts, labels, "training")
    return check_label_counts(Counter(labels))


def check_label_counts(counts: Counter) -> Counter:
    """`check_training_data`'s rules on the counts per label alone (a page that counts in SQL)."""
    if not counts:
        _clean_pairs([], [], "training")  # the empty set's message
    if len(counts) < 2:
        raise DataError(
            f"Training needs at least two labels; the training set has {len(counts)} "
            f"({_counts_text(counts)}). Label examples of another class too."
        )
    small = {k: v for k, v in counts.items() if v < MIN_PER_LABEL}
    if small:
        raise DataError(
            f"{len(small)} label(s) have fewer than {MIN_PER_LABEL} examples to train on: "
            f"{_counts_text(small)} (all counts: {_counts_text(counts)}). Label more of them or "
            "drop the label."
        )
    return counts


def split_train_test(
    texts: Sequence[Any],
    labels: Sequence[Any],
    test_size: float = 0.2,
    seed: int = 42,
) -> tuple[list[str], list[str], list[str], list[str]]:
    """A seeded, stratified split: (train_texts, test_texts, train_labels, test_labels).

    Every label must have at least two examples, and both parts must be large enough to hold one
    example of every label; the messages give the counts per label.
    """
    from sklearn.model_selection import train_test_split

    if not (isinstance(test_size, (int, float)) and 0 < test_size < 1):
        raise SettingsError(
            f"Test size is the held-out fraction, strictly between 0 and 1 (got {test_size!r})."
        )
    texts, labels = _clean_pairs(texts, labels, "labelled")
    counts = Counter(labels)
    if len(counts) < 2:
        raise DataError(
            f"Splitting for training needs at least two labels; found {len(counts)} "
            f"({_counts_text(counts)}). Label examples of another class too."
        )
    small = {k: v for k, v in counts.items() if v < 2}
    if small:
        raise DataError(
            f"Cannot split into train and test: {len(small)} label(s) have fewer than 2 examples "
            f"({_counts_text(small)}; all counts: {_counts_text(counts)}). Each label needs one "
            "example on each side: label more, or give a separate test file."
        )
    n, k = len(labels), len(counts)
    n_test = math.ceil(test_size * n)
    n_train = n - n_test
    if n_test < k or n_train < k:
        side = "test" if n_test < k else "training"
        raise DataError(
            f"A test size of {test_size} on {n} examples leaves {n_test} for test and {n_train} "
            f"for training, but each side needs at least one example of each of the {k} labels "
            f"({_counts_text(counts)}). Make the {side} share larger or label more."
        )
    tr_x, te_x, tr_y, te_y = train_test_split(
        texts, labels, test_size=test_size, random_state=seed, stratify=labels
    )
    return list(tr_x), list(te_x), list(tr_y), list(te_y)


def data_fingerprint(texts: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
    """sha256 of the sorted (text, label) pairs plus counts: the same data gives the same hash."""
    pairs = sorted(zip((str(t) for t in texts), (str(v) for v in labels), strict=True))
    digest = hashlib.sha256(json.dumps(pairs, ensure_ascii=False).encode("utf-8")).hexdigest()
    counts = Counter(str(v) for v in labels)
    return {"sha256": digest, "n": len(pairs), "counts": dict(sorted(counts.items()))}


@dataclass
class TrainingData:
    """A cleaned training set (and evaluation set, possibly empty) with its label order."""

    texts: list[str]
    labels: list[str]
    counts: Counter
    names: list[str]  # label names in model id order
    eval_texts: list[str] = field(default_factory=list)
    eval_labels: list[str] = field(default_factory=list)
    eval_counts: Counter = field(default_factory=Counter)

    @property
    def label2id(self) -> dict[str, int]:
        return {lab: i for i, lab in enumerate(self.names)}

    def fingerprint(self) -> dict[str, Any]:
        """data_fingerprint of each set (eval: None when there is none)."""
        return {
            "train": data_fingerprint(self.texts, self.labels),
            "eval": data_fingerprint(self.eval_texts, self.eval_labels)
            if self.eval_texts
            else None,
        }


def _label_order(counts: Counter, label_order: Sequence[str] | None) -> list[str]:
    present = set(counts)
    if label_order is None:
        return sorted(present)
    ordered = [str(x) for x in dict.fromkeys(label_order) if str(x) in present]
    return ordered + sorted(present - set(ordered))


def prepare_data(
    texts: Sequence[Any],
    labels: Sequence[Any],
    eval_texts: Sequence[Any] | None = None,
    eval_labels: Sequence[Any] | None = None,
    label_order: Sequence[str] | None = None,
) -> TrainingData:
    """Clean and check both sets; raise DataError/InputError with counts when they cannot train.

    label_order orders the label ids (labels absent from the training data are left out, labels
    it does not name follow alphabetically); the default is alphabetical. The evaluation set may
    not hold labels the training set lacks: the model could never predict them.
    """
    texts, labels = _clean_pairs(texts, labels, "training")
    counts = check_training_data(texts, labels)
    data = TrainingData(texts, labels, counts, _label_order(counts, label_order))
    if eval_texts is None and eval_labels is None:
        return data
    data.eval_texts, data.eval_labels = _clean_pairs(eval_texts, eval_labels, "evaluation")
    data.eval_counts = Counter(data.eval_labels)
    unknown = {k: v for k, v in data.eval_counts.items() if k not in counts}
    if unknown:
        raise DataError(
            f"The evaluation set has labels the training set lacks: {_counts_text(unknown)} "
            f"(training labels: {_counts_text(counts)}). The model cannot predict them: "
            "label training examples of them or drop those rows."
        )
    return data


def encode(
    tokenizer: Any, texts: list[str], labels: list[str], label2id: dict[str, int], max_length: int
):
    """A `datasets.Dataset` of token ids truncated at max_length, unpadded, with label ids."""
    from datasets import Dataset

    enc = tokenizer(texts, truncation=True, max_length=max_length)
    columns = {k: list(v) for k, v in enc.items()}
    columns["labels"] = [label2id[y] for y in labels]
    return Dataset.from_dict(columns)
