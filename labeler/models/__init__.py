"""Models: where one comes from (`resolve`), the one loader and its error (`load`), the one
length-sorted batched inference loop (`inference`), and prediction with a trained classifier
(`classifier`). Import from the modules; this package re-exports nothing."""
