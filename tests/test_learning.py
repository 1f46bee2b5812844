"""Active learning's core: the queue strategies pick what they claim, the stopping signal, the
learning curve and its projection, suspect labels, and the `simulate` / `find-errors` commands.

No encoder loads: `labeler.learning.simulate.embed` is swapped for keyword-count vectors, so a
tweet's label is learnable from its words and every run is fast and the same on every machine.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labeler.cli.main import main
from labeler.errors import DataError, SettingsError
from labeler.learning import classifier, curve, simulate, stopping, strategies, suspects

KEYWORDS = {
    "against": ["bad", "awful", "hate"],
    "favor": ["good", "great", "love"],
    "none": ["weather", "music", "bus"],
}
LABELS = sorted(KEYWORDS)
VOCAB = sorted(w for words in KEYWORDS.values() for w in words)
FILLER = "the policy tweet workers news school wages prices today".split()
NOISE_DIMS = 4
NOISE = 0.05  # small beside a keyword: the toy sets are separable


def fake_embed(texts):
    """Keyword counts plus a little text-seeded noise, L2-normalised: no model, no download."""
    out = np.zeros((len(texts), len(VOCAB) + NOISE_DIMS))
    for i, text in enumerate(texts):
        words = text.lower().split()
        out[i, : len(VOCAB)] = [words.count(w) for w in VOCAB]
        digest = hashlib.blake2b(text.encode(), digest_size=4).digest()
        out[i, len(VOCAB) :] = np.random.default_rng(int.from_bytes(digest)).normal(
            0, NOISE, NOISE_DIMS
        )
    return out / np.linalg.norm(out, axis=1, keepdims=True)


@pytest.fixture(autouse=True)
def no_encoder(monkeypatch):
    monkeypatch.setattr(simulate, "embed", fake_embed)


def tweets(n: int, seed: int, prefix: str = "t") -> tuple[list[str], list[str]]:
    """n tweets cycling through the labels, each with one of its label's keywords."""
    rnd = random.Random(seed)
    texts, y = [], []
    for i in range(n):
        label = LABELS[i % len(LABELS)]
        texts.append(
            f"{prefix}{i} " + " ".join(rnd.sample(FILLER, 3)) + " " + rnd.choice(KEYWORDS[label])
        )
        y.append(label)
    return texts, y


def write_csv(path: Path, texts, y, ids=None) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "tweet", "stance"])
        for i, (t, lab) in enumerate(zip(texts, y, strict=True)):
            w.writerow([ids[i] if ids else i, t, lab])
    return path


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


# -- strategies ------------------------------------------------------------------------------

# Fixed probabilities whose three uncertainty orders all differ.
P = np.array(
    [
        [0.90, 0.05, 0.05],  # sure
        [0.40, 0.35, 0.25],  # unsure, spread over three
        [0.60, 0.39, 0.01],
        [0.34, 0.33, 0.33],  # least sure, flattest
        [0.50, 0.50, 0.00],  # a tie between two: the smallest margin
    ]
)


def test_least_confident_asks_lowest_top_probability_first():
    assert strategies.select("least-confident", P, 5).tolist() == [3, 1, 4, 2, 0]
    assert strategies.select("least-confident", P, 2).tolist() == [3, 1]


def test_margin_asks_smallest_gap_between_the_two_likeliest_first():
    assert strategies.select("margin", P, 5).tolist() == [4, 3, 1, 2, 0]
    assert strategies.margin(P)[4] == 0


def test_entropy_asks_highest_entropy_first():
    assert strategies.select("entropy", P, 5).tolist() == [3, 1, 2, 4, 0]
    assert strategies.entropy(P)[3] == pytest.approx(-np.sum(P[3] * np.log(P[3])))


def test_random_is_seeded_and_reproducible():
    p = np.full((50, 3), 1 / 3)
    first = strategies.select("random", p, 10, seed=1)
    assert first.tolist() == strategies.select("random", p, 10, seed=1).tolist()
    assert first.tolist() != strategies.select("random", p, 10, seed=2).tolist()
    assert len(set(first.tolist())) == 10 and first.tolist() != list(range(10))


def test_unknown_strategy_names_the_strategies():
    with pytest.raises(SettingsError, match="random, least-confident, margin, entropy, diverse"):
        strategies.select("smart", P, 2)
    assert strategies.STRATEGIES == ("random", "least-confident", "margin", "entropy", "diverse")


def blobs(seed: int = 0):
    """Three well-separated blobs of 20; blob 0 is the most uncertain throughout."""
    rng = np.random.default_rng(seed)
    centres = np.eye(3) * 10
    emb = np.vstack([c + rng.normal(0, 0.1, (20, 3)) for c in centres])
    blob = np.repeat([0, 1, 2], 20)
    top = np.where(blob == 0, 0.40, np.where(blob == 1, 0.70, 0.80)) + rng.uniform(0, 0.05, 60)
    proba = np.column_stack([top, 1 - top])
    return emb, blob, proba


def test_diverse_picks_one_per_cluster_most_uncertain_in_each():
    emb, blob, proba = blobs()
    picked = strategies.select("diverse", proba, 3, embeddings=emb, seed=0)
    assert sorted(blob[picked].tolist()) == [0, 1, 2]
    unsure = 1 - proba.max(axis=1)
    for i in picked:  # the most uncertain of its blob
        assert unsure[i] == unsure[blob == blob[i]].max()
    # least-confident alone takes all three from the uncertain blob: diverse is not that
    assert set(blob[strategies.select("least-confident", proba, 3)].tolist()) == {0}


def test_diverse_ranks_order_every_item_round_robin():
    emb, blob, proba = blobs(seed=1)
    ranks = strategies.diverse_ranks(proba, emb, seed=0, clusters=3)
    assert sorted(ranks.tolist()) == list(range(60))
    order = np.argsort(ranks)
    for start in range(0, 60, 3):  # each round holds one item of each blob
        assert sorted(blob[order[start : start + 3]].tolist()) == [0, 1, 2]
    with pytest.raises(SettingsError, match="embeddings"):
        strategies.select("diverse", proba, 3)


# -- stopping --------------------------------------------------------------------------------


def test_stopping_fires_on_stable_predictions():
    rng = np.random.default_rng(0)
    base = rng.choice(LABELS, 500)
    signal = stopping.stop_signal([base] * 4)
    assert signal.stable and signal.kappas == (1.0, 1.0, 1.0)
    assert "500 fixed unlabelled tweets changed little over the last 3 retrains" in signal.message


def test_stopping_stays_quiet_while_predictions_change():
    rng = np.random.default_rng(0)
    rounds = [rng.choice(LABELS, 500)]
    for _ in range(4):  # each retrain changes 10% of the predictions
        nxt = rounds[-1].copy()
        flip = rng.choice(500, 50, replace=False)
        nxt[flip] = rng.choice(LABELS, 50)
        rounds.append(nxt)
    signal = stopping.stop_signal(rounds)
    assert not signal.stable and signal.recent < 0.99
    assert "still change" in signal.message
    early = stopping.stop_signal([rounds[0]] * 3)  # two retrains compared: too early
    assert not early.stable and "Too early" in early.message


def test_stop_set_is_a_fixed_seeded_sample():
    ids = list(range(2000))
    chosen = stopping.stop_set(ids, size=500, seed=3)
    assert len(chosen) == 500 and set(chosen) == set(stopping.stop_set(ids[::-1], size=500, seed=3))
    assert set(chosen) != set(stopping.stop_set(ids, size=500, seed=4))


# -- learning curve --------------------------------------------------------------------------

LAW = curve.PowerLaw(a=0.9, b=2.0, c=0.5)


def synthetic_curve(n_labels: int = 320) -> curve.Curve:
    """Points on LAW with a little noise, three repeats each, fitted as learning_curve does."""
    rng = np.random.default_rng(0)
    points = []
    for n in (20, 40, 80, 160, 320):
        scores = tuple(float(LAW(n)) + rng.normal(0, 0.001, 3))
        points.append(curve.CurvePoint(n, float(n), float(np.mean(scores)), 0.0, scores))
    fit = curve._fit(*curve._observations(points))
    return curve.Curve(tuple(points), n_labels, fit, "", seed=0)


def test_a_monotone_synthetic_curve_is_fitted():
    c = synthetic_curve()
    assert c.fit is not None and c.fit.a <= 1
    for n in (20, 100, 320, 640):
        assert c.predict(n) == pytest.approx(float(LAW(n)), abs=0.01)
    grid = np.linspace(20, 640, 50)
    assert np.all(np.diff(c.fit(grid)) > 0)


def test_projection_interval_contains_it_and_it_stays_within_2x():
    c = synthetic_curve()
    assert c.horizon == 640
    p = c.projection(0.80)  # LAW reaches 0.80 at 400 labels: 80 more
    assert p.more == pytest.approx(80, abs=30)
    assert p.more == int(np.ceil(c.fit.labels_for(0.80) - 320))
    assert p.low is not None and p.high is not None and p.low <= p.more <= p.high
    assert p.message.startswith(f"About {p.more} more labels for macro-F1 0.80 (95% interval")
    beyond = c.projection(0.835)  # LAW reaches it near 950 labels: past 2x
    assert beyond.more is None and "not within reach of 2x" in beyond.message
    with pytest.raises(SettingsError, match="up to 640 labels"):
        c.predict(641)
    assert c.projection().target == round(c.predict(320) + 0.05, 2)


def test_learning_curve_on_labels_and_with_too_few():
    texts, y = tweets(150, seed=1)
    # keyword-free tweets for a third of them: the curve has somewhere to rise to
    texts = [t if i % 3 else " ".join(t.split()[:4]) for i, t in enumerate(texts)]
    emb = fake_embed(texts)
    c = curve.learning_curve(emb, texts, y, LABELS, features="embeddings", seed=0, repeats=2)
    assert [p.n for p in c.points] == curve.default_sizes(150, 3)
    assert c.fit is not None and c.note == "" and all(len(p.scores) == 2 for p in c.points)
    assert c.projection().message  # a sentence, whatever the numbers
    few = curve.learning_curve(emb[:9], texts[:9], y[:9], LABELS, features="embeddings")
    assert few.fit is None and "Label more first" in few.note
    assert few.projection().message == few.note
    one = curve.learning_curve(emb[:5], texts[:5], ["favor"] * 5, LABELS, features="embeddings")
    assert one.fit is None and "at least two labels" in one.note


def test_short_labels_and_per_label_f1():
    y = ["favor"] * 40 + ["against"] * 12 + ["none"] * 3
    assert curve.short_labels(y, ["against", "favor", "none", "other"]) == {
        "other": 0,
        "none": 3,
        "against": 12,
    }
    proba = np.eye(3)[[1] * 40 + [0] * 12 + [1] * 3]  # every "none" predicted "favor"
    f1 = curve.per_label_f1(y, proba, LABELS)
    assert f1["against"] == 1.0 and f1["none"] == 0.0 and 0.9 < f1["favor"] < 1.0


# -- suspect labels --------------------------------------------------------------------------

FLIPPED = [4, 17, 31, 58, 77, 101, 140, 200]


def flipped_set(n: int = 240):
    texts, y = tweets(n, seed=2)
    truth = list(y)
    for i in FLIPPED:
        y[i] = LABELS[(LABELS.index(y[i]) + 1) % len(LABELS)]
    return texts, y, truth


def test_flipped_labels_rank_first():
    texts, y, truth = flipped_set()
    emb = fake_embed(texts)
    proba = classifier.out_of_fold_proba(emb, texts, y, LABELS, seed=0)
    table = suspects.find_suspects(y, proba, LABELS)
    assert sorted(table.index[: len(FLIPPED)].tolist()) == FLIPPED
    assert table["issue"].iloc[: len(FLIPPED)].all()
    top = table.iloc[: len(FLIPPED)]
    assert top["suggested_label"].tolist() == [truth[i] for i in top.index]
    assert np.all(np.diff(table["suspect_score"].to_numpy()) <= 0)
    assert np.allclose(table["suspect_score"] + table["label_quality"], 1)


def test_suspects_on_fixed_probabilities():
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.95, 0.05]])
    table = suspects.find_suspects(["a", "b", "b", "b"], proba, ["a", "b"])
    assert table.index.tolist() == [3, 2, 1, 0]  # 0.05, 0.4, 0.8, 0.9 for the given label
    assert table.loc[3, "suspect_score"] == pytest.approx(0.95)
    assert table.loc[3, "suggested_label"] == "a" and table.loc[3, "model_confidence"] == 0.95
    with pytest.raises(DataError, match="not in the label set"):
        suspects.find_suspects(["a", "c"], proba[:2], ["a", "b"])


# -- find-errors -----------------------------------------------------------------------------


def test_find_errors_writes_flipped_rows_first(tmp_path, capsys):
    texts, y, truth = flipped_set()
    data = write_csv(tmp_path / "labelled.csv", texts, y, ids=[f"id{i}" for i in range(240)])
    out = tmp_path / "suspects.csv"
    rc = main(["find-errors", str(data), "--text-col", "tweet", "--label-col", "stance",
               "-o", str(out), "--features", "embeddings"])  # fmt: skip
    assert rc == 0
    got = pd.read_csv(out)
    assert list(got.columns) == ["id", "tweet", "stance", "suspect_score", "suggested_label"]
    assert sorted(got["id"].iloc[: len(FLIPPED)]) == sorted(f"id{i}" for i in FLIPPED)
    assert got["suggested_label"].iloc[: len(FLIPPED)].tolist() == [
        truth[int(i[2:])] for i in got["id"].iloc[: len(FLIPPED)]
    ]
    assert np.all(np.diff(got["suspect_score"]) <= 0)
    assert f"{len(got)} of 240 labels look wrong" in capsys.readouterr().out


def test_find_errors_bad_input_is_one_line(tmp_path, capsys):
    texts, y = tweets(30, seed=3)
    data = write_csv(tmp_path / "in.csv", texts, y)
    one = write_csv(tmp_path / "one.csv", texts, ["favor"] * 30)
    base = ["find-errors", "--text-col", "tweet", "--label-col", "stance"]
    cases = {
        "is not in": [str(data), "--text-col", "nope", "-o", str(tmp_path / "o.csv")],
        "at least two labels": [str(one), "-o", str(tmp_path / "o.csv")],
        "Unknown features": [str(data), "-o", str(tmp_path / "o.csv"), "--features", "bag"],
        "which format": [str(data), "-o", str(tmp_path / "o.txt")],
    }
    for needle, argv in cases.items():
        assert main(base + argv) == 2
        assert needle in one_error_line(capsys)


# -- simulate --------------------------------------------------------------------------------


@pytest.fixture
def sim_files(tmp_path):
    texts, y = tweets(150, seed=4, prefix="pool")
    test_texts, test_y = tweets(45, seed=5, prefix="test")
    # a third of the pool without its keyword: strategies have something to find
    texts = [t if i % 3 else " ".join(t.split()[:4]) for i, t in enumerate(texts)]
    pool = write_csv(tmp_path / "pool.csv", texts, y)
    test = write_csv(tmp_path / "test.csv", test_texts, test_y)
    return tmp_path, pool, test


def run_simulate(root, pool, test, *extra):
    out = root / "curve.json"
    argv = ["simulate", str(pool), "--text-col", "tweet", "--label-col", "stance",
            "--test", str(test), "-o", str(out), *extra]  # fmt: skip
    return main(argv), out


def test_simulate_writes_the_curve_contract(sim_files, monkeypatch):
    root, pool, test = sim_files
    trained_on = []
    real_fit = classifier.fit

    def spy(embeddings, texts, *args, **kwargs):
        trained_on.append(list(texts))
        return real_fit(embeddings, texts, *args, **kwargs)

    monkeypatch.setattr(classifier, "fit", spy)
    rc, out = run_simulate(root, pool, test, "--strategy", "entropy", "--seed-size", "10",
                           "--step", "15", "--budget", "50", "--repeats", "2")  # fmt: skip
    assert rc == 0
    data = json.loads(out.read_text())
    assert data["strategy"] == "entropy" and data["labels"] == LABELS
    assert data["settings"]["budget"] == 50 and data["settings"]["repeats"] == 2
    assert [p["n_labels"] for p in data["points"]] == [10, 25, 40, 50]
    for p in data["points"]:
        assert set(p["f1"]) == set(LABELS) and p["repeats"] == 2 and len(p["runs"]) == 2
        assert p["macro_f1"] == pytest.approx(np.mean(p["runs"]))
        assert p["macro_f1"] == pytest.approx(np.mean(list(p["f1"].values())))
        assert 0 <= p["macro_f1"] <= 1
    # only pool labels are revealed: 4 rounds x 2 repeats, each on exactly that many pool tweets
    assert [len(t) for t in trained_on] == [10, 25, 40, 50] * 2
    assert all(t.startswith("pool") for texts in trained_on for t in texts)
    # the first repeat alone is the first of the two averaged
    rc, out = run_simulate(root, pool, test, "--strategy", "entropy", "--seed-size", "10",
                           "--step", "15", "--budget", "50")  # fmt: skip
    single = json.loads(out.read_text())
    assert [p["macro_f1"] for p in single["points"]] == [p["runs"][0] for p in data["points"]]


def test_simulate_runs_every_strategy(sim_files):
    root, pool, test = sim_files
    for name in strategies.STRATEGIES:
        rc, out = run_simulate(root, pool, test, "--strategy", name, "--seed-size", "12",
                               "--step", "12", "--budget", "36")  # fmt: skip
        assert rc == 0
        assert [p["n_labels"] for p in json.loads(out.read_text())["points"]] == [12, 24, 36]


def test_seed_set_grows_until_it_holds_two_labels():
    y = np.array(["a"] * 98 + ["b"] * 2)
    rng = np.random.default_rng(0)
    first = np.random.default_rng(0).permutation(100)
    assert set(y[first[:5]]) == {"a"}  # this seed's first five are all one label
    chosen = simulate.seed_set(y, 5, rng)
    assert set(y[chosen]) == {"a", "b"} and len(chosen) > 5
    assert chosen.tolist() == first[: len(chosen)].tolist()


def test_simulate_bad_input_is_one_line(sim_files, capsys):
    root, pool, test = sim_files
    one = write_csv(root / "one.csv", ["a good tweet"] * 30, ["favor"] * 30)
    cases = {
        "random, least-confident, margin, entropy, diverse": ("--strategy", "smart"),
        "larger than the pool": ("--strategy", "margin", "--budget", "400"),
        "is not in": ("--strategy", "margin", "--text-col", "nope"),
    }
    for needle, extra in cases.items():
        assert run_simulate(root, pool, test, *extra)[0] == 2
        assert needle in one_error_line(capsys)
    assert run_simulate(root, one, test, "--strategy", "margin", "--budget", "20")[0] == 2
    assert "one label ('favor')" in one_error_line(capsys)
    assert not (root / "curve.json").exists()
