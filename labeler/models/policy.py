"""Which model folders the app may read, and how it names folders, on a shared server or a laptop.

On a laptop (the default) any folder works and folders are shown as they are. When sign-in is on
(the server setting TWEET_LABELER_AUTH is set to anything but "off"), the app's model fields take
only hub ids, the bundled model, the workspace's own trained models and folders under the
directories listed in TWEET_LABELER_MODEL_DIRS (os.pathsep-separated), and no absolute server path
is shown: the bundled model is "all-MiniLM-L6-v2 (bundled)", a workspace model "trained model,
run #7", an allowed folder "<its directory's name>/<path inside it>".

The pages pass `ModelPolicy.from_env()` to `resolve_model`; the CLI and the background jobs (which
run what a page already checked) never do: on the command line any folder works, as the person
running it can read it anyway. Pure Python, no torch.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelError
from ..workspace import models_dir, workspace_dir
from .resolve import BUNDLED_DISPLAY, bundled_minilm_path

AUTH_ENV = "TWEET_LABELER_AUTH"
MODEL_DIRS_ENV = "TWEET_LABELER_MODEL_DIRS"
LIST_DEPTH = 3  # how deep `folders` looks for model folders under each allowed directory
LIST_LIMIT = 200


def auth_enabled() -> bool:
    """Whether sign-in is on: TWEET_LABELER_AUTH set to anything but "off" (the default)."""
    value = os.environ.get(AUTH_ENV, "").strip().lower()
    return bool(value) and value != "off"


def model_dirs() -> tuple[Path, ...]:
    """The directories TWEET_LABELER_MODEL_DIRS lists (os.pathsep-separated), resolved."""
    raw = os.environ.get(MODEL_DIRS_ENV, "")
    return tuple(
        dict.fromkeys(
            Path(p.strip()).expanduser().resolve() for p in raw.split(os.pathsep) if p.strip()
        )
    )


def _inside(path: Path, root: Path) -> bool:
    return path.is_relative_to(root)


def _bundled_path() -> Path | None:
    try:
        return bundled_minilm_path().resolve()
    except ModelError:  # pragma: no cover - a pinned requirement
        return None


@dataclass(frozen=True)
class ModelPolicy:
    """restricted: only allowed folders (sign-in on); roots: TWEET_LABELER_MODEL_DIRS;
    workspace_models: the workspace's trained models (always allowed)."""

    restricted: bool = False
    roots: tuple[Path, ...] = ()
    workspace_models: Path | None = None

    @classmethod
    def from_env(cls) -> ModelPolicy:
        return cls(auth_enabled(), model_dirs(), models_dir().resolve())

    def _trusted(self) -> tuple[Path, ...]:
        return (*self.roots, *([self.workspace_models] if self.workspace_models else []))

    def allows_folder(self, folder: str | os.PathLike) -> bool:
        """Any folder on a laptop; on a server only one inside an allowed directory or the
        workspace's models, links and ".." followed first (a link out of them is refused)."""
        if not self.restricted:
            return True
        real = Path(folder).expanduser().resolve()
        return any(_inside(real, root) for root in self._trusted())

    def refusal(self, spec: str) -> ModelError:
        return ModelError(
            f"Folder '{spec}' is not one this server lets the app read. Give a hub id, pick one "
            "of the listed model folders or models trained here, or ask the server's "
            f"administrator to add its directory to {MODEL_DIRS_ENV}."
        )

    def name_folder(self, folder: str | os.PathLike) -> str:
        """A folder as the app shows it: the bundled model by name; on a laptop the path itself;
        on a server a workspace model by run, an allowed folder relative to its directory's
        name, anything else by its own name: never an absolute server path."""
        real = Path(folder).expanduser().resolve()
        if real == _bundled_path():
            return BUNDLED_DISPLAY
        if not self.restricted:
            return str(folder)
        if self.workspace_models and _inside(real, self.workspace_models):
            rel = real.relative_to(self.workspace_models).as_posix()
            run = re.fullmatch(r"project-\d+/run-(\d+)", rel)
            return f"trained model, run #{run.group(1)}" if run else f"workspace models/{rel}"
        for root in sorted(self.roots, key=lambda r: len(str(r)), reverse=True):
            if _inside(real, root):
                rel = real.relative_to(root).as_posix()
                return root.name if rel == "." else f"{root.name}/{rel}"
        return real.name

    def describe(self, resolved) -> str:
        """Where a resolved model comes from, as the app shows it (a hub id as it is)."""
        if resolved.source == "bundled":
            return BUNDLED_DISPLAY
        if resolved.source == "local":
            return self.name_folder(resolved.location)
        return resolved.location

    def folders(self) -> list[tuple[str, str]]:
        """(folder, name to show) of each model folder (one holding config.json) under the
        allowed directories, at most LIST_DEPTH levels down."""
        found: list[tuple[str, str]] = []
        for root in self.roots:
            if not root.is_dir():
                continue
            for here, dirs, files in os.walk(root):
                depth = len(Path(here).relative_to(root).parts)
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                if depth >= LIST_DEPTH:
                    dirs[:] = []
                if "config.json" in files:  # os.walk does not follow links out of the root
                    rel = Path(here).relative_to(root).as_posix()
                    found.append((here, root.name if rel == "." else f"{root.name}/{rel}"))
                if len(found) >= LIST_LIMIT:
                    return found
        return found

    def redact(self, text: str) -> str:
        """A message with the server's absolute paths (allowed directories, the workspace, the
        bundled model) replaced by the names the app shows; unchanged on a laptop."""
        if not self.restricted or not text:
            return text
        names: dict[str, str] = {}
        bundled = _bundled_path()
        if bundled is not None:
            names[str(bundled)] = BUNDLED_DISPLAY
        for root in self.roots:
            names[str(root)] = root.name
        home = workspace_dir()
        for path in {home, home.resolve()}:
            names[str(path)] = "workspace"
        for path in sorted(names, key=len, reverse=True):
            text = text.replace(path, names[path])
        return text
