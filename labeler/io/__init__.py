"""Files <-> DataFrames: read tweet tables, guess their columns, prepare items, write tables back.

This is the pure file layer under the import and export screens and the CLI; it knows nothing of
the workspace store or of Streamlit. Everything a user can get wrong (format, encoding,
delimiter, columns, rows) ends in an `InputError` whose text says what is wrong, where, and what
to do. Nothing is re-exported here: import from the module that owns the name.

- `formats`: the formats read and written (SUPPORTED, WRITE_FORMATS), `guess_format` from a file
  name, and magic-byte checks that tell what a mislabelled binary file really is.
- `decode`: bytes -> text (byte-order marks, UTF-8, Windows-1252 fallback, mixed files).
- `read`: `read_table`, the one entry point for reading, and its contract.
- `read_delimited`: CSV/TSV (delimiter sniffing, ragged rows, unclosed quotes) and TXT parsing.
- `read_json`: JSON and JSON-lines parsing.
- `read_binary`: XLSX and Parquet parsing.
- `cells`: cell values as text, as every other module sees them.
- `columns`: `detect_columns`/`ColumnGuess` and `require_column`, the one column check.
- `prepare`: `prepare_items`/`PreparedItems`, a read table turned into items for the store.
- `write`: `to_bytes` and `write_table` for export (`EXCEL_CELL_LIMIT`).
"""
