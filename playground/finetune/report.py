"""What a training run shows: its loss curve, drawn the same way on the page and in a report."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def loss_figure(losses: Sequence[tuple[int, float]]) -> Any:
    """A plotly line of the training loss by step (the page redraws it every second while training runs)."""
    import plotly.graph_objects as go

    fig = go.Figure(go.Scatter(x=[s for s, _ in losses], y=[v for _, v in losses], mode="lines", name="loss"))
    fig.update_layout(height=280, margin={"l": 10, "r": 10, "t": 10, "b": 10}, xaxis_title="step", yaxis_title="loss")
    # Steps are whole: ticks every step (every few on a long run), never plotly's 0.5 between two.
    fig.update_xaxes(tick0=0, dtick=max(1, math.ceil(len(losses) / 10)))
    return fig


__all__ = ["loss_figure"]
