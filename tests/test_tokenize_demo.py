"""The tokenizer demo shows the word pieces and ids the bot-detection notebook printed."""

from __future__ import annotations

import pytest

from labeler.errors import ModelError
from labeler.tokenize_demo import EXAMPLE, load_tokenizer, tokenize

# The notebook's output for its example with bert-base-uncased (the bundled MiniLM shares it).
NOTEBOOK_PIECES = [
    "elm", "##o", "relies", "on", "characters", ",", "open", "ai", "gp", "##t", "on", "byte",
    "pair", "encoding", ",", "and", "bert", "on", "the", "word", "pieces", "algorithms",
]  # fmt: skip
NOTEBOOK_IDS = [
    101, 17709, 2080, 16803, 2006, 3494, 1010, 2330, 9932, 14246, 2102, 2006, 24880, 3940,
    17181, 1010, 1998, 14324, 2006, 1996, 2773, 4109, 13792, 102,
]  # fmt: skip


def test_bundled_tokenizer_matches_the_notebook():
    result = tokenize(load_tokenizer(), EXAMPLE)
    assert result.pieces == NOTEBOOK_PIECES
    assert result.ids == NOTEBOOK_IDS
    table = result.table
    assert table["token"].iloc[0] == "[CLS]" and table["token"].iloc[-1] == "[SEP]"
    assert table["kind"].tolist().count("special") == 2
    assert table.loc[table["token"] == "##o", "kind"].item() == "continuation"
    assert result.decoded.startswith("[CLS] elmo relies")
    assert result.unknown == 0 and not result.truncated


def test_unknown_pieces_and_truncation_are_reported(tiny_models):
    tok = load_tokenizer(str(tiny_models["base_bert"]))
    result = tokenize(tok, "你好 " * 600)
    assert result.unknown > 0 and result.truncated and len(result.ids) == 512
    assert set(result.table["kind"]) >= {"special", "unknown"}


def test_a_missing_folder_says_so():
    with pytest.raises(ModelError, match="does not exist"):
        load_tokenizer("/no/such/model")
