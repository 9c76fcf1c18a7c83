"""The traffic service's register cards: one per signal controller, the incident detector and
emergency pre-emption.

Cards are generated from the controllers the domain package declares (``CONTROLLERS``), so a new
controller cannot run without a card, and the parameters and version on a card are the ones that
run (the version carries a digest of the default parameters). Performance figures and, for the
adaptive controllers, the status come from the latest benchmark (:mod:`.benchmarks`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from civicbrain.core.privacy import DataCategory, Purpose
from civicbrain.core.register import AlgorithmCard, Figure, Status
from civicbrain.services.traffic import benchmarks
from civicbrain.services.traffic.domain.controllers import BEST, CONTROLLERS
from civicbrain.services.traffic.domain.emergency import EmergencyPlugin
from civicbrain.services.traffic.domain.incidents import IncidentDetector

AGENCY = "transport"
CONTACT = "signals@transport.demo.city"
LEGAL_BASIS = "Demo City Road Traffic Management Ordinance, art. 12 (signal control) and art. 15 (incident response)"
RELEASE = "1.0"

SIGNAL_INPUTS = {
    "approach_queues": DataCategory.TRAFFIC,
    "stop_line_flow": DataCategory.TRAFFIC,
    "exit_occupancy": DataCategory.TRAFFIC,
    "signal_program": DataCategory.TRAFFIC,
}
INCIDENT_INPUTS = {
    "approach_halting": DataCategory.TRAFFIC,
    "halting_by_segment": DataCategory.TRAFFIC,  # vehicles standing in each detector segment of the approach
    "segments_m": DataCategory.TRAFFIC,  # where those segments lie (metres before the stop line)
    "signal": DataCategory.TRAFFIC,  # the city's own signal, for the operator's context
}
SIGNAL_OVERSIGHT = (
    "Transport Bureau signal engineers watch every run on the traffic page; every 5 minutes each junction's "
    "phases and the queues behind them are recorded with a receipt. Anyone can contest a junction's timing "
    "by its receipt and a signal engineer answers in writing."
)
SAFETY_MITIGATION = (
    "A safety layer every adaptive controller goes through keeps the network's yellow and all-red clearance, "
    "minimum and maximum green, a bounded wait for every approach (a protected-turn phase counts as served "
    "when the permissive green has cleared its turning queue), refuses greens into blocked exits, and "
    "holds red (through its own yellow) any link of a green whose exit lane has no room for another car. "
    "Where the controller asks for it (qpa: box_clearance), at junctions with a path of at least "
    "box_min_path m through the box, the all-red after the program's clearance goes on while vehicles of "
    "the ending phase stand in the box (presence zones on its internal lanes) with room in their exits: at "
    "most box_clearance s, and no longer than box_stall s without one leaving (1 s after a wait that did "
    "not empty the box)."
)


def _num(value: Any, spec: str = ".0f") -> str:
    """A figure for a sentence; a study that measured nothing (NaN) says so."""
    return format(value, spec) if benchmarks.is_finite(value) else "n/a"


def numeric_params(obj: Any) -> dict[str, Any]:
    """The public numeric settings of a domain dataclass (learned state, trailing '_', is not a setting)."""
    return {
        f.name: getattr(obj, f.name)
        for f in dataclasses.fields(obj)
        if not f.name.startswith("_")
        and not f.name.endswith("_")
        and isinstance(getattr(obj, f.name), int | float)
        and not isinstance(getattr(obj, f.name), bool)
    }


def _version(params: dict[str, Any]) -> str:
    """Release plus a digest of the parameters, so a ledger entry names exactly what decided."""
    digest = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:8]
    return f"{RELEASE}+{digest}"


@dataclass(frozen=True)
class ControllerText:
    purpose: str
    method: str
    risks: tuple[str, ...]
    mitigations: tuple[str, ...]
    alternatives: str = ""


TEXTS: dict[str, ControllerText] = {
    "fixed": ControllerText(
        purpose="Runs each junction's own fixed-time signal program: the status quo every other controller "
        "is measured against.",
        method="The phases and durations stored in the network's signal programs, cycled unchanged. No "
        "detector input, no model.",
        risks=("Green time is wasted on empty approaches while queues build elsewhere.",),
        mitigations=("Programs are retimed by engineers; adaptive controllers are trialled in shadow beside it.",),
    ),
    "actuated": ControllerText(
        purpose="Extends or ends each green by whether vehicles keep arriving at the stop line.",
        method="SUMO's gap-based actuated control over the network's own phases: a green ends when no vehicle "
        "crosses the loop detector within the maximum gap, within each phase's minimum and maximum duration.",
        risks=("Serves phases in a fixed order, so a long queue on one approach still waits its turn.",),
        mitigations=("Minimum and maximum durations come from the network's programs.", SAFETY_MITIGATION),
    ),
    "max_pressure": ControllerText(
        purpose="Gives green to the movements whose upstream queues most exceed the space downstream.",
        method="Max-pressure (Varaiya 2013): every decision interval, the phase with the largest sum over its "
        "movements of (vehicles upstream - vehicles downstream) from lane-area detectors.",
        risks=(
            "Frequent switching on light demand costs clearance time.",
            "Known to do worse than fixed time on some real-world networks (RESCO).",
        ),
        mitigations=(SAFETY_MITIGATION, "Runs in shadow until a full benchmark supports it."),
    ),
    "qpa": ControllerText(
        purpose="Cuts delay at signalised junctions by serving queues as they form, from detector counts only.",
        method="Queue-pressure actuated (civicbrain): holds a green while vehicles cross its stop lines at most "
        "gap_s apart (a vehicle standing on the stop-line loop does not count) and no rival phase outweighs it "
        "by switch_ratio x its score + switch_margin vehicles; once it gaps out at the stop line it still holds "
        "while the vehicles moving on its approaches (moving_weight each, a few seconds from the stop line) "
        "times arrival_ratio outweigh the best rival, so a platoon is not stopped just before it arrives; "
        "otherwise moves to the phase with the largest weighted queue (halting + moving_weight x moving, "
        "minus exit_weight x queued on its exits), skipping phases nobody waits for. Two terms keep busy "
        "junctions from starving approaches: a phase red for more than age_after s has its score multiplied by "
        "1 + age_weight x the further seconds, and an approach whose detector has stood full for more than "
        "saturation_after s gains saturation_weight vehicles per further second (the queue beyond the detector, "
        "e.g. vehicles waiting to enter the network).",
        risks=(
            "Detector faults bias the queue estimate.",
            "A queue longer than its detector is only estimated (from how long the detector stays full).",
            "Light approaches could wait long behind heavy ones.",
        ),
        mitigations=(
            SAFETY_MITIGATION,
            "Bounded wait (max_wait) serves every approach with waiting vehicles; max_green cuts a green that "
            "flows on while others wait (60 s: longer greens let queues spill back across ingolstadt21).",
            "Switching costs capacity: at a junction whose approach and exit lanes are all at least "
            "long_link_m long a rival must outweigh a flowing green long_link_switch_ratio times (3 rather "
            "than 2), and bounded wait is 200 s rather than 150 s (arterial4x4, seeds 1-5: 690.7 -> 641.6 s; "
            "cologne1 at 1.2x demand 0.54 -> 0.41 x fixed time). Where a link stores only a car or two "
            "(ingolstadt21's 12 m pair) the harder hold let queues spill back and locked 1-2 seeds of 5, so "
            "it is off there.",
            "Box clearance (box_clearance, box_stall): a cluster junction with 30 m paths through its box and no "
            "all-red in its program (cologne3) locked at 1.2x demand when a phase ended with its turners "
            "stopped mid-box; the all-red now waits for them (cologne3 1.2x, seeds 1-6: ratio 4.51 with 2 seeds "
            "locked -> 0.51, none locked). A fixed 1 s all-red everywhere also cured it but cost cologne1 "
            "0.43 -> 0.53.",
        ),
        alternatives="Fixed-time, actuated, max-pressure and RESCO's learned controllers (IDQN, IPPO, MPLight, "
        "FMA2C); qpa needs no training and reads only detector counts.",
    ),
}


def _controller_figures(name: str, bench: dict[str, Any] | None) -> tuple[Figure, ...]:
    rows = benchmarks.controller_rows(bench, name)
    protocol = benchmarks.protocol_of(bench)
    if not rows:
        return (Figure(name="delay on the RESCO scenarios", value="not yet measured", protocol=protocol),)
    figures = []
    for scenario, r in rows:
        value = f"{_num(r['delay_mean'], '.1f')} s ± {_num(r['delay_sd'], '.1f')}"
        if name != "fixed" and benchmarks.is_finite(r.get("ratio_to_fixed")):
            value += f" ({r['ratio_to_fixed']:.2f} x fixed time)"
        value += f", {r.get('never_departed', 0)} never departed"
        figures.append(Figure(name=f"mean delay per vehicle, {scenario}", value=value, protocol=protocol))
    return tuple(figures)


def _controller_status(name: str, full_bench: dict[str, Any] | None) -> Status:
    if name == "fixed":
        return "live"  # the programs the city already runs
    return "live" if benchmarks.controller_supported_live(name, full_bench) else "shadow"


def controller_card(name: str, bench: dict[str, Any] | None, full_bench: dict[str, Any] | None) -> AlgorithmCard:
    """``bench`` supplies the figures (a smoke run says so in its protocol); only ``full_bench`` sets status."""
    cls = CONTROLLERS[name]
    params = cls().get_params()
    text = TEXTS.get(name) or ControllerText(
        purpose=f"Signal control: {cls.title}.",
        method=f"{cls.title}; parameters below. {SAFETY_MITIGATION}",
        risks=("Not yet described by its authors beyond its parameters.",),
        mitigations=(SAFETY_MITIGATION, "Runs in shadow until a full benchmark supports it."),
    )
    best = " Recommended controller ('best')." if name == BEST else ""
    return AlgorithmCard(
        id=f"traffic.{name}",
        version=_version(params),
        title=f"Signal control: {cls.title}",
        purpose=text.purpose + best,
        service="traffic",
        owner_agency=AGENCY,
        contact=CONTACT,
        legal_basis=LEGAL_BASIS,
        decision_type="Chooses which phase each signalised junction shows; decides about junctions, never about "
        "people. Status 'live' only where the benchmark shows it no worse than fixed time on all six real-world "
        "RESCO scenarios with no vehicle locked out; otherwise it runs in shadow beside the live controller.",
        human_oversight=SIGNAL_OVERSIGHT,
        data_purpose=Purpose.TRAFFIC,
        inputs=SIGNAL_INPUTS,
        method=text.method,
        parameters={**params, "adaptive": cls.adaptive},
        performance=_controller_figures(name, bench),
        risks=text.risks,
        mitigations=text.mitigations,
        status=_controller_status(name, full_bench),
        alternatives_considered=text.alternatives,
    )


def incident_card(bench: dict[str, Any] | None) -> AlgorithmCard:
    params = numeric_params(IncidentDetector())
    protocol = benchmarks.protocol_of(bench)
    figures = []
    for study in (bench or {}).get("incidents") or []:
        figures.append(
            Figure(
                name=f"incident detection, {study['scenario']}",
                value=f"{study['detected']}/{study['injected']} detected, "
                f"{_num(100 * study['detected_within_120s'])}% within 120 s, "
                f"{_num(study['false_alarms_per_hour_per_10_junctions'], '.2f')} false alarms "
                "per hour per 10 junctions",
                protocol=protocol + "; 3 lane blockages per run, false alarms on incident-free runs",
            )
        )
    if not figures:
        figures.append(Figure(name="incident detection", value="not yet measured", protocol=protocol))
    return AlgorithmCard(
        id="traffic.incident_detector",
        version=_version(params),
        title="Incident detection from detector data",
        purpose="Alerts the traffic control room to a lane that is probably blocked (breakdown, crash, closure).",
        service="traffic",
        owner_agency=AGENCY,
        contact=CONTACT,
        legal_basis=LEGAL_BASIS,
        decision_type="Recommends that an operator check a lane; it never dispatches anyone or changes signals.",
        human_oversight="Every alert goes to a Transport Bureau operator, who confirms it (cameras, patrol) or "
        "dismisses it as a false alarm.",
        data_purpose=Purpose.TRAFFIC,
        inputs=INCIDENT_INPUTS,
        method="Each approach lane carries a chain of short lane-area detectors from the stop line upstream. An "
        "ordinary queue starts at the stop line; a blocked lane shows a hole: vehicles standing in one segment with "
        "nobody standing in the segment ahead. Every second with a hole adds evidence (a queue ahead hides it and "
        "evidence decays by 'decay' per second); alarm_s seconds raise an alert; clear_s seconds without standing "
        "vehicles clear it. Lanes that show holes on incident-free calibration runs (other seeds) need a multiple "
        "of their peak. Parameters below are the ones in use.",
        parameters=params,
        performance=tuple(figures),
        risks=("False alarms send operators to look at normal queues.", "A blockage beyond the detector is missed."),
        mitigations=("Alerts are advisory: a person confirms before anyone is sent.",),
        status="advisory",
    )


def emergency_card(bench: dict[str, Any] | None, full_bench: dict[str, Any] | None) -> AlgorithmCard:
    plugin = EmergencyPlugin()
    arm = str(getattr(plugin, "mode", "preempt"))  # the priority the platform gives by default
    params = {k: v for k, v in numeric_params(plugin).items() if k not in ("count", "seed", "preemptions")}
    params["arm"] = arm
    protocol = benchmarks.protocol_of(bench)
    figures = [
        Figure(
            name=f"ambulance travel time with / without priority ({row['arm']}), {row['scenario']}",
            value=f"median {_num(row['median_with'])} s / {_num(row['median_without'])} s "
            f"(ratio {_num(row['ratio'], '.2f')}); everyone else's delay "
            f"{_num(100 * row['delay_change'] if benchmarks.is_finite(row['delay_change']) else None, '+.1f')}%",
            protocol=protocol + f"; {row['ambulances']} ambulances per run under {row['controller']}",
        )
        for row in benchmarks.emergency_rows(bench)
    ]
    if not figures:
        figures.append(Figure(name="ambulance travel time", value="not yet measured", protocol=protocol))
    return AlgorithmCard(
        id="traffic.emergency_preemption",
        version=_version(params),
        title="Emergency-vehicle priority (green wave)",
        purpose="Shortens ambulance and fire-engine journeys by preparing green along their announced route.",
        service="traffic",
        owner_agency=AGENCY,
        contact=CONTACT,
        legal_basis=LEGAL_BASIS,
        decision_type="Requests the phase serving an announced emergency vehicle at the junctions ahead of it.",
        human_oversight="Dispatchers announce the vehicle and its route; signal engineers review every "
        "pre-emption's effect on other traffic.",
        data_purpose=Purpose.TRAFFIC,
        inputs=SIGNAL_INPUTS,
        method="An emergency vehicle announces its route (as transponders do); each junction within "
        "max(lookahead_m, lookahead_s x speed) ahead is asked for the phase serving its movement, through the "
        "same safety layer (clearance and minimum green kept); a junction is held at most max_hold_s, or "
        "near_hold_s once the vehicle is within near_m of its stop line. No green is asked while every lane the "
        "vehicle's movement leads into stands full by its exit detector (its green would move no one), unless the "
        "next junction on the route, which empties that exit, is already granted to it; a vehicle standing "
        "stuck_s under its own green behind a waiting car asks the phase that lets its whole lane go. Under "
        "fixed-time or actuated programs the requested junction is taken over from its program at its current "
        "green and handed back through clearance to the phase its cycle clock shows, so offsets are kept. Arm "
        "'full' adds blue-light driving (traffic forms a rescue lane), 'preempt' is the green wave alone.",
        parameters=params,
        performance=tuple(figures),
        risks=("Cross traffic waits longer while the green wave holds.",),
        mitigations=(
            "The hold per junction is bounded; clearance is never shortened; a junction whose green cannot move "
            "the vehicle's queue (its exit full) is not held.",
        ),
        status="live" if benchmarks.emergency_supported_live(full_bench, arm) else "shadow",
    )


def build_cards() -> tuple[dict[str, AlgorithmCard], AlgorithmCard, AlgorithmCard]:
    bench = benchmarks.latest_measurements()
    # Status needs the full benchmark; figures may come from a smoke run (its protocol says so).
    full = benchmarks.load_bench()
    controllers = {name: controller_card(name, bench, full) for name in CONTROLLERS}
    return controllers, incident_card(bench), emergency_card(bench, full)


CONTROLLER_CARDS, INCIDENT_DETECTOR, EMERGENCY_PREEMPTION = build_cards()
ALL_CARDS: tuple[AlgorithmCard, ...] = (*CONTROLLER_CARDS.values(), INCIDENT_DETECTOR, EMERGENCY_PREEMPTION)


def card_for(controller: str) -> AlgorithmCard:
    """The card of a controller name ('best' resolves to the recommended one)."""
    return CONTROLLER_CARDS[BEST if controller == "best" else controller]
