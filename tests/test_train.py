"""Fine-tuning engine (labeler.training): learns, saves a pipeline-loadable folder, reports progress,
cancels cleanly, and refuses bad input with counts before any model loads."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from labeler.errors import Cancelled, DataError, InputError, ModelError, SettingsError
from labeler.evaluation.metrics import evaluate_predictions
from labeler.models.classifier import predict
from labeler.training.data import data_fingerprint, split_train_test
from labeler.training.run import train_classifier
from labeler.training.settings import TrainProgress, TrainResult, TrainSettings

FILLER = (
    "the policy tweet workers news school music weather bosses wages prices economy "
    "government sports movie happy sad"
).split()
KEYWORDS = {
    "positive": ["good", "great"],
    "negative": ["bad", "awful"],
    "neutral": ["love", "hate"],
}


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tiny models gain nothing from threads, and on a shared 2-core machine two threads waiting
    for each other made these tests 3-5x slower (measured)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def keyword_data(n: int, labels: list[str], seed: int) -> tuple[list[str], list[str]]:
    """Texts whose label is given by one keyword hidden among 2-5 random filler words."""
    rnd = random.Random(seed)
    texts, gold = [], []
    for i in range(n):
        label = labels[i % len(labels)]
        words = rnd.sample(FILLER, rnd.randint(2, 5))
        words.insert(rnd.randrange(len(words) + 1), rnd.choice(KEYWORDS[label]))
        texts.append(" ".join(words))
        gold.append(label)
    return texts, gold


# Tiny models learn fast at rates far above what a pre-trained encoder wants; no head phase, so a
# run stays ~1-3 s.
FAST = dict(epochs=3, learning_rate=3e-3, head_epochs=1, head_learning_rate=3e-3, batch_size=8)


def no_leftovers(parent: Path) -> list[str]:
    return [p.name for p in parent.iterdir() if ".partial-" in p.name or ".old-" in p.name]


@pytest.fixture(scope="module")
def learnable(tmp_path_factory) -> dict[str, Path]:
    """Tiny BERT and DistilBERT with the libraries' standard init (std 0.02): the session's wide
    random models are built to spread scores and memorise rather than generalise."""
    import torch
    from tiny_models import build_tokenizer
    from transformers import (
        BertConfig,
        BertForSequenceClassification,
        DistilBertConfig,
        DistilBertForSequenceClassification,
    )

    root = tmp_path_factory.mktemp("learnable")
    out = {}
    for arch in ("bert", "distilbert"):
        folder = root / arch
        tok = build_tokenizer(folder)
        torch.manual_seed(0)
        if arch == "bert":
            model = BertForSequenceClassification(
                BertConfig(
                    vocab_size=len(tok),
                    hidden_size=32,
                    num_hidden_layers=2,
                    num_attention_heads=2,
                    intermediate_size=64,
                    pad_token_id=tok.pad_token_id,
                )
            )
        else:
            model = DistilBertForSequenceClassification(
                DistilBertConfig(
                    vocab_size=len(tok),
                    dim=32,
                    n_layers=2,
                    n_heads=2,
                    hidden_dim=64,
                    pad_token_id=tok.pad_token_id,
                )
            )
        model.save_pretrained(str(folder))
        out[arch] = folder
    return out


@pytest.mark.parametrize("arch", ["bert", "distilbert"])
def test_learns_keyword_task_far_above_chance(learnable, tmp_path, arch):
    texts, labels = keyword_data(60, ["negative", "positive"], seed=1)
    test_x, test_y = keyword_data(30, ["negative", "positive"], seed=2)
    settings = TrainSettings(
        model=str(learnable[arch]),
        epochs=8,
        learning_rate=3e-3,
        head_epochs=0,
        batch_size=8,
        seed=1,
    )
    result = train_classifier(texts, labels, settings, tmp_path / "m", test_x, test_y)
    assert result.metrics["macro_f1"] >= 0.9  # chance is 0.5
    # The saved folder, reloaded, scores the same as the engine reported.
    preds = predict(tmp_path / "m", test_x)
    reloaded = evaluate_predictions(test_y, preds.labels, preds.label_names)
    assert reloaded["macro_f1"] == pytest.approx(result.metrics["macro_f1"])


@pytest.fixture(scope="module")
def multiclass_run(tiny_models, tmp_path_factory):
    """A 3-label DistilBERT run (its base has 2 labels: the head is replaced) with an eval set."""
    texts, labels = keyword_data(36, ["negative", "neutral", "positive"], seed=3)
    eval_x, eval_y = keyword_data(12, ["negative", "neutral", "positive"], seed=4)
    out = tmp_path_factory.mktemp("runs") / "multi"
    seen: list[TrainProgress] = []
    settings = TrainSettings(model=str(tiny_models["base_distilbert"]), seed=7, **FAST)
    result = train_classifier(
        texts,
        labels,
        settings,
        out,
        eval_x,
        eval_y,
        progress=seen.append,
        label_order=["positive", "neutral", "negative"],
    )
    return {
        "result": result,
        "progress": seen,
        "texts": texts,
        "labels": labels,
        "eval_x": eval_x,
        "eval_y": eval_y,
        "dir": out,
    }


def test_artifacts_describe_the_run(multiclass_run, tiny_models):
    run, out = multiclass_run, multiclass_run["dir"]
    res: TrainResult = run["result"]
    assert res.model_dir == out and res.labels == ["positive", "neutral", "negative"]
    assert res.base_model_location == str(Path(tiny_models["base_distilbert"]).resolve())
    assert res.train_counts == {"negative": 12, "neutral": 12, "positive": 12}
    for name in (
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "training_config.json",
        "data_fingerprint.json",
        "metrics.json",
        "training_log.json",
        "README.md",
    ):
        assert (out / name).is_file(), name
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["id2label"] == {"0": "positive", "1": "neutral", "2": "negative"}
    tc = json.loads((out / "training_config.json").read_text())
    assert tc["base_model"]["display"] == res.base_model
    assert tc["base_model"]["location"] == res.base_model_location
    assert tc["seed"] == 7 and tc["settings"]["epochs"] == 3
    assert {"torch", "transformers", "datasets", "python"} <= set(tc["versions"])
    assert [p["phase"] for p in tc["phases"]] == ["head", "fine-tune"]
    fp = json.loads((out / "data_fingerprint.json").read_text())
    assert fp["train"] == data_fingerprint(run["texts"], run["labels"])
    assert fp["train"]["counts"] == {"negative": 12, "neutral": 12, "positive": 12}
    metrics = json.loads((out / "metrics.json").read_text())["eval"]
    assert metrics["n"] == 12 and set(metrics["per_class"]) == set(res.labels)
    assert metrics["macro_f1"] == pytest.approx(res.metrics["macro_f1"])
    log = json.loads((out / "training_log.json").read_text())
    assert log == res.log
    losses = [e for e in log if "loss" in e]
    evals = [e for e in log if "eval_macro_f1" in e]
    assert len(losses) >= 4 and all(np.isfinite(e["loss"]) for e in losses)
    assert [e["epoch"] for e in evals] == [1.0, 2.0, 3.0, 4.0]  # 1 head + 3 fine-tune epochs
    assert [e["step"] for e in losses] == sorted(e["step"] for e in losses)
    card = (out / "README.md").read_text()
    assert res.base_model in card and 'pipeline("text-classification"' in card
    assert "| neutral | 12 | 4 |" in card


def test_pipeline_gives_the_same_named_labels(multiclass_run):
    from transformers import pipeline

    out, texts = multiclass_run["dir"], multiclass_run["eval_x"] + ["", "good " * 40]
    pipe = pipeline("text-classification", model=str(out))
    ours = predict(out, texts, batch_size=4)
    assert ours.labels == [d["label"] for d in pipe(texts)]
    assert set(ours.label_names) == {"positive", "neutral", "negative"}
    assert np.allclose(ours.probs.sum(axis=1), 1.0)


def test_progress_reports_every_step(multiclass_run):
    seen: list[TrainProgress] = multiclass_run["progress"]
    total = seen[-1].total_steps
    assert total == 4 * 5  # (1 + 3) epochs x ceil(36 / 8) steps
    steps = [p for p in seen if p.phase in ("head", "fine-tune")]
    assert len(steps) == total
    assert [p.step for p in steps] == list(range(1, total + 1))
    assert seen[0].phase == "prepare" and seen[-1].phase == "done"
    assert {"head", "fine-tune", "evaluate", "save"} <= {p.phase for p in seen}
    assert all(p.samples_per_s > 0 and p.eta_s is not None for p in steps)
    assert steps[-1].epoch == pytest.approx(4.0) and steps[-1].eta_s == pytest.approx(0.0)
    assert any(p.loss is not None and p.loss > 0 for p in steps)


def test_binary_bert_round_trip(tiny_models, tmp_path):
    texts, labels = keyword_data(24, ["negative", "positive"], seed=5)
    out = tmp_path / "bin"
    res = train_classifier(
        texts,
        labels,
        TrainSettings(model=str(tiny_models["base_bert"]), **{**FAST, "epochs": 1}),
        out,
        texts[:10],
        labels[:10],
    )
    assert res.labels == ["negative", "positive"]
    assert {"roc_auc", "pr_auc", "roc_curve"} <= set(res.metrics)
    preds = predict(out, texts[:10])
    assert preds.label_names == ["negative", "positive"]
    assert preds.probs.shape == (10, 2)
    assert no_leftovers(tmp_path) == []


def test_cancel_leaves_no_folder(tiny_models, tmp_path):
    texts, labels = keyword_data(40, ["negative", "positive"], seed=6)
    checks = []

    def cancel_on_third() -> bool:
        checks.append(1)
        return len(checks) >= 3

    with pytest.raises(Cancelled, match=r"cancelled at step \d+ of 20.*no model was saved"):
        train_classifier(
            texts,
            labels,
            TrainSettings(model=str(tiny_models["base_bert"]), **FAST),
            tmp_path / "m",
            should_cancel=cancel_on_third,
        )
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(Cancelled, match="before it started"):
        train_classifier(
            texts,
            labels,
            TrainSettings(model=str(tiny_models["base_bert"])),
            tmp_path / "m",
            should_cancel=lambda: True,
        )
    assert list(tmp_path.iterdir()) == []


def test_a_failure_midway_leaves_no_folder(tiny_models, tmp_path):
    texts, labels = keyword_data(20, ["negative", "positive"], seed=6)

    def broken(p: TrainProgress) -> None:
        if p.step >= 2:
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        train_classifier(
            texts,
            labels,
            TrainSettings(model=str(tiny_models["base_bert"]), **FAST),
            tmp_path / "m",
            progress=broken,
        )
    assert list(tmp_path.iterdir()) == []


def test_overwrite_replaces_an_existing_folder(tiny_models, tmp_path):
    out = tmp_path / "m"
    out.mkdir()
    (out / "old.txt").write_text("old")
    texts, labels = keyword_data(12, ["negative", "positive"], seed=8)
    settings = TrainSettings(
        model=str(tiny_models["base_bert"]), **{**FAST, "epochs": 1, "head_epochs": 0}
    )
    with pytest.raises(InputError, match="already exists and holds 1 entries"):
        train_classifier(texts, labels, settings, out)
    train_classifier(texts, labels, settings, out, overwrite=True)
    assert not (out / "old.txt").exists() and (out / "config.json").is_file()
    assert no_leftovers(tmp_path) == []


# ----------------------------------------------------------------------------------------------
# Bad input: a clear message with counts, before any model loads, and no folder left behind.


@pytest.fixture
def no_model_load(monkeypatch):
    """Fail the test if the engine gets as far as loading a tokenizer or weights."""
    import labeler.training.base_model as base_model

    def refuse(*a, **k):
        raise AssertionError("a model was loaded before the input was checked")

    monkeypatch.setattr(base_model, "load_tokenizer", refuse)
    monkeypatch.setattr(base_model, "load_model", refuse)


@pytest.mark.parametrize(
    ("texts", "labels", "error", "message"),
    [
        ([], [], DataError, r"training set is empty \(0 labelled texts\)"),
        (
            ["a", "b", "c"],
            ["x", "x", "x"],
            DataError,
            r"at least two labels; the training set has 1 \('x': 3\)",
        ),
        (
            ["a", "b", "c", "d"],
            ["x", "x", "x", "y"],
            DataError,
            r"1 label\(s\) have fewer than 2 examples to train on: 'y': 1 "
            r"\(all counts: 'x': 3, 'y': 1\)",
        ),
        (["a", "b"], ["x"], InputError, "2 texts but 1 labels"),
        (
            ["a", "b", "c"],
            ["x", "", None],
            DataError,
            "2 of 3 rows of the training set have no label",
        ),
    ],
)
def test_bad_training_data(no_model_load, tmp_path, texts, labels, error, message):
    with pytest.raises(error, match=message):
        train_classifier(texts, labels, TrainSettings(model="bundled"), tmp_path / "m")
    assert list(tmp_path.iterdir()) == []


def test_eval_label_unknown_to_training(no_model_load, tmp_path):
    with pytest.raises(DataError, match=r"labels the training set lacks: 'z': 2"):
        train_classifier(
            ["a", "b", "c", "d"],
            ["x", "x", "y", "y"],
            TrainSettings(),
            tmp_path / "m",
            eval_texts=["e", "f", "g"],
            eval_labels=["z", "z", "x"],
        )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("epochs", 0, r"Epochs must be a whole number of at least 1 \(got 0\)"),
        ("epochs", 2.5, r"Epochs must be a whole number of at least 1 \(got 2.5\)"),
        ("learning_rate", 0.0, r"Learning rate must be above 0 and below 1 \(got 0.0\)"),
        ("learning_rate", -1e-5, r"Learning rate must be above 0 .*\(got -1e-05\)"),
        ("batch_size", 0, r"Batch size must be a whole number of at least 1 \(got 0\)"),
        ("max_length", 8, r"Max length must be between 16 and 512 .*\(got 8\)"),
        ("max_length", 1024, r"between 16 and 512 .*\(got 1024\)"),
        ("test_size", 0.0, r"strictly between 0 and 1 \(got 0.0\)"),
        ("test_size", 1.0, r"strictly between 0 and 1 \(got 1.0\)"),
        ("test_size", 1.5, r"strictly between 0 and 1 \(got 1.5\)"),
        ("warmup", 1.0, r"Warmup is a fraction .*\(got 1.0\)"),
        ("head_epochs", -1, r"Head epochs must be a whole number, 0 or more \(got -1\)"),
        ("head_learning_rate", 0, r"Head learning rate must be above 0"),
        ("seed", -3, r"Seed must be a whole number, 0 or more \(got -3\)"),
    ],
)
def test_bad_settings_say_what_to_do(field, value, message):
    with pytest.raises(SettingsError, match=message):
        TrainSettings(**{field: value})


def test_defaults_are_valid():
    s = TrainSettings()
    assert s.epochs >= 1 and s.max_length == 128 and s.class_weights and s.head_epochs >= 0


def test_missing_model_fails_fast(tmp_path):
    texts, labels = keyword_data(8, ["negative", "positive"], seed=1)
    with pytest.raises(ModelError, match="does not exist"):
        train_classifier(
            texts, labels, TrainSettings(model=str(tmp_path / "nope") + "/"), tmp_path / "m"
        )
    with pytest.raises(ModelError, match="not in the local cache and HF_HUB_OFFLINE is set"):
        train_classifier(
            texts, labels, TrainSettings(model="someone/no-such-model"), tmp_path / "m"
        )
    assert list(tmp_path.iterdir()) == []


def test_a_model_that_is_not_a_text_classifier(tmp_path):
    vision = tmp_path / "vit"
    vision.mkdir()
    (vision / "config.json").write_text(json.dumps({"model_type": "vit", "hidden_size": 32}))
    texts, labels = keyword_data(8, ["negative", "positive"], seed=1)
    with pytest.raises(ModelError, match=r"model_type 'vit'\) is not a text encoder"):
        train_classifier(texts, labels, TrainSettings(model=str(vision)), tmp_path / "m")
    no_config = tmp_path / "bare"
    no_config.mkdir()
    with pytest.raises(ModelError, match="no config.json"):
        train_classifier(texts, labels, TrainSettings(model=str(no_config)), tmp_path / "m")
    assert not (tmp_path / "m").exists() and no_leftovers(tmp_path) == []


# ----------------------------------------------------------------------------------------------
# Splitting and fingerprints


def test_split_is_stratified_and_seeded():
    texts, labels = keyword_data(30, ["negative", "neutral", "positive"], seed=2)
    a = split_train_test(texts, labels, test_size=0.2, seed=3)
    b = split_train_test(texts, labels, test_size=0.2, seed=3)
    assert a == b
    train_x, test_x, train_y, test_y = a
    assert (
        len(test_x) == 6 and sorted(test_y) == ["negative"] * 2 + ["neutral"] * 2 + ["positive"] * 2
    )
    assert sorted(train_x + test_x) == sorted(texts)


def test_split_refuses_labels_too_small_to_split():
    with pytest.raises(
        DataError,
        match=r"fewer than 2 examples \('y': 1; all counts: 'x': 5, "
        r"'y': 1\)",
    ):
        split_train_test(["t"] * 6, ["x"] * 5 + ["y"], 0.2)
    with pytest.raises(DataError, match=r"leaves 1 for test and 5 for training.*2 labels"):
        split_train_test(["t"] * 6, ["x"] * 3 + ["y"] * 3, 0.1)
    with pytest.raises(DataError, match=r"at least two labels; found 1 \('x': 4\)"):
        split_train_test(["t"] * 4, ["x"] * 4, 0.5)
    with pytest.raises(DataError, match=r"empty \(0 labelled texts\)"):
        split_train_test([], [], 0.5)
    with pytest.raises(SettingsError, match=r"strictly between 0 and 1 \(got 1.2\)"):
        split_train_test(["t"] * 4, ["x", "y"] * 2, 1.2)


def test_fingerprint_ignores_order_but_not_labels():
    a = data_fingerprint(["a", "b"], ["x", "y"])
    assert a == data_fingerprint(["b", "a"], ["y", "x"])
    assert a["sha256"] != data_fingerprint(["a", "b"], ["y", "x"])["sha256"]
    assert a["counts"] == {"x": 1, "y": 1} and a["n"] == 2
