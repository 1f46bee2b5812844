"""Zero-shot engines: NLI scores equal transformers' pipeline, and the tests can tell a wrong engine.

Tiny random NLI models of both architectures (BERT feeds token_type_ids, as the bundled MiniLM
does; DistilBERT takes none), and models whose entailment label sits at index 0, 1 or 2 under
other names and cases, or that have two classes (the `nli_variants` fixture): with entailment
always last, a wrong contradiction index or a fixed entailment index would still pass. Each
comparison with the pipeline is also run against deliberately wrong engines (entailment index
swapped, template not applied, hypothesis truncated instead of the tweet) and must fail for each,
so the suite proves that it would notice those mistakes; mutation/engines.toml does the same with
mistakes in the code itself.
"""

from __future__ import annotations

import hashlib
import socket
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from transformers import pipeline

from labeler.errors import Cancelled, JobError, ModelError, SettingsError
from labeler.models.resolve import resolve_model
from labeler.settings import fill_target
from labeler.text import text_key
from labeler.zeroshot import load as zs_mod
from labeler.zeroshot.base import cached_result, select_device
from labeler.zeroshot.cache import MemoryScoreCache, ScoreCache
from labeler.zeroshot.load import describe_zeroshot, estimate_scoring_seconds, load_zeroshot
from labeler.zeroshot.nli import NLIZeroShot, entailment_ids
from labeler.zeroshot.settings import EMBEDDING_DISPLAY_NAME, ZeroShotSettings

LABELS = ["AGAINST", "FAVOR", "NONE"]
PHRASES = ["against", "in favor of", "neutral towards"]
TEMPLATE = "The author of this tweet is {} {target}."
TARGET = "Joe Biden"
HYPOTHESIS = "The author of this tweet is {} Joe Biden."
TOL = 1e-4

SHORT = [
    "I love the four day work week, great news for workers!",
    "What a terrible idea, wages will drop and prices go up.",
    "@user RT #fourdayweek https://t.co/abc",
    "no no no this will ruin the economy and the bakery",
    "yes yes yes finally some good policy from the government",
    "Bosses hate it, small business owners worry about costs.",
]
# Each longer than the test's max length by fewer tokens than a hypothesis has: truncating the
# hypothesis instead ("only_second") is then possible, so the wrong engine yields numbers.
SENTENCE = "Small business owners worry about costs and productivity, said nobody ever"
VERY_LONG = [(SENTENCE + ". ") * 8, "#fourdayweek " * 120]

ARCHS = ["nli_bert", "nli_distilbert"]  # entailment at 2, contradiction at 0
# Entailment at 0 (contradiction -1), 1 and 2 (neutral at 0), and two classes: tests/tiny_models.py
VARIANTS = ["nli_ent0", "nli_ent1", "nli_ent2", "nli_binary"]
MODELS = ARCHS + VARIANTS


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread here: on a busy machine, 2+ threads spin-wait on tiny matrices and a test
    takes 20x longer. OMP_NUM_THREADS tells the engine the thread count is the user's choice."""
    import os

    import torch

    saved, env = torch.get_num_threads(), os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)
    if env is None:
        os.environ.pop("OMP_NUM_THREADS", None)
    else:
        os.environ["OMP_NUM_THREADS"] = env


@pytest.fixture(scope="module")
def nli_models(tiny_models, nli_variants) -> dict[str, Path]:
    """Every tiny NLI model's folder, by name (MODELS)."""
    return {**{a: tiny_models[a] for a in ARCHS}, **nli_variants}


class _Pipes(dict):
    """A zero-shot pipeline per tiny NLI model, made on first use and reused by every test."""

    def __init__(self, models: dict[str, Path]):
        super().__init__()
        self.models = models

    def __missing__(self, name: str):
        self[name] = pipeline("zero-shot-classification", model=str(self.models[name]))
        return self[name]


@pytest.fixture(scope="module")
def pipes(nli_models):
    return _Pipes(nli_models)


@pytest.fixture(scope="module")
def slightly_long(pipes):
    """(texts, max_length): short texts plus texts that overflow max_length a little."""
    tok = pipes["nli_bert"].tokenizer
    hyp_lens = [
        len(tok(HYPOTHESIS.format(p), add_special_tokens=False)["input_ids"]) for p in PHRASES
    ]
    words = SENTENCE.split()
    longs = [
        " ".join(words[:n]) + " " + " ".join(words[:k]) for n, k in ((12, 6), (12, 7), (12, 8))
    ]
    lens = [len(tok(t, add_special_tokens=False)["input_ids"]) for t in longs]
    # Between "every long pair overflows" (> n + 3) and "by less than its hypothesis" (< n + h + 3).
    max_length = (max(lens) + 3 + min(lens) + min(hyp_lens) + 3) // 2
    assert all(n + 3 < max_length < n + h + 3 for n in lens for h in hyp_lens)
    return SHORT + longs, max_length


@pytest.fixture(scope="module")
def tight(pipes):
    """(texts, max_length): very long texts at a max length under twice a hypothesis's length,
    where cutting the longest sequence first ("longest_first", what truncation=True means) also
    cuts the hypothesis."""
    tok = pipes["nli_bert"].tokenizer
    hyp_lens = [
        len(tok(HYPOTHESIS.format(p), add_special_tokens=False)["input_ids"]) for p in PHRASES
    ]
    max_length = max(hyp_lens) + 3 + 4
    assert max(hyp_lens) + 3 < max_length and max_length - 3 < 2 * min(hyp_lens)
    return VERY_LONG + SHORT[:2], max_length


def settings_for(path, **kw) -> ZeroShotSettings:
    base = dict(model=str(path), labels=LABELS, phrases=PHRASES, template=TEMPLATE, target=TARGET)
    base.update(kw)
    return ZeroShotSettings(**base)


def pipeline_scores(pipe, texts, multi_label, max_length=None, phrases=PHRASES) -> np.ndarray:
    """The reference: one pipeline call per text, scores in `phrases` order."""
    saved = pipe.tokenizer.model_max_length
    if max_length is not None:  # the pipeline truncates at the tokenizer's model_max_length
        pipe.tokenizer.model_max_length = max_length
    try:
        rows = []
        for t in texts:
            r = pipe(t, list(phrases), hypothesis_template=HYPOTHESIS, multi_label=multi_label)
            d = dict(zip(r["labels"], r["scores"], strict=True))
            rows.append([d[p] for p in phrases])
    finally:
        pipe.tokenizer.model_max_length = saved
    return np.array(rows)


def max_diff(engine, pipe, texts, multi_label, max_length) -> float:
    ours = engine.score(texts).scores
    ref = pipeline_scores(pipe, texts, multi_label, max_length, engine.settings.phrases)
    return float(np.abs(ours - ref).max())


# -- the engine equals the pipeline ---------------------------------------------------------------


@pytest.mark.parametrize("arch", MODELS)
@pytest.mark.parametrize("multi_label", [False, True])
def test_scores_spread(nli_models, slightly_long, arch, multi_label):
    # A degenerate model (every score ~1/3) would let wrong engines pass: fail loudly instead.
    texts, _ = slightly_long
    scores = load_zeroshot(settings_for(nli_models[arch], multi_label=multi_label)).score(texts)
    assert scores.scores.max() - scores.scores.min() >= 0.2
    assert len(set(scores.labels)) >= 2


@pytest.mark.parametrize("arch", MODELS)
@pytest.mark.parametrize("multi_label", [False, True])
def test_matches_pipeline_short_texts(nli_models, pipes, arch, multi_label):
    pipe = pipes[arch]
    limit = pipe.tokenizer.model_max_length  # run ours at the pipeline's own length
    engine = load_zeroshot(
        settings_for(nli_models[arch], multi_label=multi_label, max_length=limit, batch_size=4)
    )
    assert max_diff(engine, pipe, SHORT, multi_label, None) < TOL


@pytest.mark.parametrize("arch", MODELS)
@pytest.mark.parametrize("multi_label", [False, True])
def test_matches_pipeline_long_texts(nli_models, pipes, slightly_long, arch, multi_label):
    texts, max_length = slightly_long
    engine = load_zeroshot(
        settings_for(nli_models[arch], multi_label=multi_label, max_length=max_length, batch_size=5)
    )
    assert max_diff(engine, pipes[arch], texts, multi_label, max_length) < TOL
    # Far longer than max length, too (only the tweet is cut, however much).
    assert max_diff(engine, pipes[arch], VERY_LONG, multi_label, max_length) < TOL


@pytest.mark.parametrize("arch", MODELS)
@pytest.mark.parametrize("multi_label", [False, True])
def test_matches_pipeline_at_tight_max_length(nli_models, pipes, tight, arch, multi_label):
    texts, max_length = tight
    engine = load_zeroshot(
        settings_for(nli_models[arch], multi_label=multi_label, max_length=max_length)
    )
    assert max_diff(engine, pipes[arch], texts, multi_label, max_length) < TOL


@pytest.mark.parametrize("arch", MODELS)
def test_single_label_scores_entailment_against_contradiction(nli_models, pipes, arch):
    # With one label the pipeline uses the multi-label formula even when multi_label is False.
    engine = load_zeroshot(
        settings_for(nli_models[arch], labels=["FAVOR"], phrases=["in favor of"])
    )
    assert max_diff(engine, pipes[arch], SHORT, False, None) < TOL
    assert engine.score(SHORT).scores.std() > 0.01


def test_bert_feeds_token_type_ids_distilbert_does_not(tiny_models):
    # The tiny BERT must exercise segment ids as the bundled MiniLM does, or the equivalence
    # tests would not cover that path.
    bert = load_zeroshot(settings_for(tiny_models["nli_bert"]))
    distil = load_zeroshot(settings_for(tiny_models["nli_distilbert"]))
    assert "token_type_ids" in bert._encode(["a"], ["b"])
    assert "token_type_ids" not in distil._encode(["a"], ["b"])


# Label maps as configs hold them (config.json sorts label2id by name): entailment first, middle,
# last, under any case; two classes; and two keys starting with "entail" (the first one counts).
LABEL2IDS = {
    "ent2": {"contradiction": 0, "entailment": 2, "neutral": 1},
    "ent0-upper": {"CONTRADICTION": 2, "ENTAILMENT": 0, "NEUTRAL": 1},
    "ent1-capitalised": {"Entailment": 1, "contradiction": 0, "neutral": 2},
    "ent2-neutral-first": {"ENTAILMENT": 2, "contradiction": 1, "neutral": 0},
    "binary": {"entailment": 0, "not_entailment": 1},
    "two-entail-keys": {"Entails": 3, "contradiction": 0, "entailment": 1, "neutral": 2},
}


def bare_pipeline(label2id: dict[str, int]):
    """A zero-shot pipeline object holding only what its `entailment_id` and `postprocess` read:
    the pipeline's own code, run on any label map without a model."""
    from transformers.pipelines.zero_shot_classification import ZeroShotClassificationPipeline

    pipe = object.__new__(ZeroShotClassificationPipeline)
    pipe.model = SimpleNamespace(config=SimpleNamespace(label2id=label2id))
    return pipe


def pipeline_postprocess(label2id: dict[str, int], logits, multi_label: bool) -> np.ndarray:
    """The pipeline's own postprocess (and its own entailment_id) on logits [n, L, C]."""
    pipe = bare_pipeline(label2id)
    rows = []
    for text_logits in logits:
        outputs = [
            {"candidate_label": str(j), "sequence": "t", "logits": row[None]}
            for j, row in enumerate(text_logits)
        ]
        r = pipe.postprocess(outputs, multi_label=multi_label)
        by_label = dict(zip(r["labels"], r["scores"], strict=True))
        rows.append([by_label[str(j)] for j in range(len(text_logits))])
    return np.array(rows)


@pytest.mark.parametrize("name", list(LABEL2IDS))
def test_entailment_ids_and_scores_equal_the_pipelines_postprocess(tiny_models, name):
    import torch

    label2id = LABEL2IDS[name]
    pipeline_entailment = int(bare_pipeline(label2id).entailment_id)
    ent, contra = entailment_ids(label2id)
    assert ent == pipeline_entailment
    assert contra == (-1 if pipeline_entailment == 0 else 0)
    generator = torch.Generator().manual_seed(0)
    for multi_label in (False, True):
        engine = load_zeroshot(settings_for(tiny_models["nli_bert"], multi_label=multi_label))
        engine.entailment_id, engine.contradiction_id = ent, contra
        for n_labels in (3, 1):  # one label: the multi-label formula either way
            logits = torch.randn(4, n_labels, max(label2id.values()) + 1, generator=generator) * 2
            ours = engine.scores_from_logits(logits).numpy()
            ref = pipeline_postprocess(label2id, logits, multi_label)
            assert np.abs(ours - ref).max() < 1e-5, (multi_label, n_labels)


@pytest.mark.parametrize(
    ("arch", "entailment", "contradiction"),
    [("nli_bert", 2, 0), ("nli_ent0", 0, -1), ("nli_ent1", 1, 0), ("nli_ent2", 2, 0),
     ("nli_binary", 0, -1)],
)  # fmt: skip
def test_models_put_entailment_where_the_tests_need_it(nli_models, arch, entailment, contradiction):
    # The variants exist to cover these positions: a rebuilt model must still cover them.
    engine = load_zeroshot(settings_for(nli_models[arch]))
    assert (engine.entailment_id, engine.contradiction_id) == (entailment, contradiction)


# -- ...and the comparison fails for wrong engines ------------------------------------------------


def swap_entailment(engine: NLIZeroShot) -> None:
    engine.entailment_id, engine.contradiction_id = engine.contradiction_id, engine.entailment_id


def skip_template(engine: NLIZeroShot) -> None:
    engine.hypotheses = lambda: list(engine.settings.phrases)  # the bare phrase as hypothesis


def truncate_hypothesis(engine: NLIZeroShot) -> None:
    engine.truncation = "only_second"


def truncate_longest(engine: NLIZeroShot) -> None:
    engine.truncation = "longest_first"  # what `truncation=True` does


def ignore_single_label_rule(engine: NLIZeroShot) -> None:
    base = engine.scores_from_logits

    def scores(logits):
        if engine.settings.multi_label:
            return base(logits)
        return logits[..., engine.entailment_id].softmax(dim=-1)

    engine.scores_from_logits = scores


# name: (how to break the engine, the texts and max length on which the suite must notice)
WRONG = {
    "entailment-index-swapped": (swap_entailment, "slightly_long"),
    "template-not-applied": (skip_template, "slightly_long"),
    "hypothesis-truncated": (truncate_hypothesis, "slightly_long"),
    "longest-first-truncation": (truncate_longest, "tight"),
}


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("multi_label", [False, True])
@pytest.mark.parametrize("wrong", list(WRONG))
def test_comparison_fails_for_wrong_engine(nli_models, pipes, request, arch, multi_label, wrong):
    breaker, setup = WRONG[wrong]
    texts, max_length = request.getfixturevalue(setup)
    settings = settings_for(
        nli_models[arch], multi_label=multi_label, max_length=max_length, batch_size=6
    )
    right = load_zeroshot(settings)
    assert max_diff(right, pipes[arch], texts, multi_label, max_length) < TOL  # the control
    broken = load_zeroshot(settings)
    breaker(broken)
    assert max_diff(broken, pipes[arch], texts, multi_label, max_length) > TOL


@pytest.mark.parametrize("arch", ARCHS)
def test_comparison_fails_when_single_label_rule_ignored(nli_models, pipes, arch):
    engine = load_zeroshot(
        settings_for(nli_models[arch], labels=["FAVOR"], phrases=["in favor of"])
    )
    ignore_single_label_rule(engine)
    assert max_diff(engine, pipes[arch], SHORT, False, None) > TOL


@pytest.mark.parametrize("arch", ["nli_ent0", "nli_binary"])
@pytest.mark.parametrize("multi_label", [False, True])
def test_comparison_fails_with_contradiction_at_0_when_entailment_is_0(
    nli_models, pipes, arch, multi_label
):
    engine = load_zeroshot(settings_for(nli_models[arch], multi_label=multi_label))
    engine.contradiction_id = 0  # the entailment logit against itself: 0.5 everywhere
    expected = multi_label  # single-label scores never read the contradiction logit
    assert (max_diff(engine, pipes[arch], SHORT, multi_label, None) > TOL) == expected


# -- settings --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kw", "needle"),
    [
        (
            {"template": "This tweet is good."},
            "has no {} placeholder for the label phrase, e.g. 'This tweet is {}.'",
        ),
        ({"phrases": ["against", "for"]}, "3 labels (AGAINST, FAVOR, NONE) but 2 phrases"),
        ({"batch_size": 0}, "Batch size must be 1 or more (got 0)"),
        ({"max_length": 8}, "Max length must be at least 16 tokens (got 8)"),
        ({"labels": ["A", "B", "A"], "phrases": None}, "repeated: A"),
        ({"labels": [], "phrases": None}, "non-empty labels (got 0"),
        ({"labels": ["A", " "], "phrases": None}, "non-empty labels"),
        ({"template": "This {target} is {}.", "target": ""}, "uses {target} but no target is set"),
        ({"template": "This {x} is {}."}, "braces other than"),
        ({"method": "embedding", "multi_label": True}, "Multi-label scores need an NLI model"),
        ({"method": "vibes"}, "Unknown zero-shot method 'vibes'"),
    ],
)
def test_settings_say_what_to_fix(kw, needle):
    base = dict(model="m", labels=LABELS, phrases=PHRASES, template=TEMPLATE, target=TARGET)
    base.update(kw)
    with pytest.raises(SettingsError) as err:
        ZeroShotSettings(**base)
    assert needle in str(err.value)


def test_settings_defaults_and_target():
    s = ZeroShotSettings("m", ["FAVOR", "Against"])
    assert s.phrases == ["favor", "against"]
    assert s.template == "This tweet is {}." and s.batch_size == 32 and s.max_length == 128
    assert s.hypotheses() == ["This tweet is favor.", "This tweet is against."]
    t = ZeroShotSettings("m", LABELS, PHRASES, TEMPLATE, target="Joe {Biden}")
    assert t.hypotheses()[1] == "The author of this tweet is in favor of Joe {Biden}."
    assert fill_target("No target {}.", None) == "No target {}."


# -- keys, cache, progress, cancel ------------------------------------------------------------------


def test_text_key_is_sha1_of_exact_text():
    assert text_key("Hé ") == hashlib.sha1("Hé ".encode()).hexdigest()
    assert text_key("a") != text_key("a ")


def test_run_key_changes_with_what_changes_scores(tiny_models):
    path = tiny_models["nli_bert"]
    key = load_zeroshot(settings_for(path)).run_key
    assert load_zeroshot(settings_for(path)).run_key == key  # stable across loads
    assert load_zeroshot(settings_for(path, labels=["A", "F", "N"])).run_key == key  # names only
    assert load_zeroshot(settings_for(path, batch_size=3)).run_key == key
    for change in (
        {"template": "Tweet: {} {target}."},
        {"target": "Bernie"},
        {"phrases": ["anti", "pro", "meh"]},
        {"multi_label": True},
        {"max_length": 64},
        {"quantize": True},
        {"bf16": True},
    ):
        assert load_zeroshot(settings_for(path, **change)).run_key != key, change
    fast = {load_zeroshot(settings_for(path, **kw)).run_key for kw in ({"quantize": True}, {})}
    assert load_zeroshot(settings_for(path, bf16=True)).run_key not in fast  # bf16 is its own
    assert load_zeroshot(settings_for(tiny_models["nli_distilbert"])).run_key != key


def test_changed_template_never_reuses_cached_scores(nli_models, pipes, monkeypatch):
    cache = MemoryScoreCache()
    first = load_zeroshot(settings_for(nli_models["nli_ent1"]))
    first.score(SHORT, cache=cache)
    for change in ({"template": "Tweet: {} {target}!"}, {"target": "Bernie Sanders"}):
        engine = load_zeroshot(settings_for(nli_models["nli_ent1"], **change))
        seen = count_pairs(engine, monkeypatch)
        scores = engine.score(SHORT, cache=cache).scores
        assert sum(seen) == len(SHORT) * len(LABELS), change  # scored anew, none reused
        hypothesis = fill_target(change.get("template", TEMPLATE), change.get("target", TARGET))
        ref = [
            [dict(zip(r["labels"], r["scores"], strict=True))[p] for p in PHRASES]
            for r in (pipes["nli_ent1"](t, PHRASES, hypothesis_template=hypothesis) for t in SHORT)
        ]
        assert np.abs(scores - np.array(ref)).max() < TOL, change


def count_pairs(engine, monkeypatch) -> list[int]:
    seen: list[int] = []
    forward = engine._forward

    def counting(premises, hypotheses):
        seen.append(len(premises))
        return forward(premises, hypotheses)

    monkeypatch.setattr(engine, "_forward", counting)
    return seen


def test_identical_texts_scored_once(tiny_models, monkeypatch):
    engine = load_zeroshot(settings_for(tiny_models["nli_bert"], batch_size=4))
    # Lengths differ, so the length-sorted loop finishes them out of input order.
    texts = ["a tweet", SHORT[1], "a tweet", "other", SHORT[1], "a tweet"]
    alone = {t: engine.score([t]).scores[0] for t in set(texts)}
    seen = count_pairs(engine, monkeypatch)
    res = engine.score(texts)
    assert res.scores.shape == (len(texts), len(LABELS))  # one row per input row
    assert sum(seen) == 3 * len(LABELS)  # each distinct text once
    for row, t in zip(res.scores, texts, strict=True):  # ...and each row is its own text's
        np.testing.assert_allclose(row, alone[t], atol=1e-6, err_msg=t)
    assert res.labels[0] == res.labels[2] == res.labels[5]


def test_cache_written_per_batch_and_reused(tiny_models, monkeypatch):
    texts = SHORT + [t + " again" for t in SHORT]
    cache = MemoryScoreCache()
    assert isinstance(cache, ScoreCache)
    engine = load_zeroshot(settings_for(tiny_models["nli_distilbert"], batch_size=6))
    first = engine.score(texts, cache=cache)
    assert cache.puts >= 5  # 36 pairs in batches of 6: written as tweets finish, not at the end
    assert len(cache.data[engine.run_key]) == len(texts)

    def explode(*a, **k):
        raise AssertionError("a cached text was scored again")

    monkeypatch.setattr(engine, "_forward", explode)
    again = engine.score(texts, cache=cache)
    np.testing.assert_allclose(again.scores, first.scores, atol=1e-7)
    assert again.labels == first.labels
    # Nothing left to do: a cancel request has nothing to stop.
    assert engine.score(texts, cache=cache, should_cancel=lambda: True).labels == first.labels


def test_cancel_keeps_finished_batches_and_resume_scores_the_rest(tiny_models, monkeypatch):
    texts = SHORT + [t + " again" for t in SHORT]
    engine = load_zeroshot(settings_for(tiny_models["nli_bert"], batch_size=6))
    fresh = engine.score(texts)
    cache = MemoryScoreCache()
    checks = iter(range(100))
    with pytest.raises(Cancelled) as err:
        engine.score(texts, cache=cache, should_cancel=lambda: next(checks) >= 3)
    assert "cancelled after" in str(err.value)
    kept = len(cache.data.get(engine.run_key, {}))
    assert 0 < kept < len(texts)
    seen = count_pairs(engine, monkeypatch)
    resumed = engine.score(texts, cache=cache)
    assert sum(seen) == (len(texts) - kept) * len(LABELS)
    np.testing.assert_allclose(resumed.scores, fresh.scores, atol=1e-6)


def test_progress_reports_start_batches_and_end(tiny_models):
    engine = load_zeroshot(settings_for(tiny_models["nli_bert"], batch_size=3))
    calls = []
    engine.score(SHORT + ["dup"] + ["dup"], progress=lambda *a: calls.append(a))
    assert calls[0][:2] == (0, 7) and calls[0][3] is None
    assert calls[-1][0] == calls[-1][1] == 7 and calls[-1][3] == 0.0
    assert len(calls) >= 5 and all(c[2] >= 0 for c in calls)
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)


def test_estimate_seconds(tiny_models):
    engine = load_zeroshot(settings_for(tiny_models["nli_bert"]))
    secs = estimate_scoring_seconds(SHORT * 20, engine, sample=4)
    assert 0 < secs < 60
    cache = MemoryScoreCache()
    engine.score(SHORT, cache=cache)
    assert engine.estimate_seconds(SHORT, cache=cache) == 0.0


def test_score_one_result_frame_and_empty(tiny_models):
    engine = load_zeroshot(settings_for(tiny_models["nli_bert"]))
    one = engine.score_one("great news for workers")
    assert list(one) == LABELS and abs(sum(one.values()) - 1) < 1e-5
    res = engine.score(SHORT[:2])
    frame = res.to_frame()
    assert list(frame.columns) == ["zs_label", "zs_score"] + [f"zs_score_{x}" for x in LABELS]
    assert np.allclose(frame["zs_score"], res.scores.max(1))
    empty = engine.score([])
    assert empty.scores.shape == (0, 3) and empty.labels == []


def test_int8_fast_path(tiny_models):
    fp32 = load_zeroshot(settings_for(tiny_models["nli_bert"]))
    int8 = load_zeroshot(settings_for(tiny_models["nli_bert"], quantize=True))
    assert "int8" in int8.display_name and int8.run_key != fp32.run_key
    a, b = fp32.score(SHORT).scores, int8.score(SHORT).scores
    assert np.allclose(b.sum(1), 1, atol=1e-5)
    assert np.abs(a - b).max() < 0.2  # close, not equal: a tiny model quantizes coarsely


@pytest.mark.parametrize("arch", ARCHS)
def test_bf16_fast_path_is_opt_in_and_agrees_with_fp32(nli_models, pipes, arch):
    texts = SHORT + [t.upper() for t in SHORT] + [t + " again and again" for t in SHORT]
    fp32 = load_zeroshot(settings_for(nli_models[arch]))
    bf16 = load_zeroshot(settings_for(nli_models[arch], bf16=True))
    assert "bf16" in bf16.display_name and "bf16" not in fp32.display_name
    a, b = fp32.score(texts), bf16.score(texts)
    ref = pipeline_scores(pipes[arch], texts, multi_label=False)
    assert np.abs(a.scores - ref).max() < TOL  # the default path stays exact
    # The flag switches the path: bf16 scores are close to fp32's but not bit for bit...
    diff = np.abs(a.scores - b.scores).max()
    assert 1e-6 < diff < 0.06, diff  # (a random tiny model's bf16 error is the larger)
    assert np.allclose(b.scores.sum(1), 1, atol=1e-5)
    # ...and give fp32's labels: all where fp32's top two scores are further apart than bf16
    # can move them, nearly all in all.
    agree = np.array(a.labels) == np.array(b.labels)
    top2 = np.sort(a.scores, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 2 * diff
    assert clear.sum() >= 3 and agree[clear].all()
    assert agree.mean() >= 0.9


def test_bf16_runs_on_the_cpu_and_excludes_int8(tiny_models):
    from labeler.zeroshot.base import engine_device

    path = str(tiny_models["nli_bert"])
    assert engine_device(settings_for(path, bf16=True, device="cuda")).type == "cpu"
    assert engine_device(settings_for(path, quantize=True, device="cuda")).type == "cpu"
    with pytest.raises(SettingsError, match="not both"):
        settings_for(path, bf16=True, quantize=True)


def test_select_device():
    assert select_device("cpu").type == "cpu"
    assert select_device("auto").type in {"cpu", "cuda", "mps"}
    with pytest.raises(SettingsError):
        select_device("warp-drive")


def test_hypothesis_too_long_for_max_length(tiny_models):
    with pytest.raises(SettingsError, match="raise max length"):
        load_zeroshot(
            settings_for(
                tiny_models["nli_bert"], max_length=16, target="the economy and the bakery"
            )
        )


# -- models that are not NLI, hub ids offline ---------------------------------------------------------


@pytest.mark.parametrize("which", ["base_bert", "bundled"])
def test_plain_encoder_refused_naming_the_offline_method(tiny_models, which, monkeypatch):
    def no_weights(*a, **k):
        raise AssertionError("weights loaded for a model that is not NLI")

    import transformers

    monkeypatch.setattr(
        transformers.AutoModelForSequenceClassification, "from_pretrained", no_weights
    )
    spec = "bundled" if which == "bundled" else str(tiny_models[which])
    with pytest.raises(ModelError) as err:
        load_zeroshot(settings_for(spec))
    msg = str(err.value)
    assert "is not an NLI model (its labels are LABEL_0, LABEL_1; none starts with 'entail')" in msg
    assert EMBEDDING_DISPLAY_NAME in msg


def test_hub_id_offline_fails_fast_without_network(monkeypatch):
    asked = []  # the loader asks the shared resolver, which fails fast, before any download

    def resolver(spec, *a, **k):
        asked.append(spec)
        return resolve_model(spec, *a, **k)

    monkeypatch.setattr(zs_mod, "resolve_model", resolver)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def no_network(*a, **k):
        raise AssertionError("the network was touched")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    t0 = time.perf_counter()
    with pytest.raises(ModelError) as err:
        load_zeroshot(settings_for("someone/an-nli-model-nobody-cached"))
    assert time.perf_counter() - t0 < 5
    assert "HF_HUB_OFFLINE is set" in str(err.value)
    assert "someone/an-nli-model-nobody-cached" in str(err.value)
    assert asked == ["someone/an-nli-model-nobody-cached"]


def test_nli_without_model_says_what_to_do():
    with pytest.raises(SettingsError, match="No NLI model given"):
        load_zeroshot(ZeroShotSettings(labels=LABELS))


# -- the offline method -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def embedding():
    return load_zeroshot(
        ZeroShotSettings(labels=["SPORTS", "COOKING"], method="embedding", batch_size=8)
    )


def test_embedding_names_itself_and_ranks_topics(embedding):
    assert embedding.display_name == EMBEDDING_DISPLAY_NAME
    assert "not NLI" in embedding.display_name and embedding.method == "embedding"
    assert embedding.hypotheses() == ["This tweet is sports.", "This tweet is cooking."]
    football = embedding.score_one("What a goal! The football match went to extra time.")
    cooking = embedding.score_one("Simmer the onions in butter, then add the garlic.")
    assert football["SPORTS"] > football["COOKING"]
    assert cooking["COOKING"] > cooking["SPORTS"]
    assert abs(sum(football.values()) - 1) < 1e-5


def test_embedding_batches_cache_and_dedup(embedding):
    texts = ["the match tonight", "bake bread", "the match tonight"] * 3
    cache = MemoryScoreCache()
    res = embedding.score(texts, cache=cache)
    assert len(cache.data[embedding.run_key]) == 2
    one = embedding.score(["bake bread"]).scores[0]
    np.testing.assert_allclose(res.scores[1], one, atol=1e-5)
    assert res.labels[:2] == ["SPORTS", "COOKING"]


def test_embedding_bf16_names_itself_and_stays_close(embedding):
    bf16 = load_zeroshot(
        ZeroShotSettings(labels=["SPORTS", "COOKING"], method="embedding", batch_size=8, bf16=True)
    )
    assert bf16.display_name.endswith(", bf16)") and bf16.run_key != embedding.run_key
    texts = ["What a goal! The match went to extra time.", "Simmer the onions in butter."]
    a, b = embedding.score(texts), bf16.score(texts)
    assert 0 < np.abs(a.scores - b.scores).max() < 0.05
    assert a.labels == b.labels


@pytest.mark.parametrize(
    "method, fast",
    [("nli", {}), ("nli", {"quantize": True}), ("embedding", {}), ("embedding", {"bf16": True})],
)
def test_a_run_is_named_and_keyed_from_its_settings_as_the_loaded_engine_does(
    tiny_models, method, fast
):
    """A job scored on Ray names its run and finds its cached scores without loading the model:
    name and key must be the loaded engine's, or a later local run would score everything again."""
    model = str(tiny_models["nli_bert"]) if method == "nli" else None
    settings = ZeroShotSettings(labels=LABELS, method=method, model=model, **fast)
    engine = load_zeroshot(settings)
    assert describe_zeroshot(settings) == (engine.display_name, engine.run_key)


def test_scores_cached_elsewhere_give_the_engines_result_and_a_gap_is_named(tiny_models):
    settings = ZeroShotSettings(labels=LABELS, model=str(tiny_models["nli_bert"]))
    engine = load_zeroshot(settings)
    texts = ["first tweet", "second one", "first tweet", "a third"]
    cache = MemoryScoreCache()
    want = engine.score(texts, cache=cache)
    got = cached_result(cache, engine.run_key, texts, engine.label_names)
    np.testing.assert_array_equal(got.scores, want.scores)
    assert got.labels == want.labels
    with pytest.raises(Exception) as failed:  # a message saying what to do, not a KeyError
        cached_result(cache, engine.run_key, [*texts, "never scored"], engine.label_names)
    assert isinstance(failed.value, JobError), failed.value
    assert "1 tweets came back without scores" in str(failed.value)
