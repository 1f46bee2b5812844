"""The model folder a run leaves behind, and how it appears: whole or not at all.

`prepare_out_dir` refuses a non-empty folder unless overwriting is allowed. `staged_folder` gives
the run a hidden temporary folder beside the target (`.NAME.partial-XXXX`) and, when the run
ends well, puts it in place with renames only (an old folder is moved aside, then removed), so no
half-written model is ever visible; on failure or cancel the temporary folder is removed. Inside
it, `save_model` writes the weights (safetensors), config and tokenizer that
`transformers.pipeline("text-classification", model=FOLDER)` loads, and `write_records` writes
training_config.json (settings, base model, phases, library versions), data_fingerprint.json,
metrics.json, training_log.json and a README.md model card.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import InputError
from .data import TrainingData
from .settings import TrainSettings


def prepare_out_dir(out_dir: str | Path, overwrite: bool) -> Path:
    """The target folder; InputError if it is a file, or holds entries and overwrite is off."""
    out = Path(out_dir).expanduser()
    if out.exists():
        if not out.is_dir():
            raise InputError(f"'{out}' exists and is a file; give a folder path for the model.")
        entries = list(out.iterdir())
        if entries and not overwrite:
            raise InputError(
                f"Model folder '{out}' already exists and holds {len(entries)} entries. Choose a "
                "new folder, or allow overwriting it (--overwrite on the command line)."
            )
    return out  # its parent is created only once training starts (staged_folder)


@contextlib.contextmanager
def staged_folder(out: Path) -> Iterator[Path]:
    """A temporary folder beside `out`, renamed to `out` if the block ends well, else removed."""
    tmp = out.with_name(f".{out.name}.partial-{uuid.uuid4().hex[:8]}")
    tmp.mkdir(parents=True)
    try:
        yield tmp
        old = None
        if out.exists():
            old = out.with_name(f".{out.name}.old-{uuid.uuid4().hex[:8]}")
            os.replace(out, old)
        os.replace(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def save_model(folder: Path, model: Any, tokenizer: Any, max_length: int) -> None:
    """Weights, config and tokenizer, as `from_pretrained` and the pipeline read them."""
    from ..models.load import quiet_progress_bars

    with quiet_progress_bars():  # transformers shows a "Writing model shards" bar
        model.save_pretrained(str(folder))
    # The pipeline reads model_max_length: with truncation=True it then cuts where training did.
    tokenizer.model_max_length = max_length
    tokenizer.save_pretrained(str(folder))


def versions() -> dict[str, str]:
    import datasets
    import sklearn
    import torch
    import transformers

    from .. import __version__

    return {
        "labeler": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "datasets": datasets.__version__,
        "scikit-learn": sklearn.__version__,
    }


def training_config(
    settings: TrainSettings,
    resolved: Any,
    data: TrainingData,
    *,
    phases: list[dict[str, Any]],
    total_steps: int,
    train_seconds: float,
    samples_per_s: float,
    split: str | None,
) -> dict[str, Any]:
    """What training_config.json records: enough to tell how the model was made."""
    return {
        "settings": settings.to_dict(),
        "base_model": {
            "display": resolved.display,
            "location": resolved.location,
            "source": resolved.source,
            "spec": resolved.spec,
        },
        "labels": data.names,
        "label2id": data.label2id,
        "seed": settings.seed,
        "train_size": len(data.texts),
        "eval_size": len(data.eval_texts),
        "split": split,
        "phases": phases,
        "total_steps": total_steps,
        "train_seconds": round(train_seconds, 2),
        "samples_per_s": round(samples_per_s, 2),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "versions": versions(),
        "data": data.fingerprint(),
    }


def write_records(
    folder: Path,
    *,
    name: str,
    config: dict[str, Any],
    data: TrainingData,
    metrics: dict[str, Any] | None,
    log: list[dict[str, Any]],
) -> None:
    """The JSON records and the model card beside the weights; `name` titles the card."""
    _write_json(folder / "training_config.json", config)
    _write_json(folder / "data_fingerprint.json", config["data"])
    _write_json(
        folder / "metrics.json",
        {
            "eval": metrics,
            "eval_size": len(data.eval_texts),
            "note": None if metrics else "no evaluation set was given",
        },
    )
    _write_json(folder / "training_log.json", log)
    card = model_card(name, config, data.counts, data.eval_counts, metrics)
    (folder / "README.md").write_text(card, encoding="utf-8")


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def model_card(
    name: str,
    config: dict[str, Any],
    counts: Counter,
    eval_counts: Counter,
    metrics: dict[str, Any] | None,
) -> str:
    """README.md: what the model is, its data, how it was trained, its scores, how to load it."""
    s = config["settings"]
    base = config["base_model"]
    rows = "\n".join(
        f"| {lab} | {counts.get(lab, 0)} | {eval_counts.get(lab, 0)} |" for lab in config["labels"]
    )
    if metrics:
        per = "\n".join(
            f"| {lab} | {c['precision']:.3f} | {c['recall']:.3f} | {c['f1']:.3f} | {c['support']} |"
            for lab, c in metrics["per_class"].items()
        )
        stance = (
            f", stance F1 (mean of against & favor) {metrics['stance_f1']:.3f}"
            if metrics.get("stance_f1") is not None
            else ""
        )
        score = (
            f"On the {config['eval_size']} held-out texts: accuracy {metrics['accuracy']:.3f}, "
            f"macro-F1 {metrics['macro_f1']:.3f}, MCC {metrics['mcc']:.3f}{stance}.\n\n"
            f"| label | precision | recall | F1 | support |\n|---|---|---|---|---|\n{per}\n"
        )
    else:
        score = "No held-out set was given, so this model has no test scores.\n"
    phases = "; ".join(
        f"{p['phase']}: {p['epochs']} epoch(s) at learning rate {p['learning_rate']:g}"
        for p in config["phases"]
    )
    return f"""# {name}

A text classifier fine-tuned with Tweet Labeler from **{base["display"]}**
(`{base["location"]}`).

## Labels and data
Labels (model id order): {", ".join(f"`{x}`" for x in config["labels"])}.

| label | training texts | held-out texts |
|---|---|---|
{rows}

Training set: {config["train_size"]} texts (sha256 of sorted (text, label) pairs
`{config["data"]["train"]["sha256"][:16]}...`); held-out set: {config["eval_size"]} texts, never
used to train or to choose the model.{" Split: " + config["split"] if config.get("split") else ""}

## Training
{phases}. Batch size {s["batch_size"]}, max length {s["max_length"]} word pieces, warmup
{s["warmup"]}, weight decay {s["weight_decay"]}, class weights {"on" if s["class_weights"] else "off"},
seed {s["seed"]}. Full settings and library versions: `training_config.json`; loss curve and
per-epoch scores: `training_log.json`.

## Scores
{score}
## Intended use
Labelling texts like the training texts (same target, language and source) to help people
annotate and to estimate label shares. Check a sample by hand before relying on its labels; a
few hundred training examples make a useful assistant, not a final judge.

## How to load
```python
from transformers import pipeline

clf = pipeline("text-classification", model="{name}", truncation=True)
clf("text to label")  # [{{'label': ..., 'score': ...}}]
```
or `python -m labeler predict {name} INPUT.csv -o OUT.csv --text-col text`.
"""
