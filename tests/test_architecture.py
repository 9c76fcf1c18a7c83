"""The seams of ARCHITECTURE.md, kept true by import-linter and a check on service independence."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).parents[1] / "src" / "civicbrain"


def test_import_contracts_hold():
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint)], capture_output=True, text=True, cwd=SRC.parents[1])
    assert result.returncode == 0, result.stdout + result.stderr


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_services_never_import_each_other():
    services = [p for p in (SRC / "services").iterdir() if p.is_dir() and not p.name.startswith("_")]
    for service in services:
        for path in service.rglob("*.py"):
            for module in imported_modules(path):
                if module.startswith("civicbrain.services."):
                    other = module.split(".")[2]
                    assert other == service.name, f"{path} imports service '{other}'"


def test_core_imports_no_service_and_no_web_framework():
    forbidden = (
        "civicbrain.services",
        "civicbrain.api",
        "civicbrain.portal",
        "civicbrain.cli",
        "fastapi",
        "starlette",
        "typer",
        "jinja2",
    )
    for path in (SRC / "core").rglob("*.py"):
        for module in imported_modules(path):
            assert not module.startswith(forbidden), f"{path} imports {module}"
