"""Inter-coder agreement: alpha against the `krippendorff` package and Krippendorff's own worked
example, the seeded bootstrap, kappa against scikit-learn, and the `agreement` command."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import krippendorff
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

from labeler.cli.main import main
from labeler.errors import InputError
from labeler.evaluation.bootstrap import bootstrap_interval
from labeler.io.write import write_table
from labeler.team.agreement import (
    CODE_COLUMNS,
    agreement_report,
    alpha,
    alpha_from_coincidences,
    alpha_interval,
    item_coincidences,
    pair_confusion,
    pairwise,
    per_label_alpha,
    percent_agreement,
    reading,
    reliability_matrix,
    validate_codes,
    wide_to_long,
)

ROOT = Path(__file__).resolve().parents[1]
LABELS = ("a", "b", "c")


def random_codes(seed, n_coders, n_items, *, agree=0.7, missing=0.3):
    """Codes where each coder gives the item's true label with probability `agree`, and the
    package's reliability matrix (coders x items, label indices) built here, not by the code
    under test."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, len(LABELS), n_items)
    ref = np.full((n_coders, n_items), np.nan)
    rows = []
    for c in range(n_coders):
        for u in range(n_items):
            if rng.random() < missing:
                continue
            v = truth[u] if rng.random() < agree else rng.integers(0, len(LABELS))
            ref[c, u] = v
            rows.append((f"item{u}", f"coder{c}", LABELS[v]))
    return pd.DataFrame(rows, columns=CODE_COLUMNS), ref


def package_alpha(ref):
    return krippendorff.alpha(reliability_data=ref, level_of_measurement="nominal")


def codes_of(table: dict[str, str]) -> pd.DataFrame:
    """{"coder": "x y . z"} (one label per item, "." = not coded) as codes."""
    rows = [
        (str(u + 1), coder, v)
        for coder, line in table.items()
        for u, v in enumerate(line.split())
        if v != "."
    ]
    return pd.DataFrame(rows, columns=CODE_COLUMNS)


# -- alpha -------------------------------------------------------------------------------------


@pytest.mark.parametrize("n_coders", [2, 3, 4, 5, 6])
def test_alpha_equals_the_package(n_coders):
    for seed in range(3):
        codes, ref = random_codes(seed, n_coders, 40)
        expected = package_alpha(ref)
        assert alpha(codes) == pytest.approx(expected, abs=1e-12)
        # The bootstrap's path: per-item coincidences, all counts 1.
        ones = np.ones((1, len(item_coincidences(codes))))
        fast = alpha_from_coincidences(ones @ item_coincidences(codes))[0]
        assert fast == pytest.approx(expected, abs=1e-12)
        assert alpha_interval(codes, draws=50).estimate == pytest.approx(expected, abs=1e-12)


def test_krippendorffs_worked_example():
    # Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", nominal data example.
    codes = codes_of(
        {
            "A": "1 2 3 3 2 1 4 1 2 . . .",
            "B": "1 2 3 3 2 2 4 1 2 5 . 3",
            "C": ". 3 3 3 2 3 4 2 2 5 1 .",
            "D": "1 2 3 3 2 4 4 1 2 5 1 .",
        }
    )
    assert round(alpha(codes), 3) == 0.743
    assert round(alpha_interval(codes).estimate, 3) == 0.743
    report = agreement_report(codes)
    assert report.n_items == 11  # item 12 has one code: nothing to pair
    assert report.n_codes == 41
    assert "0.743" in report.reading and "tentative" in report.reading


def test_reliability_matrix_is_coders_by_items():
    codes = codes_of({"B": "x y .", "A": "x . y"})
    matrix, labels, coders = reliability_matrix(codes)
    assert coders == ["A", "B"] and labels == ["x", "y"]
    np.testing.assert_array_equal(matrix, [[0, np.nan, 1], [0, 1, np.nan]])


def test_alpha_is_none_when_undefined_never_nan():
    assert alpha(codes_of({"A": "x x x", "B": "x x x"})) is None
    assert alpha(codes_of({"A": "x . y", "B": ". y ."})) is None  # no item coded twice


# -- the bootstrap -----------------------------------------------------------------------------


def test_the_counts_bootstrap_draws_the_same_resamples_as_the_package_per_draw():
    codes, ref = random_codes(7, 3, 40, missing=0.0)
    fast = alpha_interval(codes, draws=200, seed=3)
    matrix, _, _ = reliability_matrix(codes)
    slow = bootstrap_interval(lambda idx: package_alpha(matrix[:, idx]), 40, draws=200, seed=3)
    assert fast.as_list() == pytest.approx(slow.as_list(), abs=1e-12)


def test_the_interval_holds_the_estimate_and_narrows_with_more_items():
    small, _ = random_codes(1, 3, 40, missing=0.0)
    large, _ = random_codes(1, 3, 400, missing=0.0)
    widths = []
    for codes in (small, large):
        ci = alpha_interval(codes, draws=1000, seed=0)
        assert ci.low < ci.estimate < ci.high
        widths.append(ci.high - ci.low)
    assert widths[1] < 0.6 * widths[0]  # about 1/sqrt(10) expected


def test_the_same_seed_gives_the_same_interval():
    codes, _ = random_codes(2, 3, 60)
    first = alpha_interval(codes, draws=300, seed=5)
    assert alpha_interval(codes, draws=300, seed=5) == first
    assert alpha_interval(codes, draws=300, seed=6).as_list() != first.as_list()


def test_the_bootstrap_drops_undefined_draws_and_gives_up_when_most_are():
    values = np.array([0.0, 1.0, 2.0, 3.0])
    mostly_nan = bootstrap_interval(lambda idx: math.nan if 0 in idx else values[idx].mean(), 4)
    assert mostly_nan.estimate is None and mostly_nan.as_list() == [None, None]
    ok = bootstrap_interval(lambda idx: values[idx].mean(), 4, draws=500)
    assert ok.estimate == 1.5 and 0 <= ok.low < 1.5 < ok.high <= 3 and ok.n == 4
    assert bootstrap_interval(len, 0).as_list() == [None, None]


# -- kappa, per label, percent agreement -------------------------------------------------------


def test_pairwise_kappa_is_sklearns_on_the_shared_items():
    codes, _ = random_codes(4, 3, 50, missing=0.4)
    codes["coder"] = codes["coder"].map({"coder0": "b", "coder1": "a", "coder2": "c"})
    lonely = pd.DataFrame([("only-d", "d", "a")], columns=CODE_COLUMNS)
    kappa, n = pairwise(pd.concat([codes, lonely]))
    assert set(kappa) == set(n) == {"a|b", "a|c", "a|d", "b|c", "b|d", "c|d"}
    wide = codes.pivot(index="item", columns="coder", values="label")
    for pair in ("a|b", "a|c", "b|c"):
        x, y = pair.split("|")
        shared = wide[[x, y]].dropna()
        assert n[pair] == len(shared) and 0 < len(shared) < 50
        assert kappa[pair] == pytest.approx(cohen_kappa_score(shared[x], shared[y]))
    assert kappa["a|d"] is None and n["a|d"] == 0


def test_per_label_alpha_is_the_package_on_binarised_data():
    codes, ref = random_codes(5, 4, 60)
    got = per_label_alpha(codes)
    for k, lab in enumerate(LABELS):
        binary = np.where(np.isnan(ref), np.nan, (ref == k).astype(float))
        assert got[lab] == pytest.approx(package_alpha(binary), abs=1e-12)
    assert len(set(got.values())) == 3


def test_percent_agreement_counts_only_items_coded_twice():
    codes = codes_of({"A": "x x x y .", "B": "x y x . y", "C": ". . x . y"})
    assert percent_agreement(codes) == 0.75  # items 1, 3, 5 agree; 2 does not; 4 has one code


def test_pair_confusion_counts_a_against_b_on_shared_items():
    codes = codes_of({"A": "x x y y .", "B": "x y y . x"})
    table = pair_confusion(codes, "A", "B")
    assert table.index.name == "A" and table.columns.name == "B"
    assert table.loc["x"].tolist() == [1, 1] and table.loc["y"].tolist() == [0, 1]


# -- input -------------------------------------------------------------------------------------


def test_wide_to_long_skips_empty_cells_and_keeps_labels_as_text():
    frame = pd.DataFrame({"ana": ["1", " 2 ", ""], "ben": ["", "2", "  "], "x": ["q", "q", "q"]})
    codes = wide_to_long(frame, ["ana", "ben"])
    assert codes.values.tolist() == [["1", "ana", "1"], ["2", "ana", "2"], ["2", "ben", "2"]]
    floats = wide_to_long(pd.DataFrame({"ana": [1.0, np.nan], "ben": [1.0, 2.0]}), ["ana", "ben"])
    assert sorted(floats["label"]) == ["1", "1", "2"]


@pytest.mark.parametrize(
    ("codes", "labels", "words"),
    [
        ({"A": "x y"}, None, "Only one coder (A)"),
        ({"A": "x .", "B": ". y"}, None, "No item was coded by two coders"),
        ({"A": "x y", "B": "x z"}, ["x", "y"], "Label 'z' (item '2', coder 'B')"),
    ],
)
def test_validate_codes_says_what_is_wrong(codes, labels, words):
    with pytest.raises(InputError, match=words.replace("(", r"\(").replace(")", r"\)")):
        validate_codes(codes_of(codes), labels)


def test_the_reading_names_the_band_and_a_straddled_threshold():
    codes, _ = random_codes(1, 3, 40, agree=0.85, missing=0.0)
    report = agreement_report(codes)
    assert f"on {report.n_items} items" in report.reading
    low, high = report.alpha_ci
    straddles = any(low < t <= high for t in (0.8, 0.667))
    assert ("straddles" in report.reading) == straddles
    from labeler.evaluation.bootstrap import Interval

    assert "reliable enough" in reading(0.9, Interval(0.9, 0.85, 0.95, 1000, 300))
    assert "straddles .800" in reading(0.81, Interval(0.81, 0.75, 0.86, 1000, 80))
    assert "not reliable" in reading(0.5, Interval(0.5, 0.4, 0.6, 1000, 80))


def test_report_json_and_table():
    codes, _ = random_codes(3, 3, 30)
    report = agreement_report(codes, labels=["a", "b", "c", "d"], draws=200, seed=1)
    data = report.to_json()
    for key in ("alpha", "alpha_ci", "per_label", "pairwise_kappa", "pairwise_n"):
        assert key in data
    assert {"percent_agreement", "n_items", "n_codes", "reading", "draws", "seed"} <= set(data)
    assert data["per_label"]["d"] is None  # never used: nothing to agree on
    assert "NaN" not in json.dumps(data)
    frame = report.to_frame()
    assert list(frame.columns) == ["statistic", "value", "low", "high", "n"]
    assert frame.loc[0, "statistic"] == "alpha" and frame.loc[0, "low"] == data["alpha_ci"][0]


# -- the command -------------------------------------------------------------------------------

WIDE = "ana,ben,chloe,note\n1,1,1,a\n1,2,,b\n2,2,2,c\n3,3,1,d\n,3,3,e\n2,2,,f\n1,,1,g\n"


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def long_of_wide(path: Path) -> None:
    rows = []
    for u, line in enumerate(WIDE.splitlines()[1:]):
        for coder, v in zip(("ana", "ben", "chloe"), line.split(",")[:3]):
            if v:
                rows.append({"tweet": f"t{u}", "who": coder, "stance": v})
    write_table(pd.DataFrame(rows), path, "xlsx")


def test_cli_wide_and_long_forms_agree(tmp_path, capsys):
    (tmp_path / "wide.csv").write_text(WIDE, encoding="utf-8")
    long_of_wide(tmp_path / "long.xlsx")
    code, out, err = run_cli(
        capsys, "agreement", tmp_path / "wide.csv", "--coders", "ana, ben,chloe",
        "-o", tmp_path / "w.json",
    )  # fmt: skip
    assert code == 0, err
    assert out.startswith("alpha ") and "7 items" in out and "wrote agreement" in out
    code, _, err = run_cli(
        capsys, "agreement", tmp_path / "long.xlsx", "--item-col", "tweet", "--coder-col", "who",
        "--label-col", "stance", "-o", tmp_path / "l.json",
    )  # fmt: skip
    assert code == 0, err
    wide = json.loads((tmp_path / "w.json").read_text())
    long = json.loads((tmp_path / "l.json").read_text())
    keys = ["alpha", "alpha_ci", "per_label", "pairwise_kappa", "pairwise_n",
            "percent_agreement", "n_items", "n_codes", "labels", "coders"]  # fmt: skip
    assert {k: wide[k] for k in keys} == {k: long[k] for k in keys}
    assert wide["labels"] == ["1", "2", "3"] and wide["n_codes"] == 17
    assert wide["alpha"] == pytest.approx(alpha(wide_to_long(pd.read_csv(
        tmp_path / "wide.csv", dtype=str), ["ana", "ben", "chloe"])))  # fmt: skip


@pytest.mark.parametrize(
    ("wide", "args", "words"),
    [
        (WIDE, ["--coders", "ana"], "Only one coder (ana)"),
        ("ana,ben\n1,\n,2\n", ["--coders", "ana,ben"], "No item was coded by two coders"),
        (WIDE, ["--coders", "ana,ben", "--labels", "1,2"], "Label '3'"),
        (WIDE, ["--coders", "ana,zoe"], "'zoe' not found in"),
        (WIDE, ["--coders", "ana,ben", "--item-col", "note"], "both were given"),
        (WIDE, [], "neither was given"),
        (WIDE, ["--coders", "ana,ben", "--bootstrap", "50"], "at least 100"),
        (WIDE, ["--item-col", "tweet"], "The item column 'tweet' is not in"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, capsys, wide, args, words):
    path = tmp_path / "codes.csv"
    path.write_text(wide, encoding="utf-8")
    code, _, err = run_cli(capsys, "agreement", path, *args, "-o", tmp_path / "out.json")
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1 and words in err, err
    if "zoe" in words:
        assert "columns are: ana, ben, chloe, note" in err
    assert not (tmp_path / "out.json").exists()


def test_cli_every_code_the_same_gives_null_alpha(tmp_path, capsys):
    path = tmp_path / "same.csv"
    path.write_text("ana,ben\nx,x\nx,x\nx,\n", encoding="utf-8")
    code, out, err = run_cli(
        capsys, "agreement", path, "--coders", "ana,ben", "-o", tmp_path / "o.json"
    )
    assert code == 0, err
    raw = (tmp_path / "o.json").read_text()
    assert "NaN" not in raw and '"alpha": null' in raw
    data = json.loads(raw)
    assert data["alpha_ci"] == [None, None] and data["per_label"] == {"x": None}
    assert "every code is the same label" in data["reading"].lower()
    assert "alpha undefined" in out


def test_the_entry_point_runs(tmp_path):
    (tmp_path / "wide.csv").write_text(WIDE, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "labeler", "agreement", str(tmp_path / "wide.csv"),
         "--coders", "ana,ben,chloe", "--bootstrap", "200", "-o", str(tmp_path / "o.json")],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "o.json").read_text())["draws"] == 200
