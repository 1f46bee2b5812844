"""Which file formats exist and how a file's format is told: by its extension and by its bytes.

`guess_format` maps a file name to a format for reading and writing alike. The magic-byte checks
(`binary_kind`, `refuse_binary`) catch a file whose content is not what its extension says (an
.xlsx renamed to .csv, a PDF, an archive) so the message can name what it really is.
`SAVE_AS_CSV` is the advice most read errors end with.
"""

from __future__ import annotations

import io
import os
import zipfile

from ..errors import InputError

SUPPORTED = (".csv", ".tsv", ".xlsx", ".jsonl", ".parquet")
# Read as well: ".txt" is one tweet per line (no header, column "text"); ".json" is a list of
# records (or {"data": [...]}) or JSON lines.
ALSO_READ = (".txt", ".json")
WRITE_FORMATS = ("csv", "tsv", "xlsx", "jsonl", "parquet", "json")

EXT_FORMAT = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".txt": "txt",
    ".json": "json",
}
SAVE_AS_CSV = "save the tweets as CSV UTF-8 from your spreadsheet and import that file"
_PUT_IN_SHEET = (
    "Put the tweets in a spreadsheet, one per row under a header such as 'text', and save it as "
    "CSV UTF-8."
)
_EXT_HINTS = {
    ".xls": "Old Excel files (.xls) are not read: open it in Excel and save it as .xlsx or as "
    "CSV UTF-8.",
    ".ods": "Export it from your spreadsheet as .xlsx or CSV UTF-8.",
    ".numbers": "Export it from Numbers as .xlsx or CSV.",
    ".docx": _PUT_IN_SHEET,
    ".doc": _PUT_IN_SHEET,
    ".pdf": _PUT_IN_SHEET,
    ".rtf": _PUT_IN_SHEET,
    ".zip": "Unpack the archive and import the file inside.",
    ".gz": "Unpack it (gunzip) and import the file inside.",
    ".bz2": "Unpack it and import the file inside.",
    ".xz": "Unpack it and import the file inside.",
    ".7z": "Unpack it and import the file inside.",
}

_MAGIC = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"\xd0\xcf\x11\xe0", "an old Office file (.xls or .doc)"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"BZh", "a bzip2-compressed file"),
    (b"\xfd7zXZ", "an xz-compressed file"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"PAR1", "a Parquet file"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\x7fELF", "a program (ELF)"),
)


def guess_format(name: str) -> str:
    """The format of a file name by its extension: csv, tsv, xlsx, jsonl, parquet, txt or json."""
    ext = os.path.splitext(str(name).strip().lower())[1]
    if ext in EXT_FORMAT:
        return EXT_FORMAT[ext]
    what = f"extension '{ext}'" if ext else "no extension"
    hint = _EXT_HINTS.get(ext, "Save the tweets in one of those formats (CSV UTF-8 is the usual).")
    raise InputError(
        f"file '{name}' has {what}, which is not a format this app reads; supported: "
        f"{', '.join(SUPPORTED + ALSO_READ)}. {hint}"
    )


def zip_kind(data: bytes) -> str:
    """What a ZIP container holds, in words ("an Excel workbook (.xlsx)", "a ZIP archive", ...)."""
    try:
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return "a ZIP archive"
    if any(n.startswith("xl/") for n in names):
        return "an Excel workbook (.xlsx)"
    if any(n.startswith("word/") for n in names):
        return "a Word document (.docx)"
    if any(n.startswith("ppt/") for n in names):
        return "a PowerPoint file (.pptx)"
    if "content.xml" in names:
        return "an OpenDocument file (.ods/.odt)"
    return "a ZIP archive"


def binary_kind(data: bytes) -> str | None:
    """What a binary file is by its first bytes, in words; None when it does not look binary."""
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return zip_kind(data)
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    return None


def refuse_binary(data: bytes, name: str, fmt: str) -> None:
    """Raise InputError when a file named as a text format (csv, json, ...) is a binary file."""
    kind = binary_kind(data)
    if kind is None:
        return
    label = fmt.upper()
    if kind.startswith("an Excel"):
        fix = "rename it to .xlsx, or " + SAVE_AS_CSV
    elif kind == "a Parquet file":
        fix = "rename it to .parquet"
    else:
        fix = f"is it the right file? {SAVE_AS_CSV[0].upper()}{SAVE_AS_CSV[1:]}"
    raise InputError(f"file '{name}' is {kind}, not {label} text; {fix}")
