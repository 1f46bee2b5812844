"""A project archive restores items, splits, labels, history and runs on a fresh install."""

from __future__ import annotations

import io as stdio
import json
import zipfile

import pandas as pd
import pytest

from labeler.comparison import trained_models
from labeler.db.store import Store
from labeler.errors import InputError
from labeler.io.read import read_table
from labeler.project_archive import (
    FORMAT,
    export_project,
    export_table,
    read_manifest,
    restore_project,
    zip_model_folder,
)
from labeler.sample import create_sample_project

ITEM_COLS = ["text", "ext_id", "split", "label", "label_source", "annotator", "unsure", "comment"]


@pytest.fixture
def store(workspace) -> Store:
    return Store(workspace / "labeler.sqlite")


@pytest.fixture
def busy(store, workspace):
    """A sample project with every kind of history: human labels, undo, accepted suggestions,
    flags, a zero-shot run with cached scores, a trained model and a prediction run."""
    project = create_sample_project(store)
    items = store.items.texts(project.id)
    pool = items[items["split"] == "pool"]["id"].tolist()
    held = items[items["split"] == "heldout"]["id"].tolist()
    for k, item in enumerate(pool[:20] + held[:10]):
        store.labels.add(int(item), project.labels[k % 3], annotator="ana" if k % 2 else "bo")
    store.labels.undo(project.id, "ana")
    store.items.set_unsure(pool[1], True)
    store.items.set_comment(pool[2], "sarcasm? 🙃")
    zs = store.runs.create(project.id, "zeroshot", {"labels": project.labels}, model="nli")
    store.predictions.put(zs, [(int(i), "NONE", 0.9, [0.05, 0.05, 0.9]) for i in items["id"]])
    store.runs.update(zs, status="done", run_key="zs-key", metrics={"items": len(items)})
    store.scores.put_scores("zs-key", {k: [0.05, 0.05, 0.9] for k in items["text_key"]})
    store.scores.put_scores("other-project-key", {"x": [1.0]})
    store.labels.accept_suggestions(project.id, zs, 0.8, annotator="bulk", audit_share=0.1)
    folder = workspace / "models" / "m1"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text('{"model_type": "bert"}')
    (folder / "README.md").write_text("# model card")
    (folder / "model.safetensors").write_bytes(b"\0weights" * 100)
    train = store.runs.create(project.id, "train", {"epochs": 1}, model="tiny")
    store.predictions.put(train, [(int(i), "AGAINST", 0.6, [0.6, 0.2, 0.2]) for i in held])
    store.runs.update(
        train, status="done", artifact_path=str(folder), metrics={"macro_f1": 0.5},
        log=[{"step": 1, "loss": 1.0}],
    )  # fmt: skip
    pred = store.runs.create(project.id, "predict", {"model_run": train, "scope": "all"})
    store.predictions.put(pred, [(int(i), "FAVOR", 0.7, [0.1, 0.7, 0.2]) for i in items["id"]])
    store.runs.update(pred, status="done")
    live = store.runs.create(project.id, "zeroshot", {})  # still queued: not archived
    return project, {"zs": zs, "train": train, "predict": pred, "live": live}


def _items(store, pid):
    df = store.export.frame(pid).sort_values("text").reset_index(drop=True)
    assert {*ITEM_COLS, "labelled_at_utc", "stance", "zs_label", "pred_label"} <= set(df.columns)
    return df.drop(columns="item_id")


def _history(store, pid):
    h = store.labels.history(pid)
    # retractions point at the same position in the history, whatever the new ids are
    pos = {a: k for k, a in enumerate(h["annotation_id"])}
    h["retracts"] = [None if pd.isna(r) else pos[int(r)] for r in h["retracts"]]
    return h.drop(columns=["annotation_id", "item_id", "run_id"])


def test_restore_on_a_fresh_install_reproduces_the_project(busy, store, tmp_path, monkeypatch):
    project, runs = busy
    data = export_project(store, project.id)
    with zipfile.ZipFile(stdio.BytesIO(data)) as zf:
        names = set(zf.namelist())
    assert names == {
        "project.json", "items.jsonl", "annotations.jsonl", "runs.jsonl", "predictions.jsonl",
        "score_cache.jsonl",
    }  # fmt: skip
    monkeypatch.setenv("TWEET_LABELER_HOME", str(tmp_path / "fresh"))
    fresh = Store(tmp_path / "fresh" / "labeler.sqlite")
    new = restore_project(fresh, data)
    assert new.name == project.name and new.labels == project.labels
    assert (new.template, new.phrases, new.target) == (
        project.template,
        project.phrases,
        project.target,
    )
    pd.testing.assert_frame_equal(_items(fresh, new.id), _items(store, project.id))
    pd.testing.assert_frame_equal(_history(fresh, new.id), _history(store, project.id))
    assert fresh.items.stats(new.id)["per_source"] == store.items.stats(project.id)["per_source"]
    assert fresh.items.stats(new.id)["review"] == store.items.stats(project.id)["review"]
    old_runs = {r["kind"]: r for r in store.runs.list(project.id) if r["id"] != runs["live"]}
    new_runs = {r["kind"]: r for r in fresh.runs.list(new.id)}
    assert set(new_runs) == {"zeroshot", "train", "predict"}  # the live run is left out
    assert new_runs["predict"]["params"]["model_run"] == new_runs["train"]["id"]
    assert new_runs["train"]["metrics"] == old_runs["train"]["metrics"]
    assert new_runs["train"]["log"] == old_runs["train"]["log"]
    assert new_runs["train"]["artifact_path"] is None  # weights were not included
    assert trained_models(fresh, new.id) == []
    for kind in new_runs:
        old_p = store.predictions.frame(old_runs[kind]["id"]).drop(columns="item_id")
        new_p = fresh.predictions.frame(new_runs[kind]["id"]).drop(columns="item_id")
        pd.testing.assert_frame_equal(new_p, old_p)
    keys = store.items.texts(project.id)["text_key"].tolist()
    assert fresh.scores.get_scores("zs-key", keys) == store.scores.get_scores("zs-key", keys)
    assert fresh.scores.get_scores("other-project-key", ["x"]) == {}
    # accepted suggestions still name the (new) run they came from
    accepted = fresh.labels.history(new.id).query("source == 'accepted-suggestion'")
    assert set(accepted["run_id"]) == {new_runs["zeroshot"]["id"]}


def test_models_travel_when_asked_and_load_from_the_new_folder(busy, store, workspace):
    project, runs = busy
    data = export_project(store, project.id, include_models=True)
    assert read_manifest(data)["models"] == [runs["train"]]
    new = restore_project(store, data)
    assert new.name == f"{project.name} (restored)"
    (model,) = trained_models(store, new.id)
    folder = workspace / "models" / f"project-{new.id}" / f"run-{model['id']}"
    assert model["artifact_path"] == str(folder)
    assert (folder / "model.safetensors").read_bytes() == b"\0weights" * 100
    assert restore_project(store, data).name == f"{project.name} (restored 2)"


def test_a_bad_archive_is_refused_and_leaves_nothing(busy, store):
    project, _ = busy
    before = len(store.projects.all())
    with pytest.raises(InputError, match="not a Tweet Labeler project archive"):
        restore_project(store, b"PK\x03\x04 not really a zip")
    with pytest.raises(InputError, match="not a Tweet Labeler project archive"):
        restore_project(store, b"id,text\n1,hello\n")
    good = export_project(store, project.id, include_models=True)
    buf = stdio.BytesIO()
    with zipfile.ZipFile(stdio.BytesIO(good)) as src, zipfile.ZipFile(buf, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        dst.writestr(f"models/run-{read_manifest(good)['models'][0]}/../../escape.txt", b"x")
    with pytest.raises(InputError, match="unsafe path"):
        restore_project(store, buf.getvalue())
    newer = stdio.BytesIO()
    with zipfile.ZipFile(newer, "w") as zf:
        zf.writestr("project.json", json.dumps({"format": FORMAT, "version": 99}))
    with pytest.raises(InputError, match="newer Tweet Labeler"):
        restore_project(store, newer.getvalue())
    broken = stdio.BytesIO()
    with zipfile.ZipFile(stdio.BytesIO(good)) as src, zipfile.ZipFile(broken, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            dst.writestr(info, body[: len(body) // 2] if info.filename == "items.jsonl" else body)
    with pytest.raises(InputError, match="damaged"):
        restore_project(store, broken.getvalue())
    assert len(store.projects.all()) == before


@pytest.mark.parametrize("fmt", ["csv", "tsv", "xlsx", "jsonl", "parquet"])
def test_exported_tables_read_back(busy, store, fmt):
    project, _ = busy
    items = read_table(export_table(store, project.id, "items", fmt), f"x.{fmt}")
    assert len(items) == store.items.count(project.id)
    want = store.export.frame(project.id)["label"].fillna("").tolist()
    assert items["label"].tolist() == want
    history = read_table(export_table(store, project.id, "history", fmt), f"h.{fmt}")
    assert len(history) == len(store.labels.history(project.id))
    assert set(history["annotator"]) == {"ana", "bo", "bulk"}


def test_model_zip_unpacks_to_a_folder(busy, store, tmp_path):
    project, runs = busy
    folder = store.runs.get(runs["train"])["artifact_path"]
    with zipfile.ZipFile(stdio.BytesIO(zip_model_folder(folder))) as zf:
        zf.extractall(tmp_path / "out")
    assert (tmp_path / "out" / "m1" / "config.json").is_file()
    assert (tmp_path / "out" / "m1" / "README.md").read_text() == "# model card"
    with pytest.raises(InputError, match="not a model folder"):
        zip_model_folder(tmp_path)


# -- limits: a zip bomb must not pass the upload cap ---------------------------------------------

BOMB = 50 * 2**20  # 50 MB of zeros: about 50 kB deflated, a 1000:1 ratio


def _rebuild(
    good: bytes, replace: dict[str, bytes] | None = None, add: dict[str, bytes] | None = None
) -> bytes:
    """The archive `good` with some members' contents replaced and others added (deflated)."""
    replace, add = replace or {}, add or {}
    buf = stdio.BytesIO()
    with zipfile.ZipFile(stdio.BytesIO(good)) as src, zipfile.ZipFile(buf, "w") as dst:
        for info in src.infolist():
            body = replace.get(info.filename, src.read(info))
            dst.writestr(info.filename, body, compress_type=zipfile.ZIP_DEFLATED)
        for name, body in add.items():
            dst.writestr(name, body, compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def _lie_about_size(data: bytes, member: str, declared: int) -> bytes:
    """The archive with `member`'s uncompressed size in both headers set to `declared`."""
    out = bytearray(data)
    name = member.encode()
    for signature, size_at, name_len_at, name_at in (
        (b"PK\x01\x02", 24, 28, 46),
        (b"PK\x03\x04", 22, 26, 30),
    ):
        pos = out.find(signature)
        while pos >= 0:
            n = int.from_bytes(out[pos + name_len_at : pos + name_len_at + 2], "little")
            if bytes(out[pos + name_at : pos + name_at + n]) == name:
                out[pos + size_at : pos + size_at + 4] = declared.to_bytes(4, "little")
            pos = out.find(signature, pos + 4)
    return bytes(out)


def _refusal(store, data: bytes) -> str:
    """The message restoring `data` gives: an InputError (a sentence on the page), nothing else."""
    with pytest.raises(Exception) as info:
        restore_project(store, data)
    assert isinstance(info.value, InputError), f"not a sentence: {info.value!r}"
    return str(info.value)


def _nothing_left(store, workspace, before: int) -> None:
    assert len(store.projects.all()) == before
    assert not list((workspace / "models").glob("project-*/run-*/*"))


def test_a_zip_bomb_in_a_model_folder_is_refused_before_anything_is_written(busy, store, workspace):
    project, runs = busy
    good = export_project(store, project.id, include_models=True)
    member = f"models/run-{runs['train']}/pytorch_model.bin"
    before = len(store.projects.all())
    msg = _refusal(store, _rebuild(good, add={member: bytes(BOMB)}))
    assert member in msg and "200" in msg  # the member and the ratio limit
    _nothing_left(store, workspace, before)


def test_a_zip_bomb_in_a_table_is_refused(busy, store, workspace):
    project, _ = busy
    good = export_project(store, project.id)
    with zipfile.ZipFile(stdio.BytesIO(good)) as zf:
        items = zf.read("items.jsonl")
    padded = items.replace(b"\n", b" " * (BOMB // items.count(b"\n")) + b"\n")
    before = len(store.projects.all())
    msg = _refusal(store, _rebuild(good, replace={"items.jsonl": padded}))
    assert "items.jsonl" in msg and "200" in msg
    _nothing_left(store, workspace, before)


@pytest.mark.parametrize("member", ["items.jsonl", "models/run-{train}/config.json"])
def test_a_member_larger_than_its_header_says_is_refused(busy, store, workspace, member):
    project, runs = busy
    good = export_project(store, project.id, include_models=True)
    member = member.format(train=runs["train"])
    crafted = _lie_about_size(_rebuild(good, replace={member: bytes(BOMB // 5)}), member, 1000)
    with zipfile.ZipFile(stdio.BytesIO(crafted)) as zf:  # the header really lies
        assert zf.getinfo(member).file_size == 1000
    before = len(store.projects.all())
    msg = _refusal(store, crafted)
    assert member in msg
    _nothing_left(store, workspace, before)


@pytest.mark.parametrize(
    ("limit", "value"), [("MAX_UNPACKED_BYTES", 300_000), ("MAX_TABLES_BYTES", 300_000)]
)
def test_an_archive_over_the_size_limit_is_refused_naming_it(
    busy, store, workspace, monkeypatch, limit, value
):
    import labeler.project_archive as archive

    project, _ = busy
    good = export_project(store, project.id, include_models=True)
    before = len(store.projects.all())
    monkeypatch.setattr(archive, limit, value)  # every member is smaller; together they are not
    msg = _refusal(store, good)
    assert "300,000 bytes" in msg and "predictions.jsonl" in msg
    _nothing_left(store, workspace, before)
    monkeypatch.undo()
    assert restore_project(store, good).name == f"{project.name} (restored)"


def test_texts_with_unicode_line_separators_survive_the_archive(store):
    project = store.projects.create("Separators", ["A", "B"])
    texts = ["line\u2028separator", "para\u2029graph", "next\x85line", "plain"]
    store.items.import_frame(
        project.id,
        pd.DataFrame(
            {"text": texts, "ext_id": None, "source_row": range(1, 5), "label": "A", "extra": None}
        ),
    )
    try:
        new = restore_project(store, export_project(store, project.id))
    except InputError as exc:
        pytest.fail(f"an archive with U+2028 inside a tweet was refused: {exc}")
    assert sorted(store.items.texts(new.id)["text"]) == sorted(texts)
    assert store.items.count_labelled(new.id) == 4
