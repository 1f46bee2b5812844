"""`python -m labeler`: the core from a terminal, one module per command.

- `main`: the parser and `main(argv)`; a LabelerError ends as one line "error: <message>" on
  stderr with exit code 2, Ctrl-C as one line with exit code 130, never a traceback.
- `args`: the arguments every file command repeats (INPUT, -o/--output, --text-col, ...) and the
  checks on them, done once (columns, output format, project names).
- `prelabel`: zero-shot pre-labels for every row of a file.
- `train`: fine-tune a classifier on a labelled file and report its scores.
- `predict`: label every row of a file with a fine-tuned model folder.
- `evaluate`: score a fine-tuned model folder on a labelled file.
- `import_` (`import`): add a file's tweets to a project of the store, creating it if needed.
- `export`: write a project's export table (the columns of `labeler.db.export`) to a file.
- `copy_store` (`copy-store`): copy the workspace's store onto another database.
"""
