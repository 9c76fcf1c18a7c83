"""Generates the settings table in docs/settings.md from the Settings class (run as a module)."""

from __future__ import annotations

import sys
from pathlib import Path

from civicbrain.core.settings import Settings

HEADER = """# Settings

Every setting is an environment variable with the prefix `CIVICBRAIN_`. This table is generated from
`civicbrain.core.settings.Settings` by `python -m civicbrain.core.settings_doc`; a test keeps it current.
Outside `development`, the instance refuses to start with the built-in secrets.

"""


def settings_table() -> str:
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = field.default
        shown = "(development value; set it)" if name in ("secret_key", "ledger_pepper") else f"`{default}`"
        lines.append(f"| `CIVICBRAIN_{name.upper()}` | {shown} | {field.description or ''} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/settings.md")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(HEADER + settings_table())


if __name__ == "__main__":
    main()
