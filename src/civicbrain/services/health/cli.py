"""`civicbrain health ...`: evaluate the AI doctor on a patient file, or talk to it in the terminal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from civicbrain.services.health.consultations import URGENCY_WORDS
from civicbrain.services.health.domain.doctor import initial_complaints, start_consultation
from civicbrain.services.health.domain.evaluation import evaluate as evaluate_patients

app = typer.Typer(help="Health: AI doctor, mutual aid, wearables.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)
METRICS = ("gtpa_at_1", "top3", "top5", "ddr", "ddp", "ddf1", "questions_mean", "n_patients")


@app.command("evaluate")
def evaluate(
    patients: Annotated[Path, typer.Option("--patients", help="A CSV in the DDXPlus patient format.")],
    budget: Annotated[int, typer.Option("--budget", min=1, max=30, help="At most this many questions.")] = 30,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Run the DDXPlus protocol with the shipped model on PATIENTS and print its metrics."""
    if not patients.is_file():
        err.print(f"[red]error:[/red] no file at {patients} (field: patients)")
        raise typer.Exit(2)
    try:
        metrics = evaluate_patients(patients, budget=budget)
    except (ValueError, KeyError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(metrics, default=str))
        return
    table = Table(title=f"AI doctor on {patients.name} (budget {budget} questions)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key in METRICS:
        value = metrics[key]
        table.add_row(key, f"{value:.3f}" if isinstance(value, float) else str(value))
    console.print(table)


@app.command("purge")
def purge(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Delete consultations and wearable alerts older than the health retention period."""
    from civicbrain.core.context import Runtime
    from civicbrain.core.registry import load_services
    from civicbrain.core.settings import get_settings
    from civicbrain.services.health.records import purge_expired

    runtime = Runtime(get_settings(), load_services())
    with runtime.unit(actor="cli") as ctx:
        removed = purge_expired(ctx)
    if as_json:
        typer.echo(json.dumps(removed))
    else:
        console.print(f"removed {removed['consultations']} consultations and {removed['wearable_alerts']} alerts")


@app.command("ask")
def ask(
    age: Annotated[int, typer.Option(min=0, max=120, prompt=True, help="Your age.")],
    sex: Annotated[str, typer.Option(prompt="Sex (F/M)", help="F or M (the knowledge base's two).")],
) -> None:
    """An interactive consultation in the terminal (nothing is stored; for trying the model)."""
    sex = sex.strip().upper()[:1]
    if sex not in ("F", "M"):
        err.print("[red]error:[/red] sex: answer F or M")
        raise typer.Exit(2)
    words = typer.prompt("What is your main complaint? (a few words)")
    complaints = initial_complaints()
    matches = [c for c in complaints if any(w.lower() in c[1].lower() for w in words.split() if len(w) > 2)]
    options = (matches or complaints)[:15]
    for i, (_code, text) in enumerate(options, 1):
        console.print(f"  {i:2d}. {text}")
    choice = typer.prompt("Which is closest? (number)", type=int)
    if not 1 <= choice <= len(options):
        err.print("[red]error:[/red] choose one of the numbers shown")
        raise typer.Exit(2)
    dialogue = start_consultation(age, sex, options[choice - 1][0])
    while (question := dialogue.next_question()) is not None:
        console.print(f"\n[bold]{question.text}[/bold]")
        if question.kind == "yes_no":
            dialogue.answer(question.code, typer.confirm("", default=False))
            continue
        for i, (_value, label) in enumerate(question.options, 1):
            console.print(f"  {i:3d}. {label}")
        if question.kind == "choose_one":
            picked = typer.prompt("number", type=int)
            dialogue.answer(question.code, question.options[max(1, min(picked, len(question.options))) - 1][0])
        else:
            raw = typer.prompt("numbers, separated by spaces (empty for none)", default="", show_default=False)
            values = [
                question.options[int(n) - 1][0]
                for n in raw.split()
                if n.isdigit() and 1 <= int(n) <= len(question.options)
            ]
            dialogue.answer(question.code, frozenset(values))
    result = dialogue.result()
    console.print("\n[bold]What it might be[/bold] (for a clinician to confirm):")
    for candidate in result.differential[:5]:
        console.print(f"  {candidate.probability:6.1%}  {candidate.pathology}")
    console.print(f"\n[bold]{URGENCY_WORDS[result.urgency.level]}[/bold]")
    for reason in result.urgency.reasons:
        console.print(f"  - {reason}")
    console.print("This is not a diagnosis: a clinician reviews every consultation made through the portal.")
