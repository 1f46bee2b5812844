"""The Ray engine (`--engine ray`, labeler.distributed) on a local Ray of 2 CPUs started here.

What a lab would notice: scores and labels identical to the local engine for both jobs, on tiny
models whose scores vary (so a row or column mix-up shows); a rerun after a lost shard redoes
that shard only; one bad file among many is named and the others' shards are kept; a cancelled
job resumes; and a missing Ray, an unreachable cluster or an empty glob is one line, exit 2.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import ray
from tiny_models import varied_texts

from labeler.cli.main import main
from labeler.distributed import engine
from labeler.distributed.shards import MARKERS, SOURCE_FILE, SOURCE_ROW
from labeler.distributed.workers import Job
from labeler.errors import Cancelled, InputError

LABELS = ["AGAINST", "FAVOR", "NONE"]
NLI_ARGS = ["--labels", ",".join(LABELS), "--batch-size", "8"]


@pytest.fixture(scope="module")
def local_ray():
    """A private Ray of 2 CPUs for this module; run_job uses it instead of starting its own."""
    from labeler.distributed.workers import worker_env

    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        logging_level=logging.ERROR,
        runtime_env={"env_vars": {**worker_env(), "OMP_NUM_THREADS": "1"}},
    )
    yield
    ray.shutdown()


def frame(n: int, seed: int, prefix: str) -> pd.DataFrame:
    texts = varied_texts(n, seed)
    texts[1] = 'quoted, "with a comma"\nand a second line'  # CSV must be parsed, not split
    return pd.DataFrame({"id": [f"{prefix}{i:03d}" for i in range(n)], "text": texts})


def write_inputs(folder: Path) -> dict[str, Path]:
    """Three files in the three streamed formats, 40 + 30 + 25 rows."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {"a": folder / "a.csv", "b": folder / "b.jsonl", "c": folder / "c.parquet"}
    frame(40, 1, "0").to_csv(files["a"], index=False)
    frame(30, 2, "b").to_json(files["b"], orient="records", lines=True)
    frame(25, 3, "c").to_parquet(files["c"], index=False)
    return files


def shards_of(folder: Path) -> pd.DataFrame:
    parts = [pd.read_parquet(p) for p in sorted(folder.glob("*.parquet"))]
    return pd.concat(parts, ignore_index=True).sort_values([SOURCE_FILE, SOURCE_ROW])


def assert_same_scores(ray_rows: pd.DataFrame, local: pd.DataFrame, prefix: str) -> None:
    cols = [c for c in local.columns if c.startswith(f"{prefix}score_")]
    assert len(cols) == 3
    assert ray_rows["id"].astype(str).tolist() == local["id"].astype(str).tolist()
    assert ray_rows["text"].tolist() == local["text"].tolist()
    got, want = ray_rows[cols].to_numpy(float), local[cols].to_numpy(float)
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert ray_rows[f"{prefix}label"].tolist() == local[f"{prefix}label"].tolist()
    assert (want.max(axis=0) - want.min(axis=0)).min() > 0.02  # scores vary across tweets


def test_prelabel_on_ray_equals_the_local_engine(
    local_ray, tiny_models, tmp_path, capsys, monkeypatch
):
    files = write_inputs(tmp_path / "in")
    monkeypatch.chdir(tmp_path)  # relative paths, as typed: workers run elsewhere
    model = ["--model", os.path.relpath(tiny_models["nli_bert"])]
    out = tmp_path / "out"
    argv = ["prelabel", "in", "-o", "out", *model, *NLI_ARGS]
    assert main([*argv, "--engine", "ray", "--shard-rows", "16", "--actors", "1"]) == 0
    assert "95 rows in 7 shards" in capsys.readouterr().out  # 3 + 2 + 2 shards of 16 rows
    rows = shards_of(out)
    assert rows["id"].tolist()[:2] == ["0000", "0001"]  # ids stay text: "0000", not 0
    for name, path in files.items():
        local_out = tmp_path / f"local-{name}.parquet"
        assert main(["prelabel", str(path), "-o", str(local_out), *model, *NLI_ARGS]) == 0
        local = pd.read_parquet(local_out)
        mine = rows[rows[SOURCE_FILE] == str(path)]
        assert mine[SOURCE_ROW].tolist() == list(range(len(local)))
        assert_same_scores(mine, local, "zs_")


def test_predict_on_ray_gathers_one_file_equal_to_the_local_engine(
    local_ray, stance_model, tmp_path, capsys
):
    data = tmp_path / "tweets.csv"
    frame(70, 4, "t").to_csv(data, index=False)
    local_out, ray_out = tmp_path / "local.csv", tmp_path / "ray.csv"
    assert main(["predict", str(stance_model), str(data), "-o", str(local_out)]) == 0
    # The model and the input as URIs (file:// here, s3:// on a cluster without a shared disk)
    argv = ["predict", stance_model.as_uri(), data.as_uri(), "-o", str(ray_out), "--engine", "ray"]
    assert main([*argv, "--shard-rows", "25", "--actors", "2"]) == 0
    assert "wrote 70 rows to" in capsys.readouterr().out
    local, gathered = pd.read_csv(local_out), pd.read_csv(ray_out)
    assert list(gathered.columns) == list(local.columns)  # one input: no source columns
    assert_same_scores(gathered, local, "pred_")
    assert len(set(local["pred_label"])) >= 2
    assert len(list((tmp_path / "ray.csv.shards").glob("*.parquet"))) == 3


def test_cancelled_or_lost_shards_are_redone_and_only_they(local_ray, stance_model, tmp_path):
    data = tmp_path / "tweets.csv"
    frame(2000, 5, "r").to_csv(data, index=False)
    # One tweet per forward pass and one actor: shards finish one after another, slowly enough
    # (about 2 ms a tweet) that a cancel seen after the first shard lands mid-job.
    job, out = Job("predict", batch_size=1, model_dir=str(stance_model)), tmp_path / "out"
    seen = []

    def progress(done, total, rate, eta):
        seen.append((done, total))

    with pytest.raises(Cancelled, match="finished shards are kept"):
        engine.run_job(
            job, str(data), str(out), actors=1, shard_rows_=100, progress=progress,
            should_cancel=lambda: any(done >= 150 for done, _ in seen),
        )  # fmt: skip
    kept = sorted(p.name for p in out.glob("*.parquet"))
    assert 1 <= len(kept) < 20 and seen[0] == (0, 2000)
    rest = engine.run_job(job, str(data), str(out), actors=1, shard_rows_=100)
    assert sorted(rest.skipped) == kept and len(rest.written) == 20 - len(kept)
    assert shards_of(out)[SOURCE_ROW].tolist() == list(range(2000))

    files = sorted(out.glob("*.parquet"))
    lost = files[3]
    before = pd.read_parquet(lost)
    stamps = {p.name: p.stat().st_mtime_ns for p in files if p != lost}
    lost.unlink()
    again = engine.run_job(job, str(data), str(out), actors=1, shard_rows_=100)
    assert again.written == [lost.name] and again.rows == 100
    assert sorted(again.skipped) == sorted(stamps)
    assert {p.name: p.stat().st_mtime_ns for p in files if p != lost} == stamps
    pd.testing.assert_frame_equal(pd.read_parquet(lost), before)
    mark = json.loads((out / MARKERS / f"{lost.name}.json").read_text())
    assert (mark["start"], mark["stop"], mark["rows"]) == (300, 400, 100)
    other = Job("predict", batch_size=7, model_dir=str(stance_model))
    with pytest.raises(InputError, match="another job"):
        engine.run_job(other, str(data), str(out), shard_rows_=100)


def test_a_bad_file_among_many_is_named_and_the_others_are_kept(
    local_ray, stance_model, tmp_path, capsys
):
    folder = tmp_path / "in"
    folder.mkdir()
    for k in range(2):
        frame(20, 10 + k, f"g{k}").to_csv(folder / f"good{k}.csv", index=False)
    lines = [json.dumps({"text": t}) for t in varied_texts(12, 9)]
    lines[7] = '{"text": "cut off'  # found by the worker reading it
    (folder / "bad.jsonl").write_text("\n".join(lines) + "\n")
    frame(5, 12, "n").rename(columns={"text": "body"}).to_csv(folder / "notext.csv", index=False)
    out = tmp_path / "out"
    argv = ["predict", str(stance_model), str(folder), "-o", str(out), "--engine", "ray"]
    assert main([*argv, "--shard-rows", "10", "--actors", "1"]) == 2
    err = capsys.readouterr().err
    assert "bad.jsonl' failed: line 8 is not JSON" in err
    assert "notext.csv' failed: no text column 'text'" in err
    kept = shards_of(out)
    assert sorted(set(Path(f).name for f in kept[SOURCE_FILE])) == ["good0.csv", "good1.csv"]
    assert len(kept) == 40 and len(list((out / MARKERS).glob("*.json"))) == 4
    assert "40 rows scored; 4 shards written" in err


def test_clear_one_line_errors(tmp_path, capsys, monkeypatch, stance_model):
    def one_error(*argv: str) -> str:
        assert main(list(argv)) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ")
        return err[0]

    model = str(stance_model)
    msg = one_error("predict", model, str(tmp_path / "none-*.csv"), "-o", "o", "--engine", "ray")
    assert "no input files match" in msg
    (tmp_path / "t.csv").write_text("text\nhello\n")
    msg = one_error("predict", model, str(tmp_path / "t.csv"), "-o", "o.csv", "--actors", "2")
    assert "--actors applies to --engine ray only" in msg
    msg = one_error("predict", "no-model", str(tmp_path / "t.csv"), "-o", "o", "--engine", "ray")
    assert "no model folder 'no-model'" in msg
    monkeypatch.setattr(engine, "CONNECT_TIMEOUT_S", 3)
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    out = str(tmp_path / "o")
    msg = one_error(
        "predict", model, str(tmp_path / "t.csv"), "-o", out, "--engine", "ray", "--address",
        "127.0.0.1:9",
    )  # fmt: skip
    assert "cannot reach a Ray cluster at '127.0.0.1:9'" in msg
    monkeypatch.setitem(sys.modules, "ray", None)  # not installed
    msg = one_error("predict", model, str(tmp_path / "t.csv"), "-o", out, "--engine", "ray")
    assert "pip install -r requirements-ray.txt" in msg


def test_app_jobs_on_ray_store_what_the_local_engine_stores(
    local_ray, workspace, tiny_models, stance_model, monkeypatch
):
    from labeler.db.store import Store
    from labeler.jobs import tasks
    from labeler.models.classifier import predict
    from labeler.zeroshot.load import load_zeroshot

    store = Store(f"sqlite:///{workspace}/labeler.sqlite")
    project = store.projects.create("p", LABELS, heldout_share=0.0)
    texts = varied_texts(45, 7)
    store.items.import_frame(project.id, pd.DataFrame({"text": texts}))
    reports = []

    class Reporter:
        def progress(self, done, total, *a, message="", **k):
            reports.append((done, total, message))

        def should_cancel(self):
            return False

    params = {"model": str(tiny_models["nli_bert"]), "labels": LABELS, "method": "nli"}
    run = store.runs.create(
        project.id, "zeroshot", {**params, "batch_size": 8, "engine": "ray", "actors": 1}
    )
    with monkeypatch.context() as m:  # the Ray workers load the model; the app's server must not
        for loader in ("load_sequence_classifier", "load_sentence_encoder"):
            m.setattr(f"labeler.zeroshot.load.{loader}", lambda *a, **k: pytest.fail("loaded"))
        tasks.zeroshot_task(store, store.runs.get(run), Reporter())
    assert (45, 45, "Scoring tweets on the Ray cluster") in reports
    got = store.predictions.frame(run).sort_values("item_id")
    settings = tasks.zeroshot_settings({**params, "batch_size": 8})
    engine = load_zeroshot(settings)
    want = engine.score(texts)
    np.testing.assert_allclose(np.array(got["scores"].tolist()), want.scores, atol=1e-5)
    assert got["label"].tolist() == want.labels
    # named and keyed as the local engine names and keys it: a later local run reuses the scores
    stored = store.runs.get(run)
    assert (stored["model"], stored["run_key"]) == (engine.display_name, engine.run_key)

    source = store.runs.create(project.id, "train", {})
    store.runs.update(source, status="done", artifact_path=str(stance_model), model="tiny")
    run = store.runs.create(
        project.id, "predict", {"model_run": source, "engine": "ray", "actors": 1}
    )
    tasks.run_prediction(store, store.runs.get(run), Reporter())
    got = store.predictions.frame(run).sort_values("item_id")
    want = predict(str(stance_model), texts)
    cols = [want.label_names.index(lab) for lab in LABELS]  # the store keeps project order
    np.testing.assert_allclose(np.array(got["scores"].tolist()), want.probs[:, cols], atol=1e-5)
    assert got["label"].tolist() == want.labels and len(set(want.labels)) >= 2


@pytest.mark.parametrize(
    "resources, actors, threads, expected",
    [
        ({"CPU": 16.0, "GPU": 4.0}, None, None, (4, 1, 1)),  # one actor per GPU, a GPU each
        ({"CPU": 16.0, "GPU": 4.0}, 8, None, (8, 1, 1)),
        ({"CPU": 8.0}, None, None, (8, 1, 0)),  # CPUs only: one single-thread actor per core
        ({"CPU": 8.0}, 2, None, (2, 4, 0)),  # fewer actors share the cores out
        ({"CPU": 8.0}, None, 2, (4, 2, 0)),
    ],
)
def test_the_pool_uses_gpus_when_the_cluster_has_them(
    monkeypatch, resources, actors, threads, expected
):
    monkeypatch.setattr(ray, "cluster_resources", lambda: resources)
    assert engine.pool_size(actors, threads) == expected
