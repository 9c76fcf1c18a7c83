"""The ``civicbrain`` command: serve, migrate, seed, verify, and each service's sub-commands."""

from __future__ import annotations

import json
import sys
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

app = typer.Typer(help="civicbrain: open, auditable and contestable AI-assisted public services.", no_args_is_help=True)
db_app = typer.Typer(help="The database.", no_args_is_help=True)
demo_app = typer.Typer(help="The demo city.", no_args_is_help=True)
ledger_app = typer.Typer(help="The decision ledger.", no_args_is_help=True)
register_app = typer.Typer(help="The algorithm register.", no_args_is_help=True)
feeds_app = typer.Typer(help="Agency data feeds (the exchange).", no_args_is_help=True)
appeals_app = typer.Typer(help="Appeals against decisions.", no_args_is_help=True)
privacy_app = typer.Typer(help="Retention and erasure.", no_args_is_help=True)
for sub, name in (
    (db_app, "db"),
    (demo_app, "demo"),
    (ledger_app, "ledger"),
    (register_app, "register"),
    (feeds_app, "feeds"),
    (appeals_app, "appeals"),
    (privacy_app, "privacy"),
):
    app.add_typer(sub, name=name)

console = Console()
err = Console(stderr=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def runtime() -> Runtime:
    return Runtime(get_settings(), load_services())


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str, ensure_ascii=False) + "\n")


def fail(exc: CivicError) -> None:
    where = f" (field: {exc.field})" if exc.field else ""
    err.print(f"[red]error:[/red] {exc.message}{where}")
    raise typer.Exit(2)


# --- serve, db, demo ---------------------------------------------------------------------------


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
) -> None:
    """Serve the portal and API."""
    import uvicorn

    from civicbrain.api import create_app

    settings = get_settings()
    uvicorn.run(create_app(settings), host=host or settings.host, port=port or settings.port, log_level="info")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database to the newest schema."""
    from civicbrain.migrations.runner import upgrade

    settings = get_settings()
    upgrade(settings.database_url)
    console.print(f"database at [bold]{_safe_url(settings.database_url)}[/bold] is up to date")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@demo_app.command("seed")
def demo_seed() -> None:
    """Seed the demo city (agencies, residents, users, each service's data). Does nothing if seeded."""
    from civicbrain.demo.city import DEMO_USERS, seed_city

    rt = runtime()
    try:
        with rt.unit(actor="demo-seed") as ctx:
            created = seed_city(ctx)
    except CivicError as exc:
        fail(exc)
    console.print("demo city seeded" if created else "demo city already seeded")
    table = Table(title="Demo sign-ins (development only)")
    for column in ("username", "password", "role", "who"):
        table.add_column(column)
    for user in DEMO_USERS:
        table.add_row(user.username, user.password, user.role.value, user.display_name)
    for spec in rt.services.values():
        for username, password, who in spec.demo_sign_ins:
            table.add_row(username, password, f"({spec.name})", who)
    console.print(table)


# --- ledger ------------------------------------------------------------------------------------


@ledger_app.command("verify")
def ledger_verify(as_json: JsonFlag = False) -> None:
    """Check the hash chain. Exits 0 when intact; 1 naming the first broken entry otherwise."""
    from civicbrain.core.ledger import verify

    rt = runtime()
    with rt.sessions() as session:
        result = verify(session)
    if as_json:
        print_json(result.__dict__)
    elif result.ok:
        console.print(f"[green]ledger intact[/green]: {result.checked} entries verified")
    else:
        err.print(
            f"[red]ledger broken[/red] at entry {result.first_broken_seq}"
            f" (receipt {result.first_broken_receipt}): {result.reason}"
        )
    raise typer.Exit(0 if result.ok else 1)


# --- register ----------------------------------------------------------------------------------


@register_app.command("list")
def register_list(as_json: JsonFlag = False) -> None:
    """The registered algorithms, with their status and live decision counts."""
    from civicbrain.core.register import live_figures

    rt = runtime()
    with rt.sessions() as session:
        rows = [(c, live_figures(session, c.id)) for c in rt.register.cards()]
    if as_json:
        print_json([{"id": c.id, "version": c.version, "status": c.status, "title": c.title, **f} for c, f in rows])
        return
    table = Table(title="Algorithm register")
    for column in ("id", "version", "status", "title", "decisions", "appeals", "overturned"):
        table.add_column(column)
    for card, figures in rows:
        table.add_row(
            card.id,
            card.version,
            card.status,
            card.title,
            str(figures["decisions_total"]),
            str(figures["appeals_total"]),
            str(figures["appeals_overturned"]),
        )
    console.print(table)


@register_app.command("export")
def register_export(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file.")] = None,
) -> None:
    """Export the register as JSON in the UK Algorithmic Transparency Recording Standard's fields."""
    rt = runtime()
    document = {
        "standard": "UK Algorithmic Transparency Recording Standard, tiers 1 and 2",
        "instance": rt.settings.instance_name,
        "records": [{"id": c.id, "version": c.version, **c.to_atrs()} for c in rt.register.cards()],
    }
    if output:
        output.write_text(json.dumps(document, indent=2, default=str, ensure_ascii=False))
        console.print(f"wrote {len(document['records'])} records to {output}")
    else:
        print_json(document)


# --- feeds -------------------------------------------------------------------------------------


@feeds_app.command("register")
def feeds_register(
    agency: Annotated[str, typer.Option(help="The sending agency's id.")],
    name: Annotated[str, typer.Option(help="The feed's name.")],
    purpose: Annotated[str, typer.Option(help="What the data is used for (traffic, credit, health, ...).")],
    schema: Annotated[
        Path, typer.Option(help="JSON file: {fields: [{name,type,category,required}], key, subject_field}")
    ],
    description: Annotated[str, typer.Option(help="What the feed holds.")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Register a feed with its declared schema (checked against the privacy rules)."""
    rt = runtime()
    try:
        declared = json.loads(schema.read_text())
        with rt.unit(actor="cli") as ctx:
            feed = ctx.exchange.register_feed(
                agency_id=agency, name=name, purpose=purpose, schema=declared, description=description
            )
            result = {"id": feed.id, "agency": feed.agency_id, "name": feed.name, "purpose": feed.purpose}
    except CivicError as exc:
        fail(exc)
    except (OSError, json.JSONDecodeError) as exc:
        err.print(f"[red]error:[/red] cannot read schema file: {exc} (field: schema)")
        raise typer.Exit(2) from None
    print_json(result) if as_json else console.print(f"feed {result['agency']}/{result['name']} registered")


@feeds_app.command("ingest")
def feeds_ingest(
    file: Annotated[Path, typer.Argument(help="A .csv, .json or .jsonl file.", exists=True, dir_okay=False)],
    agency: Annotated[str, typer.Option(help="The sending agency's id.")],
    feed: Annotated[str, typer.Option(help="The feed's name.")],
    as_json: JsonFlag = False,
) -> None:
    """Take a file into a feed: validated, with provenance, resumable, never duplicated."""
    rt = runtime()
    total = _count_lines(file)
    try:
        with rt.unit(actor="cli") as ctx, _progress(as_json) as progress:
            task = progress.add_task(f"{agency}/{feed}", total=total)
            target = ctx.exchange.feed(agency, feed)
            report = ctx.exchange.ingest_file(target, file, progress=lambda n: progress.update(task, completed=n))
    except CivicError as exc:
        fail(exc)
    if as_json:
        print_json(report.as_dict())
        return
    table = Table(title=f"Intake of {file.name}")
    table.add_column("rows seen")
    table.add_column("accepted")
    table.add_column("duplicates")
    table.add_column("quarantined")
    table.add_row(*(str(v) for v in (report.rows_seen, report.accepted, report.duplicates, report.quarantined)))
    console.print(table)
    if report.resumed_from:
        console.print(f"resumed after row {report.resumed_from} of an interrupted intake")
    for reason, count in report.as_dict()["top_reasons"].items():
        console.print(f"  quarantined {count}× — {reason}")


def _count_lines(path: Path) -> int:
    with path.open("rb") as fh:
        lines = sum(block.count(b"\n") for block in iter(lambda: fh.read(1 << 20), b""))
    return max(lines - 1, 0) if path.suffix.lower() == ".csv" else lines


def _progress(quiet: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=quiet,
    )


@feeds_app.command("quarantine")
def feeds_quarantine(
    agency: Annotated[str, typer.Option(help="The sending agency's id.")],
    feed: Annotated[str, typer.Option(help="The feed's name.")],
    as_json: JsonFlag = False,
) -> None:
    """Records of a feed that failed validation, with the reasons."""
    rt = runtime()
    try:
        with rt.unit() as ctx:
            rows = [
                {"id": q.id, "row": q.row_number, "reasons": q.reasons, "raw": q.raw}
                for q in ctx.exchange.quarantine(ctx.exchange.feed(agency, feed))
            ]
    except CivicError as exc:
        fail(exc)
    if as_json:
        print_json(rows)
        return
    table = Table(title=f"Quarantine of {agency}/{feed}")
    for column in ("id", "row", "reasons"):
        table.add_column(column)
    for r in rows:
        table.add_row(str(r["id"]), str(r["row"]), "; ".join(f"{x['field']}: {x['rule']}" for x in r["reasons"]))
    console.print(table)


# --- appeals -----------------------------------------------------------------------------------


@appeals_app.command("list")
def appeals_list(
    status: Annotated[str, typer.Option(help="open, upheld, overturned or all.")] = "open",
    service: Annotated[str | None, typer.Option(help="Only this service's queue.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """The review queue, oldest deadline first, with overdue appeals marked."""
    rt = runtime()
    with rt.unit() as ctx:
        rows = ctx.appeals.queue(service=service, status=None if status == "all" else status)
        overdue = {a.id for a in ctx.appeals.overdue()}
        data = [
            {
                "id": a.id,
                "service": a.service,
                "algorithm": a.algorithm,
                "status": a.status,
                "filed_at": a.filed_at,
                "due_at": a.due_at,
                "overdue": a.id in overdue,
                "grounds": a.grounds,
            }
            for a in rows
        ]
    if as_json:
        print_json(data)
        return
    table = Table(title="Appeals")
    for column in ("id", "service", "status", "due", "overdue", "grounds"):
        table.add_column(column)
    for a in data:
        table.add_row(
            str(a["id"]),
            a["service"],
            a["status"],
            str(a["due_at"])[:10],
            "yes" if a["overdue"] else "",
            a["grounds"][:60],
        )
    console.print(table)


# --- privacy -----------------------------------------------------------------------------------


@privacy_app.command("purge")
def privacy_purge(as_json: JsonFlag = False) -> None:
    """Delete what is held beyond its data categories' retention periods (run daily)."""
    rt = runtime()
    with rt.unit(actor="retention-purge") as ctx:
        removed = ctx.privacy.purge_expired()
    if as_json:
        print_json(removed)
        return
    table = Table(title="Retention purge")
    table.add_column("what")
    table.add_column("removed", justify="right")
    for what, count in removed.items():
        table.add_row(what, str(count))
    console.print(table)


def _add_service_commands() -> None:
    for spec in load_services():
        if spec.cli is not None:
            app.add_typer(spec.cli, name=spec.name, help=spec.title)


_add_service_commands()

if __name__ == "__main__":
    app()
