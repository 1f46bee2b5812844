"""One exception family for the whole core.

Every message says what is wrong, where (file, column, row, counts) and what to do instead, so the
pages and the CLI can show it as it is, never as a traceback.
"""

from __future__ import annotations


class LabelerError(Exception):
    """Base of every error the core raises on purpose; its text is meant for the user."""


class InputError(LabelerError):
    """A file, column or row the user gave cannot be used as it is."""


class SettingsError(LabelerError):
    """A setting (template, phrases, epochs, learning rate, ...) is out of range or inconsistent."""


class ModelError(LabelerError):
    """A model cannot be found, loaded, or is the wrong kind for the task."""


class DataError(LabelerError):
    """The labelled data cannot support the task (too few labels, a class too small to split)."""


class StoreError(LabelerError):
    """The workspace store cannot do what was asked (unknown project, name taken, ...)."""


class JobError(LabelerError):
    """A background job cannot start or has failed."""


class Cancelled(LabelerError):
    """Raised inside an engine when its cancel check says stop; nothing half-written is kept."""
