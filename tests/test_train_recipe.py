"""The fine-tuning recipe's two extra steps (labeler.training.trainer): a head that starts as a
logistic regression on the frozen encoder's features, and the weights averaged over the last
epochs. What a user would notice if either broke: the first model of a run predicts what the
probe predicts, and the saved model is the mean of the last epochs, not the last epoch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from labeler.errors import SettingsError
from labeler.models.classifier import predict
from labeler.training import base_model, trainer
from labeler.training.data import encode, prepare_data
from labeler.training.run import train_classifier
from labeler.training.settings import TrainSettings

WORDS = "good great fine bad awful poor meh okay plain news today tweet".split()


def texts_and_labels(n: int, labels: list[str], seed: int = 0):
    rng = np.random.default_rng(seed)
    texts = [" ".join(rng.choice(WORDS, size=int(rng.integers(2, 7)))) for _ in range(n)]
    return texts, [labels[i % len(labels)] for i in range(n)]


def features_of(model, tokenizer, texts: list[str]) -> np.ndarray:
    """What the classifier's last linear layer reads, found independently of fit_head: BERT's
    pooled [CLS] vector (dropout is off in eval mode)."""
    model.eval()
    with torch.inference_mode():
        batch = tokenizer(texts, padding=True, return_tensors="pt")
        return model.bert(**batch).pooler_output.numpy()


@pytest.mark.parametrize("labels", [["neg", "pos"], ["against", "favor", "none"]])
def test_logistic_head_start_predicts_what_the_probe_predicts(tiny_models, labels):
    from sklearn.linear_model import LogisticRegression

    texts, gold = texts_and_labels(60, labels)
    settings = TrainSettings(model=str(tiny_models["base_bert"]), head_init="logistic", seed=3)
    resolved = base_model.resolve_base(settings)
    tokenizer = base_model.load_tokenizer(resolved)
    data = prepare_data(texts, gold, None, None, None)
    model = base_model.load_model(resolved, data.names)
    ds = encode(tokenizer, data.texts, data.labels, data.label2id, settings.max_length)
    x = features_of(model, tokenizer, data.texts)
    y = [data.label2id[g] for g in data.labels]
    probe = LogisticRegression(max_iter=3000, class_weight="balanced", random_state=3).fit(x, y)

    trainer.fit_head(model, tokenizer, ds, True, settings.seed)
    model.eval()
    with torch.inference_mode():
        batch = tokenizer(data.texts, padding=True, return_tensors="pt")
        probs = torch.softmax(model(**batch).logits, -1).numpy()
    np.testing.assert_allclose(probs, probe.predict_proba(x), atol=1e-4)
    assert (probs.argmax(1) == probe.predict(x)).all()


def test_logistic_head_start_weighs_rare_labels_when_asked(tiny_models):
    """Class weights on: the probe is fitted balanced, so a rare label is still predicted."""
    from sklearn.linear_model import LogisticRegression

    texts, gold = texts_and_labels(60, ["common"] * 9 + ["rare"])
    settings = TrainSettings(model=str(tiny_models["base_bert"]), head_init="logistic")
    resolved = base_model.resolve_base(settings)
    tokenizer = base_model.load_tokenizer(resolved)
    data = prepare_data(texts, gold, None, None, None)
    ds = encode(tokenizer, data.texts, data.labels, data.label2id, settings.max_length)
    fitted = {}
    for balanced in (True, False):
        model = base_model.load_model(resolved, data.names)
        trainer.fit_head(model, tokenizer, ds, balanced, settings.seed)
        fitted[balanced] = model.classifier.bias.detach().clone()
        x = features_of(model, tokenizer, data.texts)
        probe = LogisticRegression(
            max_iter=3000, class_weight="balanced" if balanced else None, random_state=42
        ).fit(x, [data.label2id[g] for g in data.labels])
        assert np.allclose(model.classifier.weight.detach().numpy()[1], probe.coef_[0] / 2)
    assert not torch.allclose(fitted[True], fitted[False])


def test_a_run_starts_from_the_fitted_head(tiny_models, tmp_path):
    """Through train_classifier, at a learning rate too small to move anything: the saved
    model predicts what the probe on its encoder predicts."""
    from sklearn.linear_model import LogisticRegression
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    texts, gold = texts_and_labels(48, ["against", "favor", "none"], seed=1)
    settings = TrainSettings(
        model=str(tiny_models["base_bert"]), epochs=1, learning_rate=1e-12, head_init="logistic"
    )
    res = train_classifier(texts, gold, settings, tmp_path / "m")
    model = AutoModelForSequenceClassification.from_pretrained(res.model_dir)
    x = features_of(model, AutoTokenizer.from_pretrained(res.model_dir), texts)
    probe = LogisticRegression(max_iter=3000, class_weight="balanced").fit(x, gold)
    got = predict(res.model_dir, texts)
    assert got.label_names == list(probe.classes_)
    np.testing.assert_allclose(got.probs, probe.predict_proba(x), atol=1e-3)


@pytest.mark.parametrize(("n", "mean"), [(2, 3.0), (5, 7 / 3)])
def test_tail_average_is_the_mean_of_the_last_epochs(n, mean):
    """Of epochs ending at weights 1, 2, 4: the last 2 average to 3; asking for more epochs than
    the run has averages them all."""

    class State:
        epoch = 0.0

    model = torch.nn.Linear(2, 1)
    average = trainer.TailAverage(model, n=n, epochs=3)
    state = State()
    for epoch, value in [(1, 1.0), (2, 2.0), (3, 4.0)]:
        with torch.no_grad():
            model.weight.fill_(value)
            model.bias.fill_(-value)
        state.epoch = float(epoch)
        average.on_epoch_end(None, state, None)
    average.apply()
    assert torch.allclose(model.weight, torch.full((1, 2), mean))
    assert torch.allclose(model.bias, torch.tensor([-mean]))


def test_a_run_saves_the_averaged_weights(tiny_models, tmp_path, monkeypatch):
    """Through train_classifier: the saved model holds the mean of the last 2 of 3 epochs."""
    snapshots: list[dict[str, torch.Tensor]] = []

    class Recording(trainer.TailAverage):
        def on_epoch_end(self, args, state, control, **kwargs):
            snapshots.append({k: v.detach().clone() for k, v in self.model.state_dict().items()})
            return super().on_epoch_end(args, state, control, **kwargs)

    monkeypatch.setattr(trainer, "TailAverage", Recording)
    texts, gold = texts_and_labels(32, ["neg", "pos"])
    settings = TrainSettings(
        model=str(tiny_models["base_bert"]),
        epochs=3,
        learning_rate=3e-3,
        batch_size=8,
        average_epochs=2,
    )
    res = train_classifier(texts, gold, settings, tmp_path / "m")
    assert len(snapshots) == 3
    from safetensors.torch import load_file

    saved = load_file(res.model_dir / "model.safetensors")
    name = "classifier.weight"
    mean = (snapshots[1][name] + snapshots[2][name]) / 2
    assert torch.allclose(saved[name], mean, atol=1e-6)
    assert not torch.allclose(saved[name], snapshots[2][name], atol=1e-6)
    assert predict(res.model_dir, texts[:4]).label_names == ["neg", "pos"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("head_init", "zeros", r"Head start must be one of random, logistic \(got 'zeros'\)"),
        ("average_epochs", -1, r"Averaged epochs must be a whole number, 0 or more \(got -1\)"),
        ("average_epochs", 2.5, r"Averaged epochs must be a whole number, 0 or more \(got 2.5\)"),
    ],
)
def test_bad_recipe_settings_say_what_to_do(field, value, message):
    with pytest.raises(SettingsError, match=message):
        TrainSettings(**{field: value})
