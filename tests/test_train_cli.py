"""`python -m labeler train | predict | evaluate`: file in, model / labelled file / report out;
bad input is one line "error: ..." on stderr with exit code 2."""

from __future__ import annotations

import csv
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labeler.cli.main import main

ROOT = Path(__file__).resolve().parents[1]
WORDS = "the policy tweet workers news school music weather bosses wages prices".split()
KEYWORDS = {"favor": ["good", "great"], "against": ["bad", "awful"], "none": ["love", "hate"]}


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tiny models gain nothing from threads, and on a shared 2-core machine two threads waiting
    for each other made these tests 3-5x slower (measured)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def write_csv(path: Path, n: int, seed: int, labels=("against", "favor", "none")) -> Path:
    rnd = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "tweet", "stance"])
        for i in range(n):
            label = labels[i % len(labels)]
            words = rnd.sample(WORDS, 3) + [rnd.choice(KEYWORDS[label])]
            w.writerow([i, " ".join(words), label])
    return path


FAST = ["--epochs", "1", "--head-epochs", "1", "--lr", "3e-3", "--batch-size", "8"]


@pytest.fixture(scope="module")
def trained(tiny_models, tmp_path_factory):
    """One CLI training run (stratified split of INPUT) shared by the tests below."""
    root = tmp_path_factory.mktemp("cli")
    data = write_csv(root / "labelled.csv", 30, seed=1)
    model = root / "model"
    return root, data, model


def test_train_predict_evaluate(trained, tiny_models, capsys):
    root, data, model = trained
    rc = main(
        [
            "train",
            str(data),
            "-o",
            str(model),
            "--text-col",
            "tweet",
            "--label-col",
            "stance",
            "--model",
            str(tiny_models["base_bert"]),
            "--seed",
            "3",
            "--test-size",
            "0.3",
            "--head-init",
            "logistic",
            "--average-epochs",
            "2",
            *FAST,
        ]
    )
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "21 train / 9 test (stratified split" in out
    assert "macro-F1" in out and "confusion matrix" in out and "stance F1" in out
    assert "[fine-tune] step" in err and "samples/s" in err  # progress on stderr
    cfg = json.loads((model / "training_config.json").read_text())
    assert cfg["settings"]["seed"] == 3 and cfg["train_size"] == 21 and cfg["eval_size"] == 9
    assert cfg["settings"]["head_init"] == "logistic" and cfg["settings"]["average_epochs"] == 2
    assert (
        "stratified split" in cfg["split"]
        and "Split: 21 train / 9 test" in (model / "README.md").read_text()
    )

    # predict: the input's columns plus pred_label, pred_score and one score per label.
    new = root / "new.csv"
    pd.DataFrame(
        {
            "tweet": ["good news", "awful wages", "", "hate the weather"],
            "keep": ["a", "b", "c", "d"],
        }
    ).to_csv(new, index=False)
    out_file = root / "pred.csv"
    rc = main(["predict", str(model), str(new), "-o", str(out_file), "--text-col", "tweet"])
    assert rc == 0
    assert "wrote 4 rows" in capsys.readouterr().out
    pred = pd.read_csv(out_file, keep_default_na=False)
    assert list(pred.columns) == [
        "tweet",
        "keep",
        "pred_label",
        "pred_score",
        "pred_score_against",
        "pred_score_favor",
        "pred_score_none",
    ]
    scores = pred[["pred_score_against", "pred_score_favor", "pred_score_none"]].to_numpy()
    assert np.allclose(scores.sum(axis=1), 1.0, atol=1e-6)
    assert np.allclose(pred["pred_score"], scores.max(axis=1))
    assert set(pred["pred_label"]) <= {"against", "favor", "none"}

    # evaluate: report on stdout, JSON with the agreed keys.
    metrics_file = root / "metrics.json"
    rc = main(
        [
            "evaluate",
            str(model),
            str(data),
            "--text-col",
            "tweet",
            "--label-col",
            "stance",
            "-o",
            str(metrics_file),
        ]
    )
    assert rc == 0
    assert "accuracy" in capsys.readouterr().out
    m = json.loads(metrics_file.read_text())
    assert {
        "accuracy",
        "macro_f1",
        "mcc",
        "per_class",
        "confusion_matrix",
        "confusion_labels",
    } <= set(m)
    assert m["confusion_labels"] == ["against", "favor", "none"]
    assert set(m["per_class"]["favor"]) == {"precision", "recall", "f1", "support"}
    assert np.array(m["confusion_matrix"]).sum() == 30


def test_train_with_separate_eval_file(tiny_models, tmp_path, capsys):
    data = write_csv(tmp_path / "train.csv", 16, seed=2, labels=("against", "favor"))
    test = write_csv(tmp_path / "test.tsv", 6, seed=3, labels=("against", "favor"))
    rows = test.read_text().replace(",", "\t")
    test.write_text(rows)
    rc = main(
        [
            "train",
            str(data),
            "-o",
            str(tmp_path / "m"),
            "--text-col",
            "tweet",
            "--label-col",
            "stance",
            "--model",
            str(tiny_models["base_distilbert"]),
            "--eval",
            str(test),
            *FAST,
        ]
    )
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "all 16 rows of" in out and "6 rows of" in out
    assert "ROC-AUC" in out  # binary: AUCs in the report


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--label-col", "nope"], "The label column 'nope' is not in"),
        (["--text-col", "body"], "The text column 'body' is not in"),
        (["--epochs", "0"], "Epochs must be a whole number of at least 1 (got 0)"),
        (["--lr", "0"], "Learning rate must be above 0"),
        (["--test-size", "1.5"], "strictly between 0 and 1 (got 1.5)"),
        (["--model", "./no/such/folder"], "does not exist"),
    ],
)
def test_cli_errors_are_one_line(tmp_path, capsys, extra, message):
    data = write_csv(tmp_path / "d.csv", 15, seed=4)
    args = [
        "train",
        str(data),
        "-o",
        str(tmp_path / "m"),
        "--text-col",
        "tweet",
        "--label-col",
        "stance",
    ]
    for flag, value in zip(extra[::2], extra[1::2], strict=True):
        if flag in args:
            args[args.index(flag) + 1] = value
        else:
            args += [flag, value]
    rc = main(args)
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    errors = [line for line in err if line.startswith("error: ")]
    assert len(errors) == 1 and err[-1] == errors[0] and message in errors[0]
    assert "Traceback" not in "\n".join(err)
    assert not (tmp_path / "m").exists()


def test_cli_data_errors_carry_counts(tmp_path, capsys):
    data = tmp_path / "d.csv"
    data.write_text("text,label\na,x\nb,x\nc,x\nd,y\n")
    assert main(["train", str(data), "-o", str(tmp_path / "m"), "--test-size", "0.5"]) == 2
    err = capsys.readouterr().err
    assert "fewer than 2 examples ('y': 1; all counts: 'x': 3, 'y': 1)" in err
    empty = tmp_path / "e.csv"
    empty.write_text("text,label\na,\nb,\n")
    assert main(["train", str(empty), "-o", str(tmp_path / "m")]) == 2
    assert "no labelled rows" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_predict_and_evaluate_errors(tiny_models, tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", 6, seed=5)
    assert (
        main(
            [
                "predict",
                str(tmp_path / "none"),
                str(data),
                "-o",
                str(tmp_path / "o.csv"),
                "--text-col",
                "tweet",
            ]
        )
        == 2
    )
    assert "does not exist" in capsys.readouterr().err
    assert (
        main(["predict", str(tiny_models["nli_bert"]), str(data), "-o", str(tmp_path / "o.csv")])
        == 2
    )
    assert "The text column 'text' is not in" in capsys.readouterr().err
    # Gold labels the model does not know: say which.
    assert (
        main(
            [
                "evaluate",
                str(tiny_models["nli_bert"]),
                str(data),
                "--text-col",
                "tweet",
                "--label-col",
                "stance",
            ]
        )
        == 2
    )
    assert "are not among the model's labels" in capsys.readouterr().err


def test_python_dash_m_entry_point(tmp_path):
    data = write_csv(tmp_path / "d.csv", 6, seed=6)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "labeler",
            "train",
            str(data),
            "-o",
            str(tmp_path / "m"),
            "--text-col",
            "tweet",
            "--label-col",
            "stance",
            "--epochs",
            "0",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: Epochs must be")
    assert "Traceback" not in proc.stderr
