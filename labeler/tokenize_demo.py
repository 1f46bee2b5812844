"""What a model's tokenizer makes of a sentence: word pieces, ids, special tokens (class demos).

As in the bot-detection notebook: `tokenizer.tokenize(text)` gives the word pieces ("##" marks a
piece that continues a word), `tokenizer.encode(text)` their ids with [CLS] first and [SEP] last,
the way the model reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from .models.load import load_tokenizer as load_model_tokenizer
from .models.resolve import BUNDLED, resolve_model

EXAMPLE = (
    "ELMO relies on characters, Open AI GPT on byte pair encoding, and BERT on the word pieces "
    "algorithms"
)


def load_tokenizer(spec: str | None = None) -> Any:
    """The tokenizer of a hub id, a model folder or the bundled MiniLM (the default)."""
    return load_model_tokenizer(resolve_model(spec or BUNDLED))


@dataclass
class Tokenized:
    table: pd.DataFrame  # position, token, id, kind ("special", "word start", "continuation")
    pieces: list[str]  # tokenizer.tokenize(text): word pieces without special tokens
    ids: list[int]  # tokenizer.encode(text): with special tokens
    decoded: str  # tokenizer.decode(ids)
    unknown: int  # pieces the vocabulary lacks ([UNK])
    vocab_size: int
    truncated: bool


def tokenize(tokenizer: Any, text: str, max_length: int = 512) -> Tokenized:
    """Word pieces and ids of `text` as the model sees them (special tokens included)."""
    ids = tokenizer.encode(text, truncation=True, max_length=max_length)
    full = tokenizer.encode(text)
    tokens = tokenizer.convert_ids_to_tokens(ids)
    special = set(tokenizer.all_special_ids)
    unk = tokenizer.unk_token_id

    def kind(tok: str, i: int) -> str:
        if i in special and i != unk:
            return "special"
        if i == unk:
            return "unknown"
        return "continuation" if tok.startswith("##") else "word start"

    table = pd.DataFrame(
        {
            "position": range(len(ids)),
            "token": tokens,
            "id": ids,
            "kind": [kind(t, i) for t, i in zip(tokens, ids)],
        }
    )
    return Tokenized(
        table=table,
        pieces=tokenizer.tokenize(text),
        ids=list(ids),
        decoded=tokenizer.decode(ids),
        unknown=int(sum(i == unk for i in ids)) if unk is not None else 0,
        vocab_size=len(tokenizer),
        truncated=len(full) > len(ids),
    )
