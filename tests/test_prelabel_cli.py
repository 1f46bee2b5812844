"""`python -m labeler prelabel`: files in, pre-labelled files out; bad arguments fail before a model loads."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from labeler.cli.main import main
from labeler.io.read import read_table
from labeler.zeroshot import load as zeroshot
from labeler.zeroshot.load import load_zeroshot
from labeler.zeroshot.settings import EMBEDDING_DISPLAY_NAME, ZeroShotSettings

TWEETS = [
    "What a goal! The football match went to extra time.",
    "Simmer the onions in butter, then add the garlic.",
    "What a goal! The football match went to extra time.",
    "The four day week is great news for workers",
]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread: tiny models on a busy machine run 20x slower with spin-waiting threads."""
    saved, env = torch.get_num_threads(), os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)
    if env is None:
        os.environ.pop("OMP_NUM_THREADS", None)
    else:
        os.environ["OMP_NUM_THREADS"] = env


@pytest.fixture
def tweets_csv(tmp_path):
    path = tmp_path / "tweets.csv"
    lines = ["id,tweet"] + [f'{i},"{t}"' for i, t in enumerate(TWEETS)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def no_model_load(monkeypatch):
    """Make any model load explode: a bad argument must be caught before one."""

    def explode(*a, **k):
        raise AssertionError("a model was loaded before the arguments were checked")

    monkeypatch.setattr(zeroshot, "load_zeroshot", explode)
    monkeypatch.setattr(zeroshot, "load_nli", explode)
    import transformers

    for cls in (transformers.AutoModel, transformers.AutoModelForSequenceClassification):
        monkeypatch.setattr(cls, "from_pretrained", explode)


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main(["prelabel", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_default_is_the_offline_method_with_a_notice(tweets_csv, tmp_path, capsys):
    out_path = tmp_path / "out.csv"
    code, out, err = run_cli(
        capsys,
        tweets_csv,
        "-o",
        out_path,
        "--text-col",
        "tweet",
        "--labels",
        "SPORTS,COOKING",
        "--phrases",
        "sports,cooking",
    )
    assert code == 0, err
    assert "no --model given" in err and EMBEDDING_DISPLAY_NAME in err
    assert "prelabel: 3/3 tweets (100%)" in err  # duplicates scored once
    df = read_table(out_path)
    assert list(df.columns) == [
        "id",
        "tweet",
        "zs_label",
        "zs_score",
        "zs_score_SPORTS",
        "zs_score_COOKING",
    ]
    assert df["zs_label"].tolist()[:3] == ["SPORTS", "COOKING", "SPORTS"]
    s = df[["zs_score_SPORTS", "zs_score_COOKING"]].astype(float).to_numpy()
    assert np.allclose(s.sum(1), 1, atol=1e-5)
    assert f"wrote 4 rows to {out_path}" in out and EMBEDDING_DISPLAY_NAME in out


@pytest.mark.parametrize("ext", ["csv", "tsv", "jsonl", "parquet", "xlsx"])
def test_nli_model_scores_like_the_engine(tiny_models, tweets_csv, tmp_path, capsys, ext):
    out_path = tmp_path / f"out.{ext}"
    code, out, err = run_cli(
        capsys,
        tweets_csv,
        "-o",
        out_path,
        "--text-col",
        "tweet",
        "--labels",
        "AGAINST,FAVOR,NONE",
        "--phrases",
        "against,in favor of,neutral towards",
        "--template",
        "The author of this tweet is {} {target}.",
        "--target",
        "Joe Biden",
        "--model",
        tiny_models["nli_distilbert"],
        "--batch-size",
        "4",
        "--max-length",
        "64",
    )
    assert code == 0, err
    assert "no --model given" not in err and "(NLI)" in err
    df = read_table(out_path)
    settings = ZeroShotSettings(
        str(tiny_models["nli_distilbert"]),
        ["AGAINST", "FAVOR", "NONE"],
        ["against", "in favor of", "neutral towards"],
        "The author of this tweet is {} {target}.",
        target="Joe Biden",
        max_length=64,
    )
    expected = load_zeroshot(settings).score(TWEETS)
    got = df[[f"zs_score_{x}" for x in expected.label_names]].astype(float).to_numpy()
    np.testing.assert_allclose(got, expected.scores, atol=1e-5)
    assert df["zs_label"].tolist() == expected.labels
    assert df["id"].tolist() == ["0", "1", "2", "3"]


def test_multi_label_and_quantize(tiny_models, tweets_csv, tmp_path, capsys):
    out_path = tmp_path / "out.jsonl"
    code, _, err = run_cli(
        capsys,
        tweets_csv,
        "-o",
        out_path,
        "--text-col",
        "tweet",
        "--labels",
        "A,B",
        "--model",
        tiny_models["nli_bert"],
        "--multi-label",
        "--quantize",
    )
    assert code == 0, err
    df = read_table(out_path)
    s = df[["zs_score_A", "zs_score_B"]].astype(float).to_numpy()
    assert not np.allclose(s.sum(1), 1)  # independent per label
    assert "int8" in err


def test_bf16_is_the_opt_in_fast_path(tiny_models, tweets_csv, tmp_path, capsys):
    common = ["--text-col", "tweet", "--labels", "A,B,C", "--model", tiny_models["nli_bert"]]
    code, _, err = run_cli(capsys, tweets_csv, "-o", tmp_path / "bf.csv", *common, "--bf16")
    assert code == 0, err
    assert "bf16" in err  # the model line names the path taken
    code, _, err = run_cli(capsys, tweets_csv, "-o", tmp_path / "fp.csv", *common)
    assert code == 0 and "bf16" not in err
    cols = ["zs_score_A", "zs_score_B", "zs_score_C"]
    bf = read_table(tmp_path / "bf.csv")[cols].astype(float).to_numpy()
    fp = read_table(tmp_path / "fp.csv")[cols].astype(float).to_numpy()
    assert not np.array_equal(bf, fp) and np.abs(bf - fp).max() < 0.06


BAD = [
    (["--template", "This tweet is good."], "has no {} placeholder for the label phrase"),
    (["--phrases", "against,for"], "3 labels (A, B, C) but 2 phrases"),
    (["--batch-size", "0"], "Batch size must be 1 or more (got 0)"),
    (["--max-length", "4"], "Max length must be at least 16 tokens"),
    (["--method", "nli"], "--method nli needs --model"),
    (["--multi-label"], "Multi-label scores need an NLI model"),
    (["--template", "About {target}: {}"], "uses {target} but no target is set"),
    (["--text-col", "text"], "The text column 'text' is not in"),
    (["--labels", "A,B,A"], "repeated: A"),
    (["--labels", "A,,B"], "non-empty labels"),
]


@pytest.mark.parametrize(("extra", "needle"), BAD, ids=[b[1][:24] for b in BAD])
def test_bad_arguments_fail_before_any_model_loads(
    tweets_csv, tmp_path, capsys, no_model_load, extra, needle
):
    argv = [tweets_csv, "-o", tmp_path / "out.csv", "--text-col", "tweet", "--labels", "A,B,C"]
    # later flags win in argparse, so `extra` may override the defaults above
    code, out, err = run_cli(capsys, *argv, *extra)
    assert code == 2
    assert needle in err
    assert err.startswith("error: ") and err.count("\n") == 1  # one line, no traceback
    assert not (tmp_path / "out.csv").exists()


def test_unknown_output_extension(tweets_csv, tmp_path, capsys, no_model_load):
    code, _, err = run_cli(capsys, tweets_csv, "-o", tmp_path / "out.doc", "--labels", "A,B")
    assert code == 2 and err.count("\n") == 1
    assert "cannot tell which format to write" in err and ".parquet" in err


def test_missing_input(tmp_path, capsys, no_model_load):
    code, _, err = run_cli(
        capsys, tmp_path / "nope.csv", "-o", tmp_path / "o.csv", "--labels", "A,B"
    )
    assert code == 2 and "file not found" in err and "nope.csv" in err and err.count("\n") == 1


def test_plain_encoder_refused(tiny_models, tweets_csv, tmp_path, capsys, monkeypatch):
    import transformers

    def explode(*a, **k):
        raise AssertionError("weights loaded for a model that is not NLI")

    monkeypatch.setattr(transformers.AutoModelForSequenceClassification, "from_pretrained", explode)
    code, _, err = run_cli(
        capsys,
        tweets_csv,
        "-o",
        tmp_path / "o.csv",
        "--text-col",
        "tweet",
        "--labels",
        "A,B",
        "--model",
        tiny_models["base_bert"],
    )
    assert code == 2 and "is not an NLI model" in err and EMBEDDING_DISPLAY_NAME in err


def test_hub_id_offline_is_one_clear_line(tweets_csv, tmp_path, capsys):
    code, _, err = run_cli(
        capsys,
        tweets_csv,
        "-o",
        tmp_path / "o.csv",
        "--text-col",
        "tweet",
        "--labels",
        "A,B",
        "--model",
        "facebook/bart-large-mnli",
    )
    assert code == 2 and err.count("\n") == 1
    assert "facebook/bart-large-mnli" in err and "HF_HUB_OFFLINE" in err
