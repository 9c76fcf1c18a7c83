"""Credit: blocking keys that qualify a listed person's joined name by birth year and date.

Namesakes share every name key, so a check by name and birth date found the right one among
hundreds of listed Zhang Weis only if it ranked in the first few by chance. From here on
``candidates.index_subject`` writes "jy:<joined name>|<year>" and "jd:<joined name>|<yyyy-mm-dd>"
beside the name keys (``blocking.birth_keys``); this revision adds them, with their posting counts,
for the subjects indexed before it. The key rule is copied here, not imported, so this revision
keeps doing what it did when the service's code moves on.

Revision ID: credit_0003
Revises: credit_0002
Create Date: 2026-12-07 07:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "credit_0003"
down_revision = "credit_0002"
branch_labels = None
depends_on = None

BATCH = 10_000
KEY_LENGTH = 120  # credit_name_keys.key


def _date_parts(value: str) -> tuple[int, ...]:
    parts: list[int] = []
    for piece in value.strip()[:10].split("-"):
        if not piece.isdigit():
            break
        parts.append(int(piece))
    return tuple(parts)


def _birth_keys(joined_key: str, birth_date: str) -> list[str]:
    parts = _date_parts(birth_date)
    if not parts:
        return []
    name, year = joined_key[2:], f"{parts[0]:04d}"
    keys = [f"jy:{name}|{year}"]
    if len(parts) == 3:
        keys.append(f"jd:{name}|{year}-{parts[1]:02d}-{parts[2]:02d}")
    return [k[:KEY_LENGTH] for k in keys]


def upgrade() -> None:
    bind = op.get_bind()
    joined = sa.text(
        "SELECT k.key, k.subject_id, s.birth_date FROM credit_name_keys k "
        "JOIN credit_subjects s ON s.id = k.subject_id "
        "WHERE k.key LIKE 'j:%' AND s.birth_date IS NOT NULL AND s.birth_date <> ''"
    )
    insert = sa.text("INSERT INTO credit_name_keys (key, subject_id) VALUES (:key, :subject_id)")
    rows = bind.execute(joined).all()
    pairs = sorted({(key, subject_id) for j, subject_id, born in rows for key in _birth_keys(j, born)})
    for start in range(0, len(pairs), BATCH):
        chunk = pairs[start : start + BATCH]
        bind.execute(insert, [{"key": key, "subject_id": subject_id} for key, subject_id in chunk])
    op.execute(
        "INSERT INTO credit_name_key_counts (key, postings) SELECT key, count(*) FROM credit_name_keys "
        "WHERE key LIKE 'jy:%' OR key LIKE 'jd:%' GROUP BY key"
    )


def downgrade() -> None:
    op.execute("DELETE FROM credit_name_keys WHERE key LIKE 'jy:%' OR key LIKE 'jd:%'")
    op.execute("DELETE FROM credit_name_key_counts WHERE key LIKE 'jy:%' OR key LIKE 'jd:%'")
