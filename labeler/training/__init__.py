"""Training: fine-tuning a Hugging Face encoder into a text classifier folder (no database here).

Owns the whole run, one concern per module:
`settings` (TrainSettings, validated on creation; TrainProgress; TrainResult),
`data` (cleaning, checks with counts, the stratified split, fingerprints, tokenising),
`base_model` (which base model, its tokenizer, loading it with a fresh head),
`progress` (step reports, ETA, cancel checks and the training log across phases),
`trainer` (the transformers Trainer per phase: arguments, class-weighted loss, callbacks),
`artifacts` (the temporary folder, the saved model and the JSON records and model card),
`run` (`train_classifier`: the short orchestration of all of the above),
`plan` (what a run will use and roughly how long it takes, for the Train page).
Scores come from `labeler.evaluation.metrics`; nothing here re-implements them.
"""
