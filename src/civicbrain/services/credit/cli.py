"""`civicbrain credit ...`: lists, listings with due process, checks, scores, the public query,
matcher evaluation and federation. The CLI acts as the instance's operator (admin rights), and
every step still goes through the same use cases and the ledger as the API."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from civicbrain.core.context import Runtime
from civicbrain.core.errors import CivicError
from civicbrain.core.registry import load_services
from civicbrain.core.settings import get_settings
from civicbrain.services.credit import checks, federation_sync, public_view, scores, service
from civicbrain.services.credit.checks import CheckQuery
from civicbrain.services.credit.domain.names import NameKind
from civicbrain.services.credit.models import CreditList, CreditMemorandum, CreditScoreOptIn
from civicbrain.services.credit.views import list_view, listing_view, memorandum_view

app = typer.Typer(
    help="Public credit information: lists, due process, checks, score, federation.", no_args_is_help=True
)
federation_app = typer.Typer(help="Federation with province and national instances.", no_args_is_help=True)
app.add_typer(federation_app, name="federation")
console = Console()
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
OPERATOR = "cli"


def _runtime() -> Runtime:
    return Runtime(get_settings(), load_services())


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str, ensure_ascii=False) + "\n")


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*["" if v is None else str(v) for v in row])
    console.print(table)


def _run(work: Any) -> Any:
    """Run one unit of work; a user error prints its message (naming the field) and exits 2."""
    try:
        with _runtime().unit(actor=OPERATOR) as ctx:
            return work(ctx)
    except CivicError as exc:
        where = f" (field: {exc.field})" if exc.field else ""
        Console(stderr=True).print(f"[red]error:[/red] {exc.message}{where}")
        raise typer.Exit(2) from None


@app.command("lists")
def lists_cmd(as_json: JsonFlag = False) -> None:
    """Published lists: owner, legal basis, tier, maximum duration."""
    rows = _run(lambda ctx: [list_view(r) for r in ctx.session.scalars(select(CreditList).order_by(CreditList.code))])
    if as_json:
        return _print_json(rows)
    _table(
        "Lists",
        ["code", "title", "owner", "kind", "tier", "max months"],
        [[r["code"], r["title"], r["owning_agency"], r["kind"], r["tier"], r["max_duration_months"]] for r in rows],
    )


@app.command("memoranda")
def memoranda_cmd(as_json: JsonFlag = False) -> None:
    """Joint-measure memoranda: list -> measure applied by an agency in named contexts."""
    rows = _run(
        lambda ctx: [
            memorandum_view(r) for r in ctx.session.scalars(select(CreditMemorandum).order_by(CreditMemorandum.id))
        ]
    )
    if as_json:
        return _print_json(rows)
    _table(
        "Memoranda",
        ["id", "list", "applying agency", "measure", "contexts"],
        [[r["id"], r["list"], r["applying_agency"], r["measure"], ", ".join(r["contexts"])] for r in rows],
    )


@app.command("propose")
def propose_cmd(
    list_code: Annotated[str, typer.Option("--list", help="List code")],
    fact: Annotated[list[str], typer.Option("--fact", help="Record reference agency/feed#key (repeatable)")],
    reason: Annotated[list[str], typer.Option("--reason", help="A reason in words (repeatable)")],
    as_json: JsonFlag = False,
) -> None:
    """Propose a listing from exchange records; the notice is sent in the same step."""
    view = _run(
        lambda ctx: listing_view(
            service.propose_listing(
                ctx, list_code=list_code, facts=fact, reasons=reason, proposed_by=OPERATOR, acting_agency=None
            )
        )
    )
    _print_json(view) if as_json else console.print(
        f"listing {view['id']}: {view['state']}, notice receipt {view['notice_receipt']}"
    )


@app.command("listings")
def listings_cmd(
    state: Annotated[str | None, typer.Option(help="proposed, notice_sent, objected, active, ...")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Listings, optionally in one state (e.g. --state objected for the objections queue)."""
    rows = _run(lambda ctx: [listing_view(r) for r in service.listings(ctx, states=[state] if state else [])])
    if as_json:
        return _print_json(rows)
    _table(
        "Listings",
        ["id", "list", "subject", "state", "effective", "expires"],
        [[r["id"], r["list"], r["subject"], r["state"], r["effective_from"], r["expires_at"]] for r in rows],
    )


@app.command("objections")
def objections_cmd(as_json: JsonFlag = False) -> None:
    """Open objections (decided by reviewers in the appeals queue) and those past their answer date."""

    def work(ctx: Any) -> dict[str, Any]:
        late = {r.id for r in service.overdue(ctx)["objections"]}
        return {
            "open": [{**listing_view(r), "overdue": r.id in late} for r in service.listings(ctx, states=["objected"])]
        }

    data = _run(work)
    if as_json:
        return _print_json(data)
    _table(
        "Open objections",
        ["listing", "appeal", "answer due", "overdue"],
        [[r["id"], r["appeal_id"], (r["objection"] or {}).get("answer_due"), r["overdue"]] for r in data["open"]],
    )


@app.command("expire")
def expire_cmd(as_json: JsonFlag = False) -> None:
    """The daily job: activate listings whose objection window closed, expire those at their maximum."""
    counts = _run(service.expire_due)
    _print_json(counts) if as_json else console.print(f"activated {counts['activated']}, expired {counts['expired']}")


@app.command("repair")
def repair_cmd(
    listing_id: str,
    performance: Annotated[str | None, typer.Option(help="Apply: how the obligation was performed")] = None,
    grant: Annotated[bool | None, typer.Option("--grant/--refuse", help="Decide an open application")] = None,
    check: Annotated[list[str] | None, typer.Option("--check", help="A check made (repeatable)")] = None,
    answer: Annotated[str, typer.Option(help="Reasons for the decision")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Apply for repair (--performance) or decide an application (--grant/--refuse with --check and --answer)."""

    def work(ctx: Any) -> dict[str, Any]:
        if grant is None:
            row = service.apply_for_repair(
                ctx, listing_id=listing_id, performance=performance or "", applied_by=OPERATOR, person_id=None
            )
        else:
            row = service.decide_repair(
                ctx,
                listing_id=listing_id,
                granted=grant,
                checks=check or [],
                answer=answer,
                decided_by=OPERATOR,
                role="operator",
            )
        return listing_view(row)

    view = _run(work)
    _print_json(view) if as_json else console.print(f"listing {view['id']}: {view['state']}")


@app.command("check")
def check_cmd(
    context: Annotated[str, typer.Option(help="e.g. 'public tender'")],
    agency: Annotated[str, typer.Option(help="The asking agency")],
    id_number: Annotated[str | None, typer.Option(help="ID number or unified social credit code")] = None,
    name: Annotated[str | None, typer.Option()] = None,
    birth_date: Annotated[str | None, typer.Option()] = None,
    organization: Annotated[bool, typer.Option("--organization", help="The subject is a firm")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Check a subject in a context for the asking agency's measures (recorded in the ledger)."""
    query = CheckQuery(
        kind=NameKind.ORGANIZATION if organization else NameKind.PERSON,
        name=name,
        identifier=id_number,
        birth_date=birth_date,
    )
    data = _run(
        lambda ctx: checks.run_check(
            ctx, query=query, context=context, asking_agency=agency, asked_by=OPERATOR
        ).as_dict()
    )
    _print_json(data) if as_json else console.print(f"{data['summary']} (receipt {data['receipt']})")


@app.command("score")
def score_cmd(
    person_id: str,
    action: Annotated[str, typer.Option(help="show, opt-in, withdraw or rescore")] = "show",
    as_json: JsonFlag = False,
) -> None:
    """A resident's opt-in city score (opting in or out is the resident's own choice, recorded as theirs)."""

    def work(ctx: Any) -> dict[str, Any] | None:
        if action == "opt-in":
            scores.opt_in(ctx, person_id)
        elif action == "withdraw":
            scores.withdraw(ctx, person_id)
            return None
        elif action == "rescore":
            scores.rescore(ctx, person_id)
        elif action != "show":
            raise typer.BadParameter("action is show, opt-in, withdraw or rescore")
        row = ctx.session.get(CreditScoreOptIn, person_id)
        return scores.score_view(row) if row is not None else None

    data = _run(work)
    if as_json:
        return _print_json(data)
    if data is None:
        console.print(f"{person_id} has no city score (not opted in, or withdrawn and deleted)")
        return
    console.print(f"score {data['score']} ({data['band'] or 'no benefit band'})")
    for reason in data["reason_codes"]:
        console.print(f"  {reason}")
    for tip in data["improvements"]:
        console.print(f"  to raise it: {tip}")


@app.command("query")
def query_cmd(text: str, as_json: JsonFlag = False) -> None:
    """The public query: listings in force by name or unified social credit code (IDs masked)."""
    rows = _run(lambda ctx: [r.as_dict() for r in public_view.search(ctx, text)])
    if as_json:
        return _print_json(rows)
    _table(
        "Public query",
        ["name", "ID", "list", "agency", "from", "until"],
        [
            [
                r["name"],
                ", ".join(r["masked_identifiers"]),
                r["list"],
                r["issuing_agency_name"],
                r["listed_from"][:10],
                r["listed_until"][:10],
            ]
            for r in rows
        ],
    )


@app.command("export")
def export_cmd(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default: stdout)")] = None,
) -> None:
    """Listings in force as FollowTheMoney JSON lines (Person/Company and Sanction entities)."""
    lines = _run(lambda ctx: list(public_view.export_ftm(ctx)))
    text = "".join(line + "\n" for line in lines)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"{len(lines)} entities written to {output}")


@app.command("match-eval")
def match_eval_cmd(
    pairs: Annotated[Path, typer.Option("--pairs", exists=True, dir_okay=False, help="CSV in the name_bench format")],
    threshold: Annotated[float, typer.Option(min=0.01, max=1.0)] = 0.7,
    as_json: JsonFlag = False,
) -> None:
    """Precision, recall, F1 and n of our matcher and of nomenklatura's logic-v2 on labelled pairs."""
    from civicbrain.services.credit.domain.evaluation import evaluate_pairs

    try:
        result = evaluate_pairs(pairs, threshold)
    except (CivicError, ValueError) as exc:  # read_pairs names the missing column or the bad row
        Console(stderr=True).print(f"[red]error:[/red] {getattr(exc, 'message', exc)}")
        raise typer.Exit(2) from None
    if as_json:
        return _print_json(result)
    rows = []
    for name, metrics in result.items():
        if metrics.get("available") is False:
            rows.append([name, "-", "-", "-", "-", metrics.get("reason")])
        else:
            rows.append([name, metrics["precision"], metrics["recall"], metrics["f1"], metrics["n"], ""])
    _table(f"Name matching at threshold {threshold}", ["matcher", "precision", "recall", "f1", "n", "note"], rows)


@federation_app.command("identity")
def federation_identity() -> None:
    """This instance's id and public key (give them to the instances it federates with)."""
    _print_json(_run(federation_sync.identity_view))


@federation_app.command("add-peer")
def federation_add_peer(
    instance_id: str,
    relation: Annotated[str, typer.Option(help="parent or child")],
    public_key: Annotated[str, typer.Option(help="The peer's base64 Ed25519 public key")],
    url: Annotated[str | None, typer.Option(help="The peer's base URL")] = None,
    relays: Annotated[list[str] | None, typer.Option("--relays", help="Authorities below it (repeatable)")] = None,
) -> None:
    """Trust a parent or child instance."""
    _run(
        lambda ctx: federation_sync.add_peer(
            ctx, instance_id=instance_id, relation=relation, public_key=public_key, base_url=url, relays=relays or []
        )
    )
    console.print(f"{relation} {instance_id} trusted")


@federation_app.command("push")
def federation_push(as_json: JsonFlag = False) -> None:
    """Seal this instance's changed listings and deliver every unacknowledged batch to the parent."""
    counts = _run(federation_sync.push)
    _print_json(counts) if as_json else console.print(counts)


@federation_app.command("pull")
def federation_pull(as_json: JsonFlag = False) -> None:
    """Fetch and apply the parent's list deltas after the last one applied."""
    counts = _run(federation_sync.pull)
    _print_json(counts) if as_json else console.print(counts)


@federation_app.command("view")
def federation_view() -> None:
    """Listings held here for other authorities (province and national views)."""
    _print_json(_run(federation_sync.aggregate))
