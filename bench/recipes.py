"""Recipe search behind the training defaults (labeler/training/settings.py): which fine-tuning recipe wins
with a few hundred labelled tweets? Not a test; run it by hand: each recipe takes ~7 minutes
per seed on 2 cores (two targets), a few seconds on a GPU.

Honest protocol: the test files are never looked at here. Per target, train+val are pooled and
split once (stratified, seed 0) into a development-training part (75%) and a development part
(25%, ~130-160 tweets). Every recipe trains on the first and is scored on the second; TF-IDF + LR
and frozen mean-pooled MiniLM embeddings + LR are scored on the same split for reference.
bench/finetune.py then scores the chosen defaults on the untouched test files.

--folds K replaces that one split with stratified K-fold cross-validation over all of train+val
(seed 0): every recipe trains K times and is scored on each held-out fold in turn, so each score
rests on every one of the 500-650 pooled tweets instead of 130-160 (the single development split
picked a recipe that then lost on test).

Each recipe runs once per seed (--seeds, default 0,1,2; the seed draws the new head and the
batch order) and the table gives the mean over seeds. Each recipe also logs the development
score after every epoch, so the table shows what picking the best epoch would have given
("best ep") next to what the fixed recipe gives ("last").

Weight soups (S1...) and domain-adapted recipes (A1...: a masked-LM pass over the target's
train+val texts, labels unused, then fine-tuning from that folder) run only when --only names them.

    HF_HUB_OFFLINE=1 nice -n 5 python bench/recipes.py [--data ../shared/data] [--quick]
        [--only R1,R3] [--seeds 0,1,2] [--folds 4] [--jsonl /tmp/recipes.jsonl]
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # read at import by huggingface_hub
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import argparse  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from labeler.evaluation.metrics import stance_f1  # noqa: E402
from labeler.training.run import train_classifier  # noqa: E402
from labeler.training.settings import TrainSettings  # noqa: E402

# name -> (what it is, TrainSettings overrides). Common: bundled MiniLM, batch 16, max length 128.
RECIPES: dict[str, tuple[str, dict]] = {
    "R1": (
        "naive: 4 ep, lr 5e-5, no warmup/wd/weights (notebook-like)",
        dict(
            head_epochs=0,
            epochs=4,
            learning_rate=5e-5,
            warmup=0.0,
            weight_decay=0.0,
            class_weights=False,
        ),
    ),
    "R2": (
        "long: 8 ep, lr 1e-4, warmup .1, class weights",
        dict(head_epochs=0, epochs=8, learning_rate=1e-4),
    ),
    "R3": (
        "LP-FT: head 4 ep @2e-3, then 6 ep @5e-5, class weights",
        dict(head_epochs=4, head_learning_rate=2e-3, epochs=6, learning_rate=5e-5),
    ),
    "R4": (
        "no head phase: 6 ep @5e-5, class weights (R3 minus LP)",
        dict(head_epochs=0, epochs=6, learning_rate=5e-5),
    ),
    "R5": (
        "LP-FT: head 4 ep @2e-3, then 4 ep @1e-4",
        dict(head_epochs=4, head_learning_rate=2e-3, epochs=4, learning_rate=1e-4),
    ),
    "R6": (
        "LP-FT: head 4 ep @2e-3, then 8 ep @3e-5",
        dict(head_epochs=4, head_learning_rate=2e-3, epochs=8, learning_rate=3e-5),
    ),
    "R7": (
        "R3 without class weights",
        dict(
            head_epochs=4,
            head_learning_rate=2e-3,
            epochs=6,
            learning_rate=5e-5,
            class_weights=False,
        ),
    ),
    "R8": (
        "logistic head start (LP in closed form), then the default 6 ep @5e-5",
        dict(head_init="logistic"),
    ),
    "R9": (
        "default, saving the mean of the last 3 epochs' weights",
        dict(average_epochs=3),
    ),
    "R10": (
        "logistic head start, 8 ep @3e-5, mean of the last 4 epochs' weights",
        dict(head_init="logistic", epochs=8, learning_rate=3e-5, average_epochs=4),
    ),
    "R11": (
        "the reference notebook's: 3 ep @5e-5, batch 8, no warmup/wd/weights",
        dict(
            epochs=3,
            learning_rate=5e-5,
            batch_size=8,
            warmup=0.0,
            weight_decay=0.0,
            class_weights=False,
        ),
    ),
    "R12": ("the defaults without class weights", dict(class_weights=False)),
    "R13": ("the defaults at batch 8", dict(batch_size=8)),
    # abortion's cross-validation curves under the defaults still rose at epoch 6 in 3 of 4 folds
    "R14": ("the defaults for 10 epochs", dict(epochs=10)),
}


def load_target(folder: Path) -> pd.DataFrame:
    return pd.concat(
        [pd.read_csv(folder / "train.csv"), pd.read_csv(folder / "val.csv")], ignore_index=True
    ).astype(str)


def dev_splits(pool: pd.DataFrame, quick: bool, folds: int) -> list[tuple]:
    """[(development-training part, development part)]: one 75/25 split, or K folds."""
    from sklearn.model_selection import StratifiedKFold, train_test_split

    if quick:
        pool = pool.groupby("label", group_keys=False).head(40)
    if folds < 2:
        return [train_test_split(pool, test_size=0.25, random_state=0, stratify=pool["label"])]
    kf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    return [(pool.iloc[a], pool.iloc[b]) for a, b in kf.split(pool, pool["label"])]


def baselines(tr: pd.DataFrame, dev: pd.DataFrame) -> dict[str, tuple[float, float]]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score

    out = {}
    vec = TfidfVectorizer(ngram_range=(1, 2))
    lr = LogisticRegression(max_iter=3000, class_weight="balanced")
    pred = lr.fit(vec.fit_transform(tr.text), tr.label).predict(vec.transform(dev.text))
    out["TF-IDF 1-2g + LR"] = (
        stance_f1(dev.label, pred),
        f1_score(dev.label, pred, average="macro"),
    )
    emb_tr, emb_dev = mean_pooled(tr.text.tolist()), mean_pooled(dev.text.tolist())
    lr = LogisticRegression(max_iter=3000, class_weight="balanced")
    pred = lr.fit(emb_tr, tr.label).predict(emb_dev)
    out["frozen MiniLM mean-pool + LR"] = (
        stance_f1(dev.label, pred),
        f1_score(dev.label, pred, average="macro"),
    )
    return out


def mean_pooled(texts: list[str]) -> np.ndarray:
    import torch
    from transformers import AutoModel, AutoTokenizer

    from labeler.models.resolve import bundled_minilm_path

    path = str(bundled_minilm_path())
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path, dtype=torch.float32).eval()
    rows = []
    with torch.inference_mode():
        for i in range(0, len(texts), 64):
            b = tok(
                texts[i : i + 64],
                padding=True,
                truncation=True,
                max_length=128,
                return_tensors="pt",
            )
            h = model(**b).last_hidden_state
            m = b["attention_mask"].unsqueeze(-1).float()
            rows.append(((h * m).sum(1) / m.sum(1)).numpy())
    return np.concatenate(rows)


def recipe_settings(
    overrides: dict, quick: bool, seed: int = 0, model: str = "bundled"
) -> TrainSettings:
    """A recipe's settings; with `quick`, one epoch and no averaging (a smoke run)."""
    settings = TrainSettings(model=model, seed=seed, **overrides)
    if not quick:
        return settings
    quick_run = {"epochs": 1, "head_epochs": min(1, settings.head_epochs), "average_epochs": 0}
    return TrainSettings(**{**settings.to_dict(), **quick_run})


def run_recipe(
    name: str, overrides: dict, tr, dev, quick: bool, seed: int, model: str = "bundled"
) -> dict:
    settings = recipe_settings(overrides, quick, seed, model)
    with tempfile.TemporaryDirectory(prefix="recipe-") as tmp:
        t0 = time.perf_counter()
        res = train_classifier(
            tr.text.tolist(),
            tr.label.tolist(),
            settings,
            Path(tmp) / "model",
            dev.text.tolist(),
            dev.label.tolist(),
        )
        seconds = time.perf_counter() - t0
    per_epoch = [e for e in res.log if "eval_macro_f1" in e]
    return {
        "recipe": name,
        "seed": seed,
        "stance_f1": res.metrics["stance_f1"],
        "macro_f1": res.metrics["macro_f1"],
        "best_epoch_macro_f1": max(e["eval_macro_f1"] for e in per_epoch),
        "best_epoch": max(per_epoch, key=lambda e: e["eval_macro_f1"])["epoch"],
        "curve": [round(e["eval_macro_f1"], 3) for e in per_epoch],
        "seconds": round(seconds, 1),
    }


# name -> (what it is, the members' TrainSettings overrides, their seeds). A soup trains one model
# per seed and saves the mean of their weights: one folder, as loadable as any (Wortsman et al.,
# 2022). The logistic head start gives every member the same head to begin from, so the weights
# stay averageable; the members' own scores are logged too (they are R8 runs).
SOUPS: dict[str, tuple[str, dict, tuple[int, ...]]] = {
    "S1": (
        "soup of 3 seeds of R8 (logistic head start, 6 ep @5e-5)",
        dict(head_init="logistic"),
        (0, 1, 2),
    ),
}


# name -> (what it is, masked-LM epochs, the fine-tuning overrides). Domain-adaptive pretraining
# (Gururangan et al., 2020): a masked-LM pass over the target's tweets without their labels (all of
# train+val, as a project's unlabelled pool would be), then the usual fine-tune from that folder.
# The bundled checkpoint has no MLM head, so its transform layer starts random; the decoder is tied
# to the word embeddings. The adapted folder depends on the target and seed only, not the fold.
ADAPTED: dict[str, tuple[str, int, dict]] = {
    "A1": ("masked-LM pass over train+val texts (5 ep @5e-5), then the defaults", 5, {}),
}


def adapt(texts: list[str], folder: Path, epochs: int, seed: int, quick: bool) -> Path:
    """A masked-LM pass over `texts` from the bundled MiniLM, saved (safetensors) in `folder`."""
    from datasets import Dataset
    from transformers import (
        AutoModelForMaskedLM,
        AutoTokenizer,
        DataCollatorForLanguageModeling,
        Trainer,
        TrainingArguments,
    )

    from labeler.models.resolve import bundled_minilm_path

    path = str(bundled_minilm_path())
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForMaskedLM.from_pretrained(path)
    data = Dataset.from_dict({"text": texts}).map(
        lambda b: tok(b["text"], truncation=True, max_length=128),
        batched=True,
        remove_columns=["text"],
    )
    args = TrainingArguments(
        output_dir=str(folder / "scratch"),
        num_train_epochs=1 if quick else epochs,
        learning_rate=5e-5,
        warmup_steps=0.1,
        weight_decay=0.01,
        per_device_train_batch_size=32,
        seed=seed,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        dataloader_pin_memory=False,
    )
    collator = DataCollatorForLanguageModeling(tok, mlm_probability=0.15, seed=seed)
    Trainer(model=model, args=args, train_dataset=data, data_collator=collator).train()
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


# name -> (what it is, pair rounds, the fine-tuning overrides). SetFit's body pass (Tunstall et
# al., 2022): the sentence encoder is first tuned so that tweets with the same label embed close
# and tweets with different labels far apart (cosine-similarity loss on pairs drawn from the
# fold's training part only), then the usual fine-tune starts from that body. The head still
# reads BERT's pooler, so the folder stays loadable by pipeline("text-classification").
CONTRASTIVE: dict[str, tuple[str, int, dict]] = {
    "C1": ("SetFit body pass (3 pair rounds, 1 ep @2e-5), then the defaults", 3, {}),
}


def sentence_pairs(texts: list[str], labels: list[str], rounds: int, seed: int) -> dict:
    """SetFit's pair draw: per round, each tweet with one same-label and one other-label tweet."""
    import random

    rng = random.Random(seed)
    by_label: dict[str, list[str]] = {}
    for t, lab in zip(texts, labels, strict=True):
        by_label.setdefault(lab, []).append(t)
    a, b, score = [], [], []
    for _ in range(rounds):
        for t, lab in zip(texts, labels, strict=True):
            others = [x for x in by_label if x != lab]
            a += [t, t]
            b += [rng.choice(by_label[lab]), rng.choice(by_label[rng.choice(others)])]
            score += [1.0, 0.0]
    return {"sentence1": a, "sentence2": b, "score": score}


def contrastive_body(tr, folder: Path, rounds: int, seed: int, quick: bool) -> Path:
    """The bundled MiniLM after a SetFit-style pair pass on `tr`, saved as a plain BERT folder."""
    from datasets import Dataset
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
        losses,
    )

    from labeler.models.resolve import bundled_minilm_path

    model = SentenceTransformer(str(bundled_minilm_path()), device="cpu")
    model.max_seq_length = 128
    pairs = Dataset.from_dict(
        sentence_pairs(tr.text.tolist(), tr.label.tolist(), 1 if quick else rounds, seed)
    )
    args = SentenceTransformerTrainingArguments(
        output_dir=str(folder / "scratch"),
        num_train_epochs=1,
        learning_rate=2e-5,
        warmup_steps=0.1,
        per_device_train_batch_size=16,
        seed=seed,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        dataloader_pin_memory=False,
    )
    SentenceTransformerTrainer(
        model=model, args=args, train_dataset=pairs, loss=losses.CosineSimilarityLoss(model)
    ).train()
    model[0].auto_model.save_pretrained(folder)
    model[0].tokenizer.save_pretrained(folder)
    return folder


def run_soup(name: str, tr, dev, quick: bool, seed: int) -> dict:
    """Train the soup's members (their seeds offset by `seed` * 100), average, score on dev."""
    import torch
    from safetensors.torch import load_file, save_file
    from sklearn.metrics import f1_score

    from labeler.models.classifier import predict

    _, overrides, seeds = SOUPS[name]
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="soup-") as tmp:
        folders, members = [], []
        for k in seeds:
            settings = TrainSettings(model="bundled", seed=seed * 100 + k, **overrides)
            if quick:
                settings = TrainSettings(**{**settings.to_dict(), "epochs": 1})
            folder = Path(tmp) / f"m{k}"
            res = train_classifier(
                tr.text.tolist(), tr.label.tolist(), settings, folder,
                dev.text.tolist(), dev.label.tolist(),
            )  # fmt: skip
            folders.append(folder)
            members.append(round(res.metrics["stance_f1"], 3))
        weights = [load_file(f / "model.safetensors") for f in folders]
        mean = {
            k: (sum(w[k].double() for w in weights) / len(weights)).to(weights[0][k].dtype)
            if torch.is_floating_point(weights[0][k])
            else weights[0][k]
            for k in weights[0]
        }
        save_file(mean, folders[0] / "model.safetensors", metadata={"format": "pt"})
        pred = predict(str(folders[0]), dev.text.tolist()).labels
    return {
        "recipe": name,
        "seed": seed,
        "stance_f1": stance_f1(dev.label.tolist(), pred),
        "macro_f1": f1_score(dev.label.tolist(), pred, average="macro"),
        "members": members,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--quick", action="store_true", help="tiny subsets, 1 epoch: a smoke run")
    ap.add_argument("--only", default="", help="comma-separated recipe names")
    ap.add_argument("--jsonl", default="", help="append each result as a JSON line here")
    ap.add_argument("--seeds", default="0,1,2", help="seeds per recipe, comma-separated")
    ap.add_argument(
        "--folds", type=int, default=0, help="K-fold cross-validation instead of one 75/25 split"
    )
    ap.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch threads (1 is faster when other work shares the cores)",
    )
    args = ap.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    root = Path(args.data) / "tweeteval-stance"
    targets = sorted(p for p in root.iterdir() if (p / "train.csv").is_file())
    names = [n for n in (args.only.split(",") if args.only else RECIPES) if n in RECIPES]
    soups = [n for n in args.only.split(",") if n in SOUPS]
    adapted = [n for n in args.only.split(",") if n in ADAPTED]
    contrastive = [n for n in args.only.split(",") if n in CONTRASTIVE]
    pools: dict[str, list[str]] = {}
    rows = []
    splits = {}
    for target in targets:
        pool = load_target(target)
        splits[target.name] = dev_splits(pool, args.quick, args.folds)
        pools[target.name] = pool.text.tolist()[: 80 if args.quick else None]
        for fold, (tr, dev) in enumerate(splits[target.name]):
            print(
                f"## {target.name} fold {fold}: dev-train {len(tr)}, dev {len(dev)} "
                f"{dev.label.value_counts().to_dict()}",
                flush=True,
            )
            for base, (st, mf) in baselines(tr, dev).items():
                rows.append(
                    {"target": target.name, "recipe": base, "stance_f1": st, "macro_f1": mf}
                )
                print(f"{target.name:10s} {base:32s} stance {st:.3f} macro {mf:.3f}", flush=True)
    # Recipe by recipe over both targets, so a run cut short still compares whole recipes.
    seeds = [int(x) for x in args.seeds.split(",")]
    for name in [*names, *soups, *adapted, *contrastive]:
        for seed, (target, folds) in itertools.product(seeds, splits.items()):
            base, scratch = "bundled", None
            if name in ADAPTED:  # once per target and seed: the fold's labels are not used
                scratch = tempfile.TemporaryDirectory(prefix="adapted-")  # ~90 MB a folder
                folder = Path(scratch.name)
                t0 = time.perf_counter()
                base = str(adapt(pools[target], folder, ADAPTED[name][1], seed, args.quick))
                print(
                    f"{target:10s} {name} masked-LM pass {time.perf_counter() - t0:.0f}s",
                    flush=True,
                )
            for fold, (tr, dev) in enumerate(folds):
                if name in SOUPS:
                    r = run_soup(name, tr, dev, args.quick, seed)
                    detail = f"members {r['members']}"
                elif name in CONTRASTIVE:  # the pairs use labels: once per fold
                    _, rounds, overrides = CONTRASTIVE[name]
                    with tempfile.TemporaryDirectory(prefix="setfit-") as body:
                        t0 = time.perf_counter()
                        folder = contrastive_body(tr, Path(body), rounds, seed, args.quick)
                        took = time.perf_counter() - t0
                        r = run_recipe(name, overrides, tr, dev, args.quick, seed, str(folder))
                    r["seconds"] = round(r["seconds"] + took, 1)
                    detail = f"pair pass {took:.0f}s curve {r['curve']}"
                else:
                    overrides = ADAPTED[name][2] if name in ADAPTED else RECIPES[name][1]
                    r = run_recipe(name, overrides, tr, dev, args.quick, seed, base)
                    detail = (
                        f"best-ep {r['best_epoch_macro_f1']:.3f}@{r['best_epoch']} "
                        f"curve {r['curve']}"
                    )
                r = {"target": target, "fold": fold, **r}
                rows.append(r)
                print(
                    f"{target:10s} {name:5s} seed {seed} fold {fold} stance {r['stance_f1']:.3f} "
                    f"macro {r['macro_f1']:.3f} {detail} {r['seconds']}s",
                    flush=True,
                )
                if args.jsonl:
                    with open(args.jsonl, "a", encoding="utf-8") as fh:
                        fh.write(json.dumps(r) + "\n")
            if scratch is not None:
                scratch.cleanup()
    table = pd.DataFrame(rows)  # pivot_table's mean: over seeds and folds
    summary = table.pivot_table(index="recipe", columns="target", values=["stance_f1", "macro_f1"])
    summary[("stance_f1", "mean")] = summary["stance_f1"].mean(axis=1)
    summary[("macro_f1", "mean")] = summary["macro_f1"].mean(axis=1)
    print("\n" + summary.round(3).sort_values(("stance_f1", "mean"), ascending=False).to_string())
    print("\n" + "\n".join(f"{k}: {v[0]}" for k, v in RECIPES.items() if k in names))
    print("\n".join(f"{k}: {v[0]}" for k, v in SOUPS.items() if k in soups))
    print("\n".join(f"{k}: {v[0]}" for k, v in ADAPTED.items() if k in adapted))
    print("\n".join(f"{k}: {v[0]}" for k, v in CONTRASTIVE.items() if k in contrastive))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
