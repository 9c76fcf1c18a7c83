"""Credit's data migrations: what they add to a database indexed before them."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, text

from civicbrain.migrations.runner import upgrade_engine


def test_birth_date_keys_are_added_for_subjects_indexed_before_them(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'before.db'}")
    upgrade_engine(engine, "credit_0002")  # name keys and their counts, no birth-date keys yet
    with engine.begin() as conn:
        for subject_id, birth_date in (("p1", "1980-05-05"), ("p2", "1980"), ("p3", None)):
            conn.execute(
                text(
                    "INSERT INTO credit_subjects (id, kind, name, aliases, birth_date, names_indexed, created_at) "
                    "VALUES (:id, 'person', 'Zhang Wei', '[]', :born, 1, '2026-01-01')"
                ),
                {"id": subject_id, "born": birth_date},
            )
            for key in ("j:zhangwei", "t:zhang"):
                conn.execute(
                    text("INSERT INTO credit_name_keys (key, subject_id) VALUES (:k, :s)"), {"k": key, "s": subject_id}
                )
        conn.execute(
            text("INSERT INTO credit_name_key_counts (key, postings) VALUES ('j:zhangwei', 3), ('t:zhang', 3)")
        )
    upgrade_engine(engine)
    with engine.connect() as conn:
        keys = set(conn.execute(text("SELECT key, subject_id FROM credit_name_keys WHERE key LIKE 'j%:%|%'")).all())
        counts = dict(conn.execute(text("SELECT key, postings FROM credit_name_key_counts")).all())
    engine.dispose()
    assert keys == {
        ("jy:zhangwei|1980", "p1"),
        ("jd:zhangwei|1980-05-05", "p1"),
        ("jy:zhangwei|1980", "p2"),  # a year alone qualifies by year
    }
    assert counts == {"j:zhangwei": 3, "t:zhang": 3, "jy:zhangwei|1980": 2, "jd:zhangwei|1980-05-05": 1}
