"""Scenarios: the eight RESCO benchmark networks and any user-supplied SUMO network.

The RESCO files ship inside the ``sumo-rl==1.4.5`` wheel (``sumo_rl/nets/RESCO/``). Their licences
(TAPASCologne CC BY-NC-SA, InTAS GPL-3.0) forbid copying them into this repository, so they are
located in the installed wheel at run time and never imported as a package (importing sumo_rl
would pull pettingzoo).
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass, replace
from pathlib import Path


@dataclass(frozen=True)
class Scenario:
    """A SUMO network, its demand and the simulated time window [begin, end)."""

    name: str
    net: str
    routes: str
    begin: float = 0.0
    end: float = 3600.0
    scale: float = 1.0
    # SUMO's --ignore-junction-blocker: after this many seconds a vehicle may pass one standing in a
    # junction box in its way, as drivers sort out a deadlock there. None: never (SUMO's default, and
    # RESCO's protocol); see ``releasing_junction_blockers``.
    junction_blocker_s: float | None = None

    @property
    def duration(self) -> float:
        return self.end - self.begin

    def with_window(self, *, begin: float | None = None, end: float | None = None) -> Scenario:
        return replace(self, begin=self.begin if begin is None else begin, end=self.end if end is None else end)

    def scaled(self, scale: float) -> Scenario:
        if scale <= 0:
            raise ValueError("scale must be positive")
        return replace(self, scale=scale)

    def releasing_junction_blockers(self, seconds: float | None) -> Scenario:
        """The same scenario where a vehicle waiting ``seconds`` for one that stands in a junction box
        may drive past it (None: never).

        With ``--time-to-teleport -1`` a vehicle is never removed, so a few cars that wait on each
        other across a junction box (a left-turner stopped in the box while the car behind must change
        into its lane within a 12 m link) stand for the rest of the hour, and the queues behind them
        lock the network (ingolstadt21: seeds 10 and 14 under qpa, 15 under fixed time, 1, 2, 4 and 5
        of fixed time at 1.2x demand). Drivers there would sort it out within a minute. A ring of cars
        each waiting for its leader (U-turns at both ends of cologne3's 10.8 m link 241660955#13) is
        no junction blocker and stays locked with it too. It changes the simulation for every
        controller alike; the benchmark's ratios are measured without it unless asked for
        (``traffic_bench.py --ignore-junction-blocker``).
        """
        if seconds is not None and seconds <= 0:
            raise ValueError("the junction-blocker time must be positive (or None: never)")
        return replace(self, junction_blocker_s=seconds)


# RESCO's evaluation windows (resco_benchmark/config/map_config.py): the Cologne scenarios cover
# 07:00-08:00, the Ingolstadt ones 16:00-17:00, the synthetic grids their first hour.
RESCO_WINDOWS: dict[str, tuple[float, float, str]] = {
    "cologne1": (25200, 28800, "cologne1.rou.xml"),
    "cologne3": (25200, 28800, "cologne3.rou.xml"),
    "cologne8": (25200, 28800, "cologne8.rou.xml"),
    "ingolstadt1": (57600, 61200, "ingolstadt1.rou.xml"),
    "ingolstadt7": (57600, 61200, "ingolstadt7.rou.xml"),
    "ingolstadt21": (57600, 61200, "ingolstadt21.rou.xml"),
    "grid4x4": (0, 3600, "grid4x4_1.rou.xml"),
    "arterial4x4": (0, 3600, "arterial4x4_1.rou.xml"),
}
RESCO_NAMES: tuple[str, ...] = tuple(RESCO_WINDOWS)
REAL_WORLD: tuple[str, ...] = RESCO_NAMES[:6]


class ScenarioNotFound(LookupError):
    """The named scenario is unknown or its files are not installed."""


def resco_dir() -> Path:
    """Folder of the RESCO scenario files inside the installed sumo-rl wheel."""
    override = os.environ.get("CIVICBRAIN_RESCO_DIR")
    if override:
        return Path(override)
    spec = importlib.util.find_spec("sumo_rl")  # locating only: importing sumo_rl needs pettingzoo
    if spec is None or spec.origin is None:
        raise ScenarioNotFound("RESCO scenarios need the 'traffic' extra (sumo-rl==1.4.5)")
    return Path(spec.origin).parent / "nets" / "RESCO"


def resco_scenario(name: str) -> Scenario:
    if name not in RESCO_WINDOWS:
        raise ScenarioNotFound(f"unknown scenario {name!r}; choose from {', '.join(RESCO_NAMES)}")
    begin, end, routes = RESCO_WINDOWS[name]
    folder = resco_dir() / name
    net, rou = folder / f"{name}.net.xml", folder / routes
    if not net.exists() or not rou.exists():
        raise ScenarioNotFound(f"scenario files for {name!r} not found under {folder}")
    return Scenario(name=name, net=str(net), routes=str(rou), begin=float(begin), end=float(end))


def user_scenario(
    net: str, routes: str, *, begin: float = 0.0, end: float = 3600.0, scale: float = 1.0, name: str | None = None
) -> Scenario:
    """Any SUMO network and route file, e.g. from ``--net FILE --routes FILE``."""
    for label, path in (("net", net), ("routes", routes)):
        if not Path(path).exists():
            raise ScenarioNotFound(f"{label} file not found: {path}")
    if end <= begin:
        raise ValueError("end must be after begin")
    return Scenario(
        name=name or Path(net).name.removesuffix(".net.xml"),
        net=str(net),
        routes=str(routes),
        begin=float(begin),
        end=float(end),
    ).scaled(scale)


def list_scenarios() -> list[dict[str, object]]:
    """The built-in scenarios with their windows (for ``civicbrain traffic scenarios``)."""
    return [
        {"name": n, "begin": b, "end": e, "kind": "real-world" if n in REAL_WORLD else "synthetic"}
        for n, (b, e, _) in RESCO_WINDOWS.items()
    ]
