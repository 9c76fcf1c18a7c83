"""A SUMO network as GeoJSON: roads as LineStrings, signalised junctions as Points with their ids.

Coordinates are the network's own (metres, x east and y north of its origin): RESCO's networks carry
a projection, but converting it needs pyproj, which the platform does not ship; the portal draws
the network in these metres with equal axes, which is what an engineer's plan view shows anyway.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

CRS_NOTE = "SUMO network coordinates in metres (x east, y north of the network origin)"


def network_geojson(net_path: str) -> dict[str, Any]:
    path = Path(net_path)
    return _geojson(str(path), path.stat().st_mtime)


@lru_cache(maxsize=8)
def _geojson(net_path: str, mtime: float) -> dict[str, Any]:
    import sumolib  # the SUMO wheel's reader; imported here so the service loads without it

    net = sumolib.net.readNet(net_path, withInternal=False)
    features: list[dict[str, Any]] = []
    for edge in net.getEdges():
        features.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "LineString",
                    "coordinates": [[round(x, 1), round(y, 1)] for x, y in edge.getShape()],
                },
                "properties": {
                    "kind": "edge",
                    "id": edge.getID(),
                    "lanes": edge.getLaneNumber(),
                    "speed": round(edge.getSpeed(), 1),
                    "name": edge.getName() or None,
                },
            }
        )
    for tls in net.getTrafficLights():
        # A traffic light may control several nodes (joined junctions): place it at their centre.
        nodes = {conn[0].getEdge().getToNode() for conn in tls.getConnections()}
        if not nodes:
            continue
        xs = [n.getCoord()[0] for n in nodes]
        ys = [n.getCoord()[1] for n in nodes]
        features.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "Point",
                    "coordinates": [round(sum(xs) / len(xs), 1), round(sum(ys) / len(ys), 1)],
                },
                "properties": {
                    "kind": "junction",
                    "id": tls.getID(),
                    "nodes": sorted(n.getID() for n in nodes),
                    "links": len(tls.getConnections()),
                },
            }
        )
    return {"type": "FeatureCollection", "properties": {"crs": CRS_NOTE}, "features": features}
