"""Tweet Labeler core: import, store, zero-shot pre-labels, fine-tuning, evaluation, export.

Importing this package is cheap and UI-free: nothing here imports streamlit, and the heavy
libraries (torch, transformers) load only in the modules that need them.
"""

__version__ = "0.1.0"
