"""Shadow mode: a candidate controller decides beside the live one on the same detector data,
without acting. The report says how often and where it would have chosen differently, with
sampled explanations, so a change of controller can be reviewed before it goes live.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .controllers import Controller, explain, make_controller, phase_status
from .network import GREEN, Junction
from .safety import SafeSignal
from .simulation import LiveRun, Plugin


def current_green(junction: Junction, state: str) -> int | None:
    """The green phase whose green links best match what the lights show now (None in clearance)."""
    if "y" in state or "Y" in state:
        return None
    best, best_score = None, -1
    for p, phase in enumerate(junction.green_phases):
        score = sum(1 for a, b in zip(phase, state, strict=False) if (a in GREEN) == (b in GREEN))
        if score > best_score:
            best, best_score = p, score
    return best


@dataclass
class ShadowPlugin(Plugin):
    """Runs ``candidate`` on the live run's detector data every ``every`` seconds."""

    candidate: str = "qpa"
    params: dict[str, Any] = field(default_factory=dict)
    every: float = 5.0
    sample_every: float = 300.0
    compared: int = 0
    disagreed: int = 0
    by_junction: dict[str, dict[str, int]] = field(default_factory=dict)
    samples: list[dict[str, Any]] = field(default_factory=list)
    _ctrl: Controller | None = None
    _views: dict[str, SafeSignal] = field(default_factory=dict)

    def start(self, run: LiveRun) -> None:
        self._ctrl = make_controller(self.candidate, **self.params)
        if not self._ctrl.adaptive:
            raise ValueError("the shadow candidate must be an adaptive controller")
        for jid, j in run.network.junctions.items():
            self._views[jid] = SafeSignal(j, self._ctrl.limits(), now=run.spec.scenario.begin)

    def step(self, run: LiveRun, now: float) -> None:
        if int(now) % int(self.every) or self._ctrl is None or run.bus is None:
            return
        for jid, junction in run.network.junctions.items():
            live = current_green(junction, run.sim.trafficlight.getRedYellowGreenState(jid))
            if live is None:
                continue
            view = self._views[jid]
            if view.phase != live:  # mirror the live lights: the candidate reasons from them
                view.phase, view.green_since = live, now
            view.last_served[live] = now
            choice = self._ctrl.choose(junction, view, run.bus, now)
            stats = self.by_junction.setdefault(jid, {"compared": 0, "disagreed": 0})
            stats["compared"] += 1
            self.compared += 1
            if choice.phase != live:
                stats["disagreed"] += 1
                self.disagreed += 1
                if self.sample_every and int(now) % int(self.sample_every) == 0:
                    exp = explain(junction, choice, phase_status(junction, run.bus), run.bus)
                    self.samples.append({"time": now, "junction": jid, "live_phase": live, "candidate": exp})

    def result(self, run: LiveRun) -> dict[str, Any]:
        return {
            "shadow": {
                "candidate": self.candidate,
                "compared": self.compared,
                "disagreement_rate": self.disagreed / self.compared if self.compared else 0.0,
                "by_junction": self.by_junction,
                "samples": self.samples,
            }
        }


def shadow_run(spec_live: Any, candidate: str, **params: Any) -> dict[str, Any]:
    """Run the live controller with ``candidate`` in shadow; returns live metrics + shadow report."""
    from .simulation import simulate

    spec_live.plugins = [*spec_live.plugins, ShadowPlugin(candidate=candidate, params=params)]
    return simulate(spec_live)
