"""Plotly figures for the traffic page, as plain JSON (drawn by the portal's vendored plotly.min.js).

Tables beside each chart carry the same numbers for readers without JavaScript.
"""

from __future__ import annotations

from typing import Any

FONT = {"family": "system-ui, sans-serif", "size": 13}
ROAD = "#9aa1ab"
BRAND = "#1d4f91"


def network_figure(geojson: dict[str, Any], junctions: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Roads as grey polylines (one trace, gaps between edges); junctions coloured by stopped delay."""
    xs: list[float | None] = []
    ys: list[float | None] = []
    points = []
    for feature in geojson["features"]:
        geometry, props = feature["geometry"], feature["properties"]
        if geometry["type"] == "LineString":
            for x, y in geometry["coordinates"]:
                xs.append(x)
                ys.append(y)
            xs.append(None)  # Plotly breaks the line at None: one trace for the whole network
            ys.append(None)
        elif props.get("kind") == "junction":
            points.append((props["id"], *geometry["coordinates"]))
    measured = [junctions.get(jid, {}).get("stopped_delay_s") for jid, _, _ in points]
    has_delay = any(v is not None for v in measured)
    marker: dict[str, Any] = {"size": 14, "line": {"width": 1, "color": "#222"}}
    if has_delay:
        marker.update(
            color=[v if v is not None else 0 for v in measured],
            colorscale="YlOrRd",
            reversescale=True,  # Plotly's YlOrRd runs red to yellow: more delay should be redder
            showscale=True,
            colorbar={"title": {"text": "stopped delay s/veh"}},
        )
    else:
        marker["color"] = BRAND
    hover = []
    for jid, _, _ in points:
        j = junctions.get(jid)
        if j:
            hover.append(
                f"junction {jid}<br>stopped delay {j.get('stopped_delay_s')} s/veh<br>"
                f"mean queue {j.get('queue_mean')} veh, max {j.get('queue_max')}"
            )
        else:
            hover.append(f"junction {jid}")
    data = [
        {"type": "scatter", "mode": "lines", "x": xs, "y": ys, "line": {"color": ROAD, "width": 1.5},
         "hoverinfo": "skip", "name": "roads"},
        {"type": "scatter", "mode": "markers", "x": [p[1] for p in points], "y": [p[2] for p in points],
         "text": hover, "hovertemplate": "%{text}<extra></extra>", "marker": marker, "name": "signalised junctions"},
    ]  # fmt: skip
    layout = {
        "height": 520,
        "showlegend": False,
        "margin": {"t": 16, "r": 16, "b": 32, "l": 48},
        "xaxis": {"title": {"text": "x (m)"}, "zeroline": False},
        "yaxis": {"title": {"text": "y (m)"}, "zeroline": False, "scaleanchor": "x", "scaleratio": 1},
        "font": FONT,
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
    }
    return {"data": data, "layout": layout}


def comparison_figure(rows: list[dict[str, Any]], title: str) -> dict[str, Any] | None:
    """Mean delay per vehicle by controller, with the spread over seeds as error bars."""
    rows = [r for r in rows if r.get("delay_mean") is not None]
    if not rows:
        return None
    data = [
        {
            "type": "bar",
            "x": [r["label"] for r in rows],
            "y": [round(r["delay_mean"], 2) for r in rows],
            "error_y": {"type": "data", "array": [round(r.get("delay_sd") or 0.0, 2) for r in rows], "visible": True},
            "marker": {"color": [BRAND if r.get("source") == "bench" else "#2e7d5b" for r in rows]},
            "hovertemplate": "%{x}<br>delay %{y:.1f} s<extra></extra>",
        }
    ]
    layout = {
        "title": {"text": title},
        "height": 380,
        "yaxis": {"title": {"text": "mean delay per vehicle (s), ± sd over seeds"}, "rangemode": "tozero"},
        "margin": {"t": 48, "r": 16, "b": 110, "l": 64},
        "font": FONT,
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
    }
    return {"data": data, "layout": layout}
