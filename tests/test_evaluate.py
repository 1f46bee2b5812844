"""Scores (labeler.evaluation.metrics) and batched prediction (labeler.models.classifier) against the pipeline."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score, matthews_corrcoef, precision_recall_fscore_support

from labeler.errors import Cancelled, InputError, ModelError
from labeler.evaluation.metrics import (
    evaluate_predictions,
    format_report,
    metrics_to_json,
    misclassified,
    stance_f1,
)
from labeler.models.classifier import Predictions, load_classifier, predict

LABELS = ["against", "favor", "none"]
GOLD = ["against", "against", "against", "favor", "favor", "none", "none", "none"]
PRED = ["against", "favor", "against", "favor", "none", "none", "against", "none"]

TEXTS = [
    "good",
    "This tweet is against the four day work week and against the bosses who wage it.",
    "yes yes yes finally some good policy from the government",
    "no",
    "@user RT #fourdayweek https://t.co/abc great news for workers and nurses",
    "What a terrible idea, wages will drop and prices go up.",
    "",
    "love hate support oppose happy sad " * 6,
]


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tiny models gain nothing from threads, and on a shared 2-core machine two threads waiting
    for each other made these tests 3-5x slower (measured)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_report_scores_confusion_and_order():
    m = evaluate_predictions(GOLD, PRED, LABELS)
    assert m["n"] == 8 and m["labels"] == LABELS == m["confusion_labels"]
    assert m["accuracy"] == pytest.approx(5 / 8)
    # rows gold, columns predicted, in LABELS order
    assert m["confusion_matrix"] == [[2, 1, 0], [0, 1, 1], [1, 0, 2]]
    norm = np.array(m["confusion_matrix_normalized"])
    assert np.allclose(norm.sum(axis=1), 1) and norm[1, 2] == pytest.approx(0.5)
    f1_against = 2 * (2 / 3) * (2 / 3) / (4 / 3)
    f1_favor = 2 * 0.5 * 0.5 / 1.0
    assert m["per_class"]["against"]["f1"] == pytest.approx(f1_against)
    assert m["per_class"]["favor"]["support"] == 2
    assert m["stance_f1"] == pytest.approx((f1_against + f1_favor) / 2)
    assert m["mcc"] == pytest.approx(matthews_corrcoef(GOLD, PRED))
    assert m["macro_f1"] == pytest.approx(f1_score(GOLD, PRED, labels=LABELS, average="macro"))
    precision, recall, f1, support = precision_recall_fscore_support(GOLD, PRED, labels=LABELS)
    for j, lab in enumerate(LABELS):
        assert m["per_class"][lab] == pytest.approx(
            {"precision": precision[j], "recall": recall[j], "f1": f1[j], "support": support[j]}
        )
    assert isinstance(m["report_df"], pd.DataFrame)
    assert {"precision", "recall", "f1-score", "support"} <= set(m["report_df"].columns)
    assert "roc_auc" not in m  # three labels: no binary curves
    text = format_report(m)
    assert "macro-F1" in text and "stance F1" in text and "favor" in text


def test_stance_f1_needs_both_labels_any_case():
    assert stance_f1(["pos", "neg"], ["pos", "pos"]) is None
    upper = stance_f1(["AGAINST", "FAVOR", "NONE"], ["AGAINST", "NONE", "NONE"])
    assert upper == pytest.approx(0.5)


def test_binary_auc_and_curves():
    gold = ["neg", "neg", "pos", "pos", "pos", "neg"]
    p_pos = np.array([0.1, 0.4, 0.35, 0.8, 0.9, 0.2])
    probs = np.stack([1 - p_pos, p_pos], axis=1)
    pred = ["pos" if p > 0.5 else "neg" for p in p_pos]
    m = evaluate_predictions(gold, pred, ["neg", "pos"], probs=probs)
    assert m["positive_label"] == "pos"
    assert m["roc_auc"] == pytest.approx(8 / 9)
    assert 0 < m["pr_auc"] <= 1
    assert len(m["roc_curve"]["fpr"]) == len(m["roc_curve"]["tpr"])
    assert len(m["pr_curve"]["precision"]) == len(m["pr_curve"]["recall"])
    data = metrics_to_json(m)
    json.dumps(data, allow_nan=False)  # inf thresholds and DataFrames are gone
    assert "report_df" not in data and data["roc_curve"]["thresholds"][0] is None
    one_class = evaluate_predictions(
        ["pos", "pos"], ["pos", "neg"], ["neg", "pos"], probs=np.array([[0.2, 0.8], [0.6, 0.4]])
    )
    assert one_class["roc_auc"] is None and one_class["pr_auc"] is None


def test_bad_evaluation_inputs_say_what_is_wrong():
    with pytest.raises(InputError, match=r"Labels \['maybe'\] are not among"):
        evaluate_predictions(["maybe", "favor"], ["favor", "favor"], LABELS)
    with pytest.raises(InputError, match="3 gold labels but 2 predictions"):
        evaluate_predictions(["favor"] * 3, ["favor"] * 2, LABELS)
    with pytest.raises(InputError, match="empty"):
        evaluate_predictions([], [], LABELS)
    with pytest.raises(InputError, match=r"expected \(2, 3\)"):
        evaluate_predictions(["favor"] * 2, ["favor"] * 2, LABELS, probs=np.ones((2, 2)) / 2)


def test_misclassified_most_confident_first():
    probs = np.array(
        [
            [0.9, 0.05, 0.05],
            [0.3, 0.6, 0.1],
            [0.8, 0.1, 0.1],
            [0.1, 0.8, 0.1],
            [0.1, 0.4, 0.5],
            [0.2, 0.2, 0.6],
            [0.95, 0.03, 0.02],
            [0.1, 0.1, 0.8],
        ]
    )
    texts = [f"t{i}" for i in range(8)]
    wrong = misclassified(texts, GOLD, PRED, probs, labels=LABELS)
    assert list(wrong["index"]) == [6, 1, 4]  # confidence 0.95, 0.6, 0.5
    assert list(wrong.columns[:4]) == ["index", "text", "true_label", "pred_label"]
    assert wrong.loc[0, "prob_true"] == pytest.approx(0.02)
    assert misclassified(texts, GOLD, GOLD, probs).empty


@pytest.fixture(scope="module", params=["nli_bert", "nli_distilbert"])
def nli_model(request, tiny_models):
    return tiny_models[request.param]


def test_predict_matches_pipeline(nli_model):
    from transformers import pipeline

    calls = []
    preds = predict(nli_model, TEXTS, batch_size=3, progress=lambda d, t: calls.append((d, t)))
    assert isinstance(preds, Predictions)
    assert preds.label_names == ["contradiction", "neutral", "entailment"]
    assert preds.probs.shape == (len(TEXTS), 3)
    assert np.allclose(preds.probs.sum(axis=1), 1.0, atol=1e-9)
    assert calls[-1] == (len(TEXTS), len(TEXTS)) and len(calls) == 3
    pipe = pipeline("text-classification", model=str(nli_model), top_k=None)
    for i, out in enumerate(pipe(TEXTS)):  # one call per text: no padding on the pipeline side
        scores = {d["label"]: d["score"] for d in out}
        expected = [scores[name] for name in preds.label_names]
        assert preds.probs[i] == pytest.approx(expected, abs=1e-5)
    top = pipeline("text-classification", model=str(nli_model))(TEXTS)
    assert preds.labels == [d["label"] for d in top]
    # Scores differ from text to text (wide random weights), so a row mix-up cannot pass by luck.
    assert np.ptp(preds.probs, axis=0).max() > 0.01


def test_predict_frame_order_cancel_and_empty(nli_model):
    clf = load_classifier(nli_model)
    one_by_one = [predict(clf, [t]).probs[0] for t in TEXTS[:4]]
    batched = predict(clf, TEXTS[:4], batch_size=4).probs
    assert np.allclose(np.stack(one_by_one), batched, atol=1e-5)  # order kept despite sorting
    frame = predict(clf, TEXTS).to_frame()
    assert list(frame.columns) == [
        "pred_label",
        "pred_score",
        "pred_score_contradiction",
        "pred_score_neutral",
        "pred_score_entailment",
    ]
    assert np.allclose(frame.iloc[:, 2:].sum(axis=1), 1.0)
    assert np.allclose(frame["pred_score"], frame.iloc[:, 2:].max(axis=1))
    with pytest.raises(Cancelled, match="after 0 of 8 texts"):
        predict(clf, TEXTS, should_cancel=lambda: True)
    empty = predict(clf, [])
    assert empty.labels == [] and empty.probs.shape == (0, 3)


def test_predict_bad_model_folders(tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        predict(tmp_path / "nope", ["x"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="no config.json"):
        predict(tmp_path / "empty", ["x"])
