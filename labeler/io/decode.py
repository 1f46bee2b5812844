"""Bytes -> text for the text formats (CSV, TSV, TXT, JSON, JSONL).

The encoding is told from a byte-order mark (UTF-32, UTF-16, UTF-8), else UTF-8 is tried, and
bytes that are not UTF-8 are read as Windows-1252 one by one, so a file that mixes both keeps its
UTF-8 lines. Binary data (NUL bytes, control characters) is refused; a few stray NULs are
removed with a warning. Importing this module changes no global state (no codec error handler is
registered): the fallback uses the built-in "surrogateescape" handler and maps its marks back.
"""

from __future__ import annotations

import codecs
import re

from ..errors import InputError
from .formats import SAVE_AS_CSV

# Control characters that never occur in real text (tab, line feed, carriage return excluded);
# C1 (0x80-0x9f) shows up when binary bytes are read through the Latin-1 fallback.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_ASCII_BYTES = bytes(range(128))

# "surrogateescape" decodes each byte b that is not part of valid UTF-8 (always b >= 0x80) as
# the lone surrogate U+DC00 + b, which valid UTF-8 never produces; these map them to cp1252.
_ESCAPED_RE = re.compile("[\udc80-\udcff]+")
_CP1252: dict[int, str] = {}
for _b in range(0x80, 0x100):
    try:
        _CP1252[0xDC00 + _b] = bytes([_b]).decode("cp1252")
    except UnicodeDecodeError:  # 0x81, 0x8d, 0x8f, 0x90, 0x9d: Latin-1 has them
        _CP1252[0xDC00 + _b] = chr(_b)
del _b


def decode(
    data: bytes, name: str, fmt: str, encoding: str | None, meta: dict, warnings: list[str]
) -> str:
    """The text of a file; sets meta["encoding"] and adds warnings (cp1252 guess, NUL bytes).

    `encoding` forces one codec; otherwise see the module docstring. Raises InputError for binary
    data and for bytes the forced or BOM-announced encoding cannot decode.
    """
    not_text = (
        f"file '{name}' is not text in a known encoding (it looks like binary data); is it "
        f"really a {fmt.upper()}? {SAVE_AS_CSV[0].upper()}{SAVE_AS_CSV[1:]}"
    )
    if encoding:
        try:
            text = data.decode(encoding)
        except LookupError:
            raise InputError(f"unknown encoding '{encoding}'; try utf-8 or cp1252") from None
        except UnicodeDecodeError as e:
            line = data.count(b"\n", 0, e.start) + 1
            raise InputError(
                f"file '{name}' is not valid {encoding}: line {line} has bytes that {encoding} "
                "cannot decode; choose another encoding or leave it unset to let the app guess"
            ) from None
        meta["encoding"] = encoding
    elif data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        text = _decode_unicode(data, "utf-32", name)
        meta["encoding"] = "utf-32"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # Excel's "Unicode Text" export is UTF-16 with a byte-order mark.
        text = _decode_unicode(data, "utf-16", name)
        meta["encoding"] = "utf-16"
    else:
        # UTF-16 without a byte-order mark and binary files are full of NUL bytes; a CSV with a
        # few stray NULs (a damaged export) is still text, and the NULs are dropped below.
        if data.count(b"\x00", 0, 65536) > max(1, min(len(data), 65536) // 10):
            raise InputError(
                not_text + " (Many NUL bytes: if it is UTF-16 text, save it as UTF-8.)"
            )
        bom = data.startswith(codecs.BOM_UTF8)
        body = data[3:] if bom else data
        try:
            text = body.decode("utf-8")
            meta["encoding"] = "utf-8-sig" if bom else "utf-8"
        except UnicodeDecodeError:
            text = _decode_utf8_cp1252(body, name, meta, warnings)
    sample = text[:1_000_000]
    if len(_CONTROL_RE.findall(sample.replace("\x00", ""))) > max(8, len(sample) // 100):
        raise InputError(not_text)
    if "\x00" in text:
        first = text.count("\n", 0, text.index("\x00")) + 1
        count = text.count("\x00")
        text = text.replace("\x00", "")
        warnings.append(
            f"file '{name}' contained {count} NUL byte(s) (first on line {first}); they are not "
            "text and were removed. The file may be damaged: check that line."
        )
    return text.removeprefix("\ufeff")


def _decode_unicode(data: bytes, codec: str, name: str) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        raise InputError(
            f"file '{name}' starts like {codec.upper()} text but is not valid {codec.upper()}; "
            f"{SAVE_AS_CSV}"
        ) from None


def _decode_utf8_cp1252(body: bytes, name: str, meta: dict, warnings: list[str]) -> str:
    """Text that is not all UTF-8: the UTF-8 parts as UTF-8, every other byte as cp1252.

    Decoding byte by byte, instead of re-reading the whole file as cp1252, keeps the UTF-8 lines
    of a file that mixes both (rows pasted from two sources) intact, and reads a file that is
    cp1252 throughout the same as a cp1252 decode would.
    """
    escaped = body.decode("utf-8", errors="surrogateescape")
    parts: list[str] = []
    pos = nbytes = lines = 0
    first_line = None
    last_nl = -1  # the line break that ends the last line counted
    for m in _ESCAPED_RE.finditer(escaped):
        start, end = m.span()
        parts.append(escaped[pos:start])
        parts.append(m.group().translate(_CP1252))
        pos = end
        nbytes += end - start
        if first_line is None:
            first_line = escaped.count("\n", 0, start) + 1
        if start > last_nl:  # a line break is ASCII, so lines match those of the bytes
            lines += 1
            nl = escaped.find("\n", start)
            last_nl = nl if nl >= 0 else len(escaped)
    parts.append(escaped[pos:])
    non_ascii = len(body.translate(None, _ASCII_BYTES))
    if nbytes >= non_ascii:
        meta["encoding"] = "cp1252"
        warnings.append(
            f"file '{name}' is not UTF-8; it was read as Windows-1252 (cp1252). If "
            "accented letters look wrong, save it as CSV UTF-8 and import it again."
        )
    else:
        meta["encoding"] = "utf-8+cp1252"
        warnings.append(
            f"file '{name}' mixes encodings: {nbytes} byte(s) on {lines} line(s) "
            f"(first: line {first_line}) are not UTF-8 and were read as Windows-1252 "
            "(cp1252); the rest is UTF-8. Check those lines; saving the file as "
            "CSV UTF-8 avoids the guess."
        )
    return "".join(parts)
