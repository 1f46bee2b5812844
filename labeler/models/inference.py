"""The one batched inference loop: items sorted by length, padded per batch, under inference mode.

Zero-shot NLI (items: (tweet, hypothesis) pairs), embedding similarity (items: tweets) and
prediction with a trained classifier (items: tokenized tweets) all run through `run_batches`.
Tweets are short and uneven: sorting by token count and padding each batch only to its own
longest item saves most of the work a fixed length would waste. Longest first, so a batch too
large for memory fails at once and a rate measured on the first batches errs on the safe side;
items of equal length keep their input order.

The caller gives how to turn a batch of items into model inputs (`encode`, usually tokenizing
with padding=True and moving to the device) and how to run the model on them (`forward`, giving
one output row per item). `progress(done, total, rate, eta_s)` counts items after each batch;
`should_cancel()` is asked before each batch and `Cancelled` raised when it says so.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import torch

from ..errors import Cancelled

__all__ = ["CancelFn", "Progress", "run_batches", "to_device"]

T = TypeVar("T")
Progress = Callable[[int, int, float, "float | None"], None]  # done, total, items/s, eta (s)
CancelFn = Callable[[], bool]


def to_device(inputs: Mapping[str, Any], device: torch.device | str) -> dict[str, Any]:
    """The tensors of a tokenizer's output on `device` (anything else passed as it is)."""
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in inputs.items()}


def default_cancel_message(done: int, total: int) -> str:
    return f"Cancelled after {done} of {total} items."


def run_batches(
    items: Sequence[T],
    lengths: Sequence[int],
    encode: Callable[[list[T]], Any],
    forward: Callable[[Any], torch.Tensor],
    batch_size: int,
    *,
    progress: Progress | None = None,
    should_cancel: CancelFn | None = None,
    cancel_message: Callable[[int, int], str] | None = None,
) -> Iterator[tuple[list[int], torch.Tensor]]:
    """Yield (indices into `items`, float32 CPU outputs with one row per index) batch by batch.

    lengths[i] orders the items (token counts; longest first, ties in input order). The model
    runs under `torch.inference_mode`, entered per batch (never across a yield, so the caller's
    code between batches runs normally). cancel_message(done, total) gives the text of the
    `Cancelled` raised when should_cancel() says True before a batch ("Cancelled after 3 of 10
    items." when None).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be 1 or more (got {batch_size})")
    if len(lengths) != len(items):
        raise ValueError(f"{len(items)} items but {len(lengths)} lengths")
    total = len(items)
    order = sorted(range(total), key=lambda i: -lengths[i])
    done = 0
    start = time.perf_counter()
    for b in range(0, total, batch_size):
        if should_cancel is not None and should_cancel():
            raise Cancelled((cancel_message or default_cancel_message)(done, total))
        idx = order[b : b + batch_size]
        with torch.inference_mode():
            out = forward(encode([items[i] for i in idx]))
        out = out.detach().float().cpu()
        done += len(idx)
        if progress is not None:
            elapsed = time.perf_counter() - start
            rate = done / elapsed if elapsed > 0 else 0.0
            eta = (total - done) / rate if rate > 0 else None
            progress(done, total, rate, eta)
        yield idx, out
