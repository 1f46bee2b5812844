"""Tiny random Hugging Face models built locally, for tests, the browser test and smoke runs.

Nothing is downloaded: a WordPiece tokenizer is made from a few sentences, and BERT- and
DistilBERT-shaped models (hidden size 32, two layers) are initialised from a seed. Classifier heads
and all weights are drawn wide (std 0.5-1.0) so scores spread across labels: with a default head every label scores
~1/3 and a wrong engine would pass by accident.

Run as a script to write them to a folder: `python tests/tiny_models.py OUT_DIR`.
"""

from __future__ import annotations

import sys
from pathlib import Path

NLI_LABELS = {0: "contradiction", 1: "neutral", 2: "entailment"}

# NLI models whose entailment label is not last, named in other cases and orders: the pipeline
# takes the first label2id key starting with "entail" (any case) as entailment and index 0 as
# contradiction, or -1 when entailment is 0. With entailment always at 2 (NLI_LABELS) an engine
# with a wrong contradiction index, or a fixed entailment index, would still equal the pipeline.
# name: (arch, id2label, seed); head_std 0.2 as for NLI_LABELS (wider saturates nli_binary's
# multi-label scores near 0).
NLI_VARIANTS = {
    # entailment 0: contradiction is index -1 (2), not 0
    "nli_ent0": ("bert", {0: "ENTAILMENT", 1: "Neutral", 2: "CONTRADICTION"}, 11),
    # entailment 1, contradiction 0
    "nli_ent1": ("distilbert", {0: "contradiction", 1: "Entailment", 2: "neutral"}, 12),
    # entailment 2 but neutral first: the pipeline's "contradiction" (index 0) is neutral here
    "nli_ent2": ("bert", {0: "neutral", 1: "contradiction", 2: "ENTAILMENT"}, 13),
    # two classes, entailment 0 (RTE/QNLI style): contradiction -1 is not_entailment
    "nli_binary": ("distilbert", {0: "entailment", 1: "not_entailment"}, 20),
}

_CORPUS = [
    "This tweet is against the four day work week.",
    "This tweet is in favor of the policy.",
    "This tweet is neutral towards it.",
    "The author of this tweet is against Joe Biden.",
    "I love going to school, said nobody ever!",
    "@user RT #fourdayweek https://t.co/abc great news for workers and nurses",
    "Bosses hate it, small business owners worry about costs and productivity.",
    "What a terrible idea, wages will drop and prices go up.",
    "yes yes yes finally some good policy from the government",
    "no no no this will ruin the economy and the bakery",
    "entailment contradiction neutral sports weather music movie",
    "good bad great awful happy sad love hate support oppose",
]


_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def fixed_vocab() -> dict[str, int]:
    """A WordPiece vocabulary that is the same in every process: the specials, every character
    of the corpus alone and as a continuation ("##x"), and every word of the corpus whole.

    Not trained: `WordPieceTrainer` breaks ties in hash order, which Rust seeds per process, so a
    trained vocabulary (and with it every token id, and so a random model's scores) changed from
    one test session to the next, and a score-spread check passed or failed by chance.
    """
    from tokenizers import normalizers, pre_tokenizers

    norm = normalizers.BertNormalizer(lowercase=True)
    pre = pre_tokenizers.BertPreTokenizer()
    words = sorted(
        {w for line in _CORPUS for w, _ in pre.pre_tokenize_str(norm.normalize_str(line))}
    )
    chars = sorted({c for w in words for c in w})
    tokens = [*_SPECIALS, *chars, *(f"##{c}" for c in chars), *words]
    return {t: i for i, t in enumerate(dict.fromkeys(tokens))}


def build_tokenizer(out_dir: str | Path, token_type_ids: bool = False):
    """A small lowercase WordPiece tokenizer (`fixed_vocab`) saved as a fast BERT-style tokenizer.

    `token_type_ids=True` makes it return segment ids for pairs, as BERT's own tokenizer (and the
    bundled MiniLM's) does; DistilBERT takes none, so its tokenizer must not return them.
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordPiece(fixed_vocab(), unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=512,
        model_input_names=(
            ["input_ids", "token_type_ids", "attention_mask"]
            if token_type_ids
            else ["input_ids", "attention_mask"]
        ),
    )
    fast.save_pretrained(str(out_dir))
    return fast


def build_model(
    out_dir: str | Path,
    arch: str = "bert",
    id2label: dict[int, str] | None = None,
    seed: int = 0,
    head_std: float = 1.0,
):
    """Save a tiny random sequence classifier (`arch` "bert" or "distilbert") with its tokenizer."""
    import torch
    from transformers import (
        BertConfig,
        BertForSequenceClassification,
        DistilBertConfig,
        DistilBertForSequenceClassification,
    )

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(out_dir, token_type_ids=arch == "bert")
    id2label = dict(id2label or NLI_LABELS)
    common = dict(
        vocab_size=len(tokenizer),
        id2label=id2label,
        label2id={v: k for k, v in id2label.items()},
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    if arch == "bert":
        config = BertConfig(
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=64,
            max_position_embeddings=512,
            initializer_range=0.5,
            **common,
        )
        model = BertForSequenceClassification(config)
        head = [model.classifier]
    elif arch == "distilbert":
        config = DistilBertConfig(
            dim=32,
            n_layers=2,
            n_heads=2,
            hidden_dim=64,
            max_position_embeddings=512,
            initializer_range=0.5,
            **common,
        )
        model = DistilBertForSequenceClassification(config)
        head = [model.pre_classifier, model.classifier]
    else:
        raise ValueError(f"unknown arch {arch!r}: use 'bert' or 'distilbert'")
    with torch.no_grad():
        for layer in head:
            layer.weight.normal_(0.0, head_std)
            layer.bias.normal_(0.0, head_std)
    model.save_pretrained(str(out_dir), safe_serialization=True)
    return out_dir


def varied_texts(n: int, seed: int = 0) -> list[str]:
    """Texts of 3-12 words of the tiny models' vocabulary: a random model tells them apart (it
    gives near-identical tweets one label)."""
    import random

    words = " ".join(_CORPUS).lower().replace(",", "").replace(".", "").replace("!", "").split()
    rnd = random.Random(seed)
    return [" ".join(rnd.sample(words, rnd.randint(3, 12))) for _ in range(n)]


def build_all(root: str | Path) -> dict[str, Path]:
    """NLI-shaped models of both architectures plus a 3-label stance model; returns their folders."""
    root = Path(root)
    return {
        # head_std 0.2: NLI scores land mid-range (single- and multi-label, ~0.1-0.9) and differ
        # across texts; at 1.0 multi-label scores saturate at 1.0 and hide engine mistakes.
        "nli_bert": build_model(root / "nli-bert", "bert", NLI_LABELS, seed=1, head_std=0.2),
        "nli_distilbert": build_model(
            root / "nli-distilbert", "distilbert", NLI_LABELS, seed=2, head_std=0.2
        ),
        "base_bert": build_model(root / "base-bert", "bert", {0: "LABEL_0", 1: "LABEL_1"}, seed=3),
        "base_distilbert": build_model(
            root / "base-distilbert", "distilbert", {0: "LABEL_0", 1: "LABEL_1"}, seed=4
        ),
    }


def build_nli_variants(root: str | Path, head_std: float = 0.2) -> dict[str, Path]:
    """The NLI_VARIANTS models under `root`; returns their folders by name."""
    root = Path(root)
    return {
        name: build_model(
            root / name.replace("_", "-"), arch, id2label, seed=seed, head_std=head_std
        )
        for name, (arch, id2label, seed) in NLI_VARIANTS.items()
    }


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "tiny-models")
    for name, path in {**build_all(target), **build_nli_variants(target)}.items():
        print(f"{name}\t{path}")
