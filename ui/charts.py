"""Plotly figures the model pages share, sized and lettered to be read on a projector."""

from __future__ import annotations

from typing import Any

import numpy as np
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


def binned_bars(counts: pd.Series, title: str, x_title: str) -> go.Figure:
    """Counts already binned (index: each bin's left edge, equal widths), drawn as a histogram:
    a million scores are counted in SQL, not sent to the browser."""
    width = float(counts.index[1] - counts.index[0]) if len(counts) > 1 else 1.0
    fig = go.Figure(
        go.Bar(x=[x + width / 2 for x in counts.index], y=counts.to_numpy(), width=width)
    )
    fig.update_layout(title=title, xaxis_title=x_title, bargap=0.02)
    return _style(fig, 320, yaxis_title="tweets")


# -- agreement (pages/agreement.py) -----------------------------------------------------------


def png_config(filename: str) -> dict[str, Any]:
    """`st.plotly_chart(config=...)`: the modebar's camera button downloads a PNG named so."""
    return {"toImageButtonOptions": {"format": "png", "filename": filename}, "displaylogo": False}


def kappa_heatmap(
    coders: list[str], kappa: dict[str, float | None], shared: dict[str, int]
) -> go.Figure:
    """Cohen's kappa of every pair of coders, each cell "κ 0.71 · n 40" (n: items both coded).

    `kappa` and `shared` are keyed "A|B" with the two coders in sorted order (as
    `labeler.team.agreement.pairwise` writes them); the diagonal stays empty. The colour scale is
    fixed at -1..1 and diverging: white is chance, blue agreement, red worse than chance.
    """
    z: list[list[float | None]] = []
    cells: list[list[str]] = []
    for a in coders:
        z.append([])
        cells.append([])
        for b in coders:
            key = "|".join(sorted((a, b)))
            value, n = kappa.get(key), shared.get(key, 0)
            z[-1].append(None if a == b or value is None else value)
            if a == b:
                cells[-1].append("")
            else:
                shown = "undefined" if value is None else f"{value:.2f}"
                cells[-1].append(f"κ {shown} · n {n}")
    names = [plot_text(c) for c in coders]
    fig = go.Figure(
        go.Heatmap(
            z=z, x=names, y=names, text=cells, texttemplate="%{text}",
            textfont_size=FONT, zmin=-1, zmax=1, zmid=0, colorscale="RdBu",
            colorbar_title_text="κ", hovertemplate="%{y} · %{x}: %{text}<extra></extra>",
        )
    )  # fmt: skip
    fig.update_xaxes(type="category", side="bottom")
    fig.update_yaxes(type="category", autorange="reversed")
    fig.update_layout(title="Cohen's kappa per pair of coders (n: items both coded)")
    return _style(fig, 140 + 70 * len(coders))


def label_alpha_bars(per_label: dict[str, float | None], overall: float | None) -> go.Figure:
    """Each label's alpha against the rest (which labels coders confuse), with the overall alpha
    as a dashed line and Krippendorff's .800 and .667 as dotted ones; an undefined label's bar is
    missing and says so."""
    labels = [plot_text(lab) for lab in per_label]
    values = [np.nan if v is None else v for v in per_label.values()]
    fig = go.Figure(
        go.Bar(
            x=labels, y=values, marker_color="#1f6feb", textfont_size=FONT,
            text=["undefined" if v is None else f"{v:.2f}" for v in per_label.values()],
            textposition="outside", cliponaxis=False,
        )
    )  # fmt: skip
    for level, dash, note in ((0.800, "dot", ".800"), (0.667, "dot", ".667")):
        fig.add_hline(y=level, line_dash=dash, line_color="#9aa5b1", annotation_text=note,
                      annotation_position="right")  # fmt: skip
    if overall is not None:
        fig.add_hline(
            y=overall, line_dash="dash", line_color="#d1242f",
            annotation_text=f"overall α {overall:.2f}", annotation_position="top left",
        )  # fmt: skip
    finite = [v for v in values if np.isfinite(v)] + ([overall] if overall is not None else [])
    low = min([0.0, *finite])
    return _style(
        fig, 380, title="Alpha per label (each label against the rest)",
        xaxis_type="category", xaxis_title="label", yaxis_title="alpha",
        yaxis_range=[low - 0.05, 1.08], showlegend=False,
    )  # fmt: skip


def pair_confusion_heatmap(table: pd.DataFrame, a: str, b: str) -> go.Figure:
    """Counts of coder `a`'s label (rows) against coder `b`'s (columns) on the items both coded:
    the diagonal is agreement, everything off it a disagreement to talk through."""
    fig = px.imshow(
        table.to_numpy(),
        x=[plot_text(lab) for lab in table.columns],
        y=[plot_text(lab) for lab in table.index],
        text_auto="d",
        color_continuous_scale="Blues",
        zmin=0,
        labels={"x": plot_text(b), "y": plot_text(a), "color": "items"},
        title=f"{plot_text(a)} (rows) against {plot_text(b)} (columns)",
        aspect="auto",
    )
    fig.update_xaxes(side="bottom", type="category")
    fig.update_yaxes(type="category")
    fig.update_traces(textfont_size=FONT + 2)
    return _style(fig, 100 + 70 * max(len(table), 1) + 120)


# -- evaluation with intervals (pages/evaluate.py) ---------------------------------------------

KIND_COLOURS = {"zero-shot": "#9aa5b1", "live model": "#d29922", "fine-tuned": "#1f6feb"}


def interval_bars(table: pd.DataFrame, score: str, name: str) -> go.Figure:
    """One bar per model (coloured by kind: one trace per kind) with its 95% interval as an error
    bar, all scored on the same items; n and the bounds in the hover. `table` has columns model,
    kind, n, `score`, `score`_low and `score`_high (`labeler.comparison.side_by_side`)."""
    value = pd.to_numeric(table[score], errors="coerce")
    low = pd.to_numeric(table[f"{score}_low"], errors="coerce")
    high = pd.to_numeric(table[f"{score}_high"], errors="coerce")
    df = pd.DataFrame(
        {
            "model": table["model"].map(plot_text), "kind": table["kind"], "n": table["n"],
            score: value, "low": low, "high": high, "plus": high - value, "minus": value - low,
        }
    )  # fmt: skip
    n = int(df["n"].max()) if len(df) else 0
    fig = px.bar(
        df, x="model", y=score, color="kind", error_y="plus", error_y_minus="minus",
        text_auto=".2f", hover_data={"n": True, "low": ":.3f", "high": ":.3f", "plus": False,
                                     "minus": False},
        title=f"{name} on the same {n:,} held-out tweets (bars: 95% interval)",
        labels={"model": "", score: name, "kind": ""}, color_discrete_map=KIND_COLOURS,
    )  # fmt: skip
    floor = min(0.0, float(np.nanmin(low.fillna(value).to_numpy(dtype=float), initial=0.0)))
    return _style(fig, 400, yaxis_range=[floor, 1.05], xaxis_type="category")


def learning_curve_chart(curve: dict[str, Any]) -> go.Figure | None:
    """Cross-validated macro-F1 against gold labels (points with their spread) and the fitted
    law, drawn no further than the curve's horizon (twice the labels); None with fewer than two
    points (one point is not a curve)."""
    points = curve.get("points") or []
    if len(points) < 2:
        return None
    x = [p.get("train_n") or p["n"] for p in points]
    fig = go.Figure(
        go.Scatter(
            x=x, y=[p["macro_f1"] for p in points], mode="markers", name="cross-validated",
            error_y=dict(type="data", array=[p.get("std") or 0 for p in points]),
        )
    )  # fmt: skip
    fit = curve.get("fit")
    if fit:
        grid = np.geomspace(max(min(x), 1), curve["horizon"], 60)
        law = fit["a"] - fit["b"] * grid ** (-fit["c"])
        fig.add_trace(go.Scatter(x=grid, y=law, mode="lines", name="fitted law"))
        fig.add_vline(x=curve["n_labels"], line_dash="dot", annotation_text="now")
    fig.update_layout(xaxis_title="gold labels", yaxis_title="macro-F1")
    fig.update_yaxes(range=[0, 1.05])
    return _style(fig, 360)
