"""`civicbrain traffic ...`: scenarios, controllers, evaluation runs, operation runs, the benchmark."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from civicbrain.core.context import Runtime
from civicbrain.core.errors import CivicError
from civicbrain.core.registry import load_services
from civicbrain.core.settings import get_settings
from civicbrain.services.traffic.algorithms import CONTROLLER_CARDS
from civicbrain.services.traffic.domain.controllers import BEST, list_controllers
from civicbrain.services.traffic.domain.scenarios import list_scenarios
from civicbrain.services.traffic.service import evaluate, operate, operation_request, resolve_scenario

app = typer.Typer(help="Traffic signals (City Brain): scenarios, controllers, runs, benchmark.", no_args_is_help=True)
console = Console(stderr=True)  # tables and bars on stderr keep --json output clean on stdout
BENCH_SCRIPT = Path(__file__).resolve().parents[4] / "bench" / "traffic_bench.py"

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]
ScenarioOpt = Annotated[str | None, typer.Option("--scenario", help="A RESCO scenario (see `scenarios`).")]
NetOpt = Annotated[Path | None, typer.Option("--net", help="A SUMO .net.xml (with --routes).")]
RoutesOpt = Annotated[Path | None, typer.Option("--routes", help="A SUMO routes file.")]
BeginOpt = Annotated[float | None, typer.Option("--begin", help="Start of the window, simulated seconds.")]
EndOpt = Annotated[float | None, typer.Option("--end", help="End of the window, simulated seconds.")]
DurationOpt = Annotated[
    float | None, typer.Option("--duration", help="Simulate only this many seconds from the window's start.")
]
ScaleOpt = Annotated[float, typer.Option("--scale", help="Demand scaling, as SUMO's --scale.")]
BlockerOpt = Annotated[
    float | None,
    typer.Option(
        "--ignore-junction-blocker",
        metavar="S",
        help="Let a vehicle pass one standing S seconds in a junction box in its way (SUMO's option; "
        "default never, as RESCO's protocol).",
    ),
]
WorkersOpt = Annotated[int, typer.Option("--workers", min=1, help="Simulations in parallel (one process each).")]


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")


def _fail(exc: CivicError) -> None:
    where = f" (field: {exc.field})" if exc.field else ""
    console.print(f"[red]error:[/red] {exc.message}{where}")
    raise typer.Exit(2)


def _fmt(value: Any, nd: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{nd}f}"


@contextmanager
def _progress(label: str, quiet: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A rich bar fed by core.batch's progress(done, total) callback."""
    if quiet:
        yield None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


@app.command("scenarios")
def scenarios(as_json: JsonFlag = False) -> None:
    """The built-in scenarios (RESCO) and their time windows."""
    rows = list_scenarios()
    if as_json:
        _print_json(rows)
        return
    table = Table(title="Scenarios (RESCO benchmark)")
    for col in ("name", "kind", "begin s", "end s"):
        table.add_column(col)
    for r in rows:
        table.add_row(str(r["name"]), str(r["kind"]), _fmt(r["begin"], 0), _fmt(r["end"], 0))
    Console().print(table)


@app.command("controllers")
def controllers(as_json: JsonFlag = False) -> None:
    """Signal controllers, their register card and status; '*' marks the recommended one ('best')."""
    rows = [
        {**c, "algorithm": CONTROLLER_CARDS[c["name"]].id, "status": CONTROLLER_CARDS[c["name"]].status}
        for c in list_controllers()
    ]
    if as_json:
        _print_json(rows)
        return
    table = Table(title="Signal controllers")
    for col in ("name", "title", "adaptive", "status", "card"):
        table.add_column(col)
    for r in rows:
        star = " *" if r["best"] else ""
        table.add_row(r["name"] + star, r["title"], "yes" if r["adaptive"] else "no", r["status"], r["algorithm"])
    Console().print(table)


@app.command("run")
def run(
    scenario: ScenarioOpt = None,
    net: NetOpt = None,
    routes: RoutesOpt = None,
    begin: BeginOpt = None,
    end: EndOpt = None,
    duration: DurationOpt = None,
    controller: Annotated[
        list[str], typer.Option("--controller", help=f"Controller name or 'best' ({BEST}); repeat for several.")
    ] = ["best"],  # noqa: B006 - Typer reads list defaults this way
    seeds: Annotated[int, typer.Option("--seeds", min=1, help="Seeds 1..N (one simulation each).")] = 1,
    scale: ScaleOpt = 1.0,
    ignore_junction_blocker: BlockerOpt = None,
    workers: WorkersOpt = 2,
    as_json: JsonFlag = False,
) -> None:
    """Simulate controllers over seeds: delay, trip time, wait, never-departed, free-flow floor (mean ± sd).

    Fixed time always runs too (same seeds, same batch): delay ratios are taken against it.
    Evaluation only: nothing is written to the ledger (see `operate`).
    """
    try:
        sc = resolve_scenario(
            scenario,
            net=str(net) if net else None,
            routes=str(routes) if routes else None,
            begin=begin,
            end=end,
            duration=duration,
            scale=scale,
            junction_blocker_s=ignore_junction_blocker,
        )
        with _progress(f"{sc.name}: simulations", as_json and not sys.stderr.isatty()) as progress:
            result = evaluate(sc, controller, seeds, workers=workers, progress=progress)
    except CivicError as exc:
        _fail(exc)
        return
    if as_json:
        _print_json(result)
        return
    table = Table(
        title=f"{result['scenario']} {_fmt(sc.begin, 0)}-{_fmt(sc.end, 0)} s, scale {sc.scale}, {seeds} seeds"
        + (f", junction blockers passed after {sc.junction_blocker_s:g} s" if sc.junction_blocker_s else "")
    )
    for col in ("controller", "delay s", "trip s", "wait s", "never departed", "free-flow s", "ratio to fixed"):
        table.add_column(col, justify="left" if col == "controller" else "right")
    for name, r in result["controllers"].items():
        table.add_row(
            name + (" *" if name == BEST else ""),
            f"{_fmt(r['delay_mean'])} ± {_fmt(r['delay_sd'])}",
            f"{_fmt(r['trip_time_mean'])} ± {_fmt(r['trip_time_sd'])}",
            f"{_fmt(r['wait_mean'])} ± {_fmt(r['wait_sd'])}",
            str(r["never_departed"]),
            _fmt(r["free_flow_trip_mean"]),
            f"{_fmt(r.get('ratio_to_fixed'), 3)} ± {_fmt(r.get('ratio_to_fixed_sd'), 3)}",
        )
    Console().print(table)
    Console().print("delay = timeLoss + departDelay per vehicle (never-departed charged their wait); * = 'best'")


@app.command("operate")
def operate_cmd(
    scenario: ScenarioOpt = None,
    net: NetOpt = None,
    routes: RoutesOpt = None,
    begin: BeginOpt = None,
    end: EndOpt = None,
    duration: DurationOpt = None,
    controller: Annotated[str, typer.Option("--controller", help="Live controller (its card must be live).")] = "fixed",
    candidate: Annotated[str | None, typer.Option("--candidate", help="Shadow candidate beside it.")] = None,
    seeds: Annotated[int, typer.Option("--seeds", min=1, max=10)] = 1,
    incidents: Annotated[int, typer.Option("--incidents", min=0, max=10, help="Blockages to inject (drill).")] = 0,
    ambulances: Annotated[
        int, typer.Option("--ambulances", min=0, max=10, help="Ambulance trips given a green wave (pre-emption).")
    ] = 0,
    calibrate: Annotated[
        int, typer.Option("--calibrate", min=0, max=5, help="Incident-free runs to calibrate the detector on first.")
    ] = 0,
    scale: ScaleOpt = 1.0,
    workers: WorkersOpt = 2,
    as_json: JsonFlag = False,
) -> None:
    """Run a scenario through the platform: signal plans, shadow decisions and incident alerts go to the ledger."""
    try:
        sc = resolve_scenario(
            scenario, net=str(net) if net else None, routes=str(routes) if routes else None, begin=begin, end=end,
            duration=duration, scale=scale,
        )  # fmt: skip
        request = operation_request(
            sc, controller, candidate, seeds=tuple(range(1, seeds + 1)), incidents=incidents, ambulances=ambulances,
            calibration_runs=calibrate,
        )  # fmt: skip
        runtime = Runtime(get_settings(), load_services())
        with _progress(f"{sc.name}: operation", as_json and not sys.stderr.isatty()) as progress:
            report = operate(runtime, request, actor="cli", workers=workers, progress=progress)
    except CivicError as exc:
        _fail(exc)
        return
    out = report.as_dict()
    if as_json:
        _print_json(out)
        return
    Console().print(
        f"run {out['run_id']}: {out['decisions']['live']} signal-plan decisions (live), "
        f"{out['decisions']['shadow']} (shadow), {out['decisions']['advisory']} incident alerts; "
        f"live delay {_fmt(out['live']['delay_mean'])} s"
        + (f", candidate {_fmt(out['candidate']['delay_mean'])} s" if out["candidate"] else "")
    )


@app.command(
    "bench",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def bench(ctx: typer.Context) -> None:
    """The benchmark table (bench/traffic_bench.py); extra options go to it, e.g. --quick --seeds 1."""
    if not BENCH_SCRIPT.exists():
        console.print(f"[red]error:[/red] the benchmark script ships with the source checkout ({BENCH_SCRIPT})")
        raise typer.Exit(2)
    spec = importlib.util.spec_from_file_location("traffic_bench", BENCH_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    raise typer.Exit(module.main(list(ctx.args)))
