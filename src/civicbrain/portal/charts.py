"""Plotly figures as plain JSON, drawn in the browser by the vendored plotly.min.js.

Building the figure dict directly keeps page rendering cheap (no plotly import per request); the
table next to each chart carries the same numbers for readers without JavaScript.
"""

from __future__ import annotations

from typing import Any

from civicbrain.core.audit import AuditReport

PALETTE = ("#1d4f91", "#2e7d5b", "#a4541c")


def favourable_rate_chart(report: AuditReport) -> dict[str, Any] | None:
    """One bar per group, grouped and coloured by attribute (region, age band, sex)."""
    if not report.by_attribute or not report.favourable_outcomes:
        return None
    traces = []
    for index, figures in enumerate(report.by_attribute):
        traces.append(
            {
                "type": "bar",
                "name": figures.attribute.replace("_", " "),
                "x": [f"{figures.attribute.replace('_', ' ')}: {g['group']}" for g in figures.groups],
                "y": [round(g["favourable_rate"], 4) for g in figures.groups],
                "text": [f"{g['favourable_rate'] * 100:.0f}% of {g['n']}" for g in figures.groups],
                "textposition": "outside",
                "marker": {"color": PALETTE[index % len(PALETTE)]},
                "hovertemplate": "%{x}<br>favourable rate %{y:.1%}<extra></extra>",
            }
        )
    layout = {
        "title": {"text": "Favourable outcome rate by group"},
        "yaxis": {"title": {"text": "favourable rate"}, "tickformat": ".0%", "range": [0, 1.15]},
        "margin": {"t": 48, "r": 16, "b": 96, "l": 64},
        "legend": {"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right", "yanchor": "bottom"},
        "height": 380,
        "font": {"family": "system-ui, sans-serif", "size": 13},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
    }
    if report.overall_favourable_rate is not None:
        layout["shapes"] = [
            {
                "type": "line",
                "xref": "paper",
                "x0": 0,
                "x1": 1,
                "y0": report.overall_favourable_rate,
                "y1": report.overall_favourable_rate,
                "line": {"dash": "dot", "color": "#555", "width": 1},
            }
        ]
    return {"data": traces, "layout": layout}
