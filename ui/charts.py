"""Plotly figures the model pages share, sized and lettered to be read on a projector."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

FONT = 16


def plot_text(value: Any) -> str:
    """User text (labels, model names) as literal text in a chart: plotly reads <b>, <br> and
    <a href=...> in tick labels, legends and titles, and shows &lt; &gt; &amp; as < > &."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _style(fig: go.Figure, height: int = 380, **layout: Any) -> go.Figure:
    fig.update_layout(
        height=height,
        font_size=FONT,
        title_font_size=FONT + 2,
        legend_font_size=FONT,
        margin=dict(l=10, r=10, t=50, b=10),
        **layout,
    )
    # Streamlit's chart theme sets its own, smaller axis fonts: these win over it.
    fig.update_xaxes(tickfont_size=FONT, title_font_size=FONT)
    fig.update_yaxes(tickfont_size=FONT, title_font_size=FONT)
    return fig


def loss_curve(log: list[dict[str, Any]] | None) -> go.Figure | None:
    """Training loss per logged step, coloured by phase (head / fine-tune); None before any."""
    points = [e for e in (log or []) if e.get("loss") is not None]
    if not points:
        return None
    df = pd.DataFrame(points)
    if "phase" not in df:
        df["phase"] = "train"
    fig = px.line(
        df, x="step", y="loss", color="phase", markers=True, title="Training loss",
        labels={"step": "optimiser step", "loss": "loss"},
    )  # fmt: skip
    return _style(fig, 340, legend_title_text="phase")


def confusion_heatmap(
    matrix: list[list[float]], labels: list[str], normalized: bool = False
) -> go.Figure:
    """Rows gold, columns predicted, each cell annotated (counts or row shares)."""
    shown = [plot_text(lab) for lab in labels]
    fig = px.imshow(
        matrix,
        x=shown,
        y=shown,
        text_auto=".2f" if normalized else "d",
        color_continuous_scale="Blues",
        zmin=0,
        zmax=1 if normalized else None,
        labels={
            "x": "predicted",
            "y": "gold (human)",
            "color": "share" if normalized else "tweets",
        },
        title="Confusion matrix" + (" (each row sums to 1)" if normalized else ""),
        aspect="auto",
    )
    fig.update_xaxes(side="bottom", type="category")
    fig.update_yaxes(type="category")
    fig.update_traces(textfont_size=FONT + 2)
    return _style(fig, 100 + 70 * len(labels) + 120)


def roc_curve(curve: dict[str, list[float]], auc: float, positive: str) -> go.Figure:
    fig = px.area(
        x=curve["fpr"], y=curve["tpr"],
        title=f"ROC curve (AUC {auc:.3f}, positive: {plot_text(positive)})",
        labels={"x": "false positive rate", "y": "true positive rate"},
    )  # fmt: skip
    fig.add_shape(type="line", line=dict(dash="dash", color="grey"), x0=0, x1=1, y0=0, y1=1)
    return _style(fig, 380, xaxis_range=[0, 1], yaxis_range=[0, 1.02])


def pr_curve(curve: dict[str, list[float]], auc: float, positive: str) -> go.Figure:
    fig = px.line(
        x=curve["recall"], y=curve["precision"],
        title=f"Precision-recall curve (AP {auc:.3f}, positive: {plot_text(positive)})",
        labels={"x": "recall", "y": "precision"},
    )  # fmt: skip
    return _style(fig, 380, xaxis_range=[0, 1], yaxis_range=[0, 1.02])


def comparison_bars(long: pd.DataFrame, score: str = "macro_f1") -> go.Figure:
    """Zero-shot vs each fine-tuned model on the same items: grouped bars of one score."""
    name = {"macro_f1": "macro-F1", "accuracy": "accuracy", "mcc": "MCC"}.get(score, score)
    long = long.assign(model=long["model"].map(plot_text))
    fig = px.bar(
        long, x="model", y=score, color="system", barmode="group", text_auto=".2f",
        title=f"{name} on the same held-out tweets", hover_data=["items"],
        labels={"model": "", score: name, "system": ""},
        color_discrete_map={"zero-shot": "#9aa5b1", "fine-tuned": "#1f6feb"},
    )  # fmt: skip
    return _style(fig, 380, yaxis_range=[min(0, float(long[score].min() or 0)), 1])


def label_bars(counts: pd.Series, title: str) -> go.Figure:
    fig = px.bar(
        x=[plot_text(lab) for lab in counts.index], y=counts.values, text_auto=True, title=title,
        labels={"x": "label", "y": "tweets"},
    )  # fmt: skip
    return _style(fig, 320)


def score_bars(scores: dict[str, float]) -> go.Figure:
    """One tweet's score per label (Pre-label's "Try a tweet")."""
    fig = px.bar(
        x=[plot_text(lab) for lab in scores], y=list(scores.values()), range_y=[0, 1],
        text_auto=".2f",
        labels={"x": "label", "y": "score"},
    )  # fmt: skip
    return _style(fig, 300)


def histogram(values: pd.Series, title: str, x_title: str, *, x_range=None, bins=40) -> go.Figure:
    """How many tweets fall in each bin of `values` (lengths, confidences)."""
    fig = px.histogram(x=values, nbins=bins, range_x=x_range, title=title, labels={"x": x_title})
    return _style(fig, 320, yaxis_title="tweets")
