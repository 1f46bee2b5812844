"""Batch jobs past one machine: zero-shot and prediction over many files on a Ray cluster."""
