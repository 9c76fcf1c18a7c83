"""`civicbrain concessions ...`"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console

from civicbrain.core.context import Runtime
from civicbrain.core.registry import load_services
from civicbrain.core.settings import get_settings
from civicbrain.services.concessions.service import assess_everyone

app = typer.Typer(help="Fare concessions.", no_args_is_help=True)


@app.command("assess")
def assess_all(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Assess every resident with household income data, through the decision ledger."""
    runtime = Runtime(get_settings(), load_services())
    with runtime.unit(actor="cli") as ctx:
        results = assess_everyone(ctx)
        summary = {
            "assessed": len(results),
            "eligible": sum(r.decision.outcome_label == "eligible" for r in results),
        }
    if as_json:
        typer.echo(json.dumps(summary))
    else:
        Console().print(f"assessed {summary['assessed']} residents; {summary['eligible']} eligible")
