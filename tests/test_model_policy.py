"""Model folders on a shared server: with sign-in on, the app reads only hub ids, the bundled
model, the workspace's own trained models and folders under TWEET_LABELER_MODEL_DIRS, and shows no
absolute server path; on a laptop (sign-in off, the default) and in the CLI any folder works."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from labeler.db.store import open_store
from labeler.errors import ModelError
from labeler.models.policy import (
    AUTH_ENV,
    BUNDLED_DISPLAY,
    MODEL_DIRS_ENV,
    ModelPolicy,
    auth_enabled,
)
from labeler.models.resolve import BUNDLED, bundled_minilm_path, resolve_model
from labeler.sample import create_sample_project
from labeler.workspace import models_dir, workspace_dir

ROOT = Path(__file__).resolve().parents[1]
CUSTOM = "Custom: hub id or local folder"


def model_folder(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.json").write_text(json.dumps({"model_type": "bert"}), encoding="utf-8")
    return path


@pytest.fixture
def server(workspace, tmp_path, monkeypatch):
    """Sign-in on; two allowed model directories; a model folder inside one, one outside both."""
    shared, team = tmp_path / "srv" / "shared-models", tmp_path / "srv" / "team"
    inside = model_folder(shared / "nli" / "tiny-nli")
    model_folder(team / "encoder")
    outside = model_folder(tmp_path / "home" / "someone" / "private-model")
    monkeypatch.setenv(AUTH_ENV, "password")
    monkeypatch.setenv(MODEL_DIRS_ENV, os.pathsep.join([str(shared), str(team)]))
    return {"shared": shared, "team": team, "inside": inside, "outside": outside, "tmp": tmp_path}


# -- the policy, in the core ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "on"),
    [(None, False), ("", False), ("off", False), (" OFF ", False), ("on", True), ("oidc", True)],
)
def test_sign_in_is_on_for_any_setting_but_off(monkeypatch, value, on):
    if value is None:
        monkeypatch.delenv(AUTH_ENV, raising=False)
    else:
        monkeypatch.setenv(AUTH_ENV, value)
    assert auth_enabled() is on
    assert ModelPolicy.from_env().restricted is on


def test_a_laptop_reads_any_folder_and_shows_its_path(workspace, tmp_path, monkeypatch):
    monkeypatch.delenv(AUTH_ENV, raising=False)
    folder = model_folder(tmp_path / "anywhere" / "my-model")
    policy = ModelPolicy.from_env()
    resolved = resolve_model(str(folder), policy=policy)
    assert resolved.source == "local" and resolved.location == str(folder.resolve())
    assert policy.describe(resolved) == str(folder.resolve())  # as today: the folder itself
    assert policy.redact(f"failed in {folder}") == f"failed in {folder}"


def test_a_server_reads_only_allowed_folders(server):
    policy = ModelPolicy.from_env()
    assert policy.restricted
    resolved = resolve_model(str(server["inside"]), policy=policy)
    assert resolved.source == "local" and resolved.display == "tiny-nli"
    assert policy.describe(resolved) == "shared-models/nli/tiny-nli"
    for refused in (
        server["outside"],
        server["shared"] / ".." / ".." / "home" / "someone" / "private-model",  # climbing out
        server["tmp"],
    ):
        with pytest.raises(ModelError) as err:
            resolve_model(str(refused), policy=policy)
        message = str(err.value)
        assert message.startswith(f"Folder '{refused}' is not one this server lets the app read")
        rest = message.replace(str(refused), "")  # it quotes what was typed, nothing else
        assert str(server["tmp"]) not in rest and MODEL_DIRS_ENV in rest


def test_a_link_out_of_an_allowed_folder_is_refused(server):
    link = server["shared"] / "sneaky"
    link.symlink_to(server["outside"], target_is_directory=True)
    with pytest.raises(ModelError, match="not one this server lets the app read"):
        resolve_model(str(link), policy=ModelPolicy.from_env())


def test_a_server_takes_hub_ids_the_bundled_model_and_its_own_trained_models(server):
    policy = ModelPolicy.from_env()
    bundled = resolve_model(BUNDLED, policy=policy)
    assert bundled.source == "bundled"
    assert policy.describe(bundled) == BUNDLED_DISPLAY == "all-MiniLM-L6-v2 (bundled)"
    trained = model_folder(models_dir() / "project-1" / "run-7")
    resolved = resolve_model(str(trained), policy=policy)
    assert policy.describe(resolved) == "trained model, run #7"
    with pytest.raises(ModelError) as err:  # a hub id goes to the hub (offline in tests)
        resolve_model("someone/some-model", policy=policy)
    assert "HF_HUB_OFFLINE is set" in str(err.value)
    # a hub id is never taken for a folder of the server's working directory
    assert (ROOT / "data").is_dir()
    with pytest.raises(ModelError, match="not in the local cache"):
        resolve_model("data", policy=policy)


def test_the_cli_reads_any_folder_even_with_sign_in_on(server):
    resolved = resolve_model(str(server["outside"]))  # what the CLI and the jobs call
    assert resolved.source == "local" and resolved.display == "private-model"


def test_a_server_lists_allowed_folders_relative_to_their_directory(server):
    listed = dict(ModelPolicy.from_env().folders())
    assert listed == {
        str(server["inside"].resolve()): "shared-models/nli/tiny-nli",
        str((server["team"] / "encoder").resolve()): "team/encoder",
    }


def test_a_server_names_no_absolute_path_in_messages(server):
    policy = ModelPolicy.from_env()
    text = (
        f"Loading {server['inside']} failed; bundled at {bundled_minilm_path()}; "
        f"log at {workspace_dir() / 'logs' / 'run-3.log'}"
    )
    shown = policy.redact(text)
    assert "shared-models/nli/tiny-nli" in shown and BUNDLED_DISPLAY in shown
    assert str(server["tmp"]) not in shown and str(bundled_minilm_path()) not in shown


# -- the pages -----------------------------------------------------------------------------------


def _absolute_paths(at: AppTest, *roots: Path) -> list[str]:
    """Every string the page sends that names one of these folders (or site-packages)."""
    found = []
    needles = [str(r) for r in roots] + ["site-packages"]

    def walk(node):
        yield node
        for child in getattr(node, "children", {}).values():
            yield from walk(child)

    for node in walk(at._tree):
        proto = getattr(node, "proto", None)
        if proto is not None:
            text = str(proto)
            found += [n for n in needles if n in text]
    return found


def _app(project_id: int | None = None) -> AppTest:
    """The app; with sign-in on, signed in as an owner of every project (ui/auth.py)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    if auth_enabled():
        from labeler.db.users import Users

        store = open_store()
        users = Users(store.db)
        if users.get("owner") is None:
            users.add("owner", owner=True)
        at.session_state["auth_session"] = {"name": "owner", "token": users.create_session("owner")}
        store.close()
    if project_id is not None:
        at.query_params["project"] = str(project_id)
    at.run()
    assert not at.exception, at.exception
    return at


def _goto(at: AppTest, page: str) -> AppTest:
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def _texts(elements) -> str:
    return " ".join(re.sub(r"\\(.)", r"\1", str(e.value)) for e in elements)


def _trained_run(store, project) -> int:
    run = store.runs.create(project.id, "train", {"epochs": 1}, model="tiny")
    folder = model_folder(models_dir() / f"project-{project.id}" / f"run-{run}")
    store.runs.update(
        run, status="done", artifact_path=str(folder), metrics={"base_model": "tiny", "n_train": 3}
    )
    return run


def test_train_page_on_a_server(server, workspace):
    at = _app()
    store = open_store(workspace / "labeler.sqlite")
    project = create_sample_project(store, with_labels=True)
    run = _trained_run(store, project)
    at.query_params["project"] = str(project.id)
    at = _goto(at, "train")
    box = at.selectbox(key="tr_model")
    assert "shared-models/nli/tiny-nli (model folder)" in box.options
    assert f"Model #{run} · tiny (trained here)" in box.options
    box.set_value(str(server["inside"].resolve())).run()
    assert "Will train from tiny-nli" in _texts(at.success)
    assert "shared-models/nli/tiny-nli" in _texts(at.caption)
    box.set_value(BUNDLED).run()
    assert "Loaded from all-MiniLM-L6-v2 (bundled)" in _texts(at.caption)
    assert _absolute_paths(at, server["tmp"], workspace) == []  # models table included
    at.selectbox(key="tr_model").set_value(CUSTOM).run()
    at.text_input(key="tr_custom").set_value(str(server["outside"])).run()
    assert "not one this server lets the app read" in _texts(at.error)
    assert at.button(key="tr_start").disabled
    assert not at.success


def test_prelabel_and_tokenizer_on_a_server_refuse_other_folders(server, workspace):
    at = _app()
    at = _goto(at, "prelabel")
    at.selectbox(key="pl_model").set_value(CUSTOM).run()
    at.text_input(key="pl_custom").set_value(str(server["outside"])).run()
    assert "not one this server lets the app read" in _texts(at.error)
    assert not [b for b in at.button if b.key in ("pl_start", "pl_try")]
    at = _goto(at, "tokenizer")
    at.selectbox(key="tk_model").set_value(CUSTOM).run()
    at.text_input(key="tk_custom").set_value(str(server["outside"])).run()
    assert "not one this server lets the app read" in _texts(at.error)
    assert not at.dataframe  # no tokens read from that folder
    assert _absolute_paths(at, server["shared"], workspace) == []


def test_train_page_on_a_laptop_takes_any_folder(workspace, tmp_path, monkeypatch):
    monkeypatch.delenv(AUTH_ENV, raising=False)
    folder = model_folder(tmp_path / "anywhere" / "my-encoder")
    at = _app()
    store = open_store(workspace / "labeler.sqlite")
    project = create_sample_project(store, with_labels=True)
    at.query_params["project"] = str(project.id)
    at = _goto(at, "train")
    at.selectbox(key="tr_model").set_value(CUSTOM).run()
    at.text_input(key="tr_custom").set_value(str(folder)).run()
    assert "Will train from my-encoder" in _texts(at.success)
    assert f"Loaded from {folder.resolve()}" in _texts(at.caption)
    assert not at.button(key="tr_start").disabled
    at.selectbox(key="tr_model").set_value(BUNDLED).run()
    assert "Loaded from all-MiniLM-L6-v2 (bundled)" in _texts(at.caption)
    assert "site-packages" not in _texts(at.caption)
