"""A warehouse loaded once from the sample, made to look as if it had been loaded every day.

The Jira loader stamps each issue, with its changelog, labels and components, with the start of the load
that wrote it (`loaded_at`), and the rows of each load are stored after those of the loads before. The daily
runs lean on that: their data tests read the rows of the latest loads, and the status models read the
changelog of the changed issues from the row groups of the latest loads. A warehouse loaded once from the
sample, minutes before a test or a benchmark does "a day of work", has every row in one load instead, so
those daily paths would read everything (or, for the tests, prove nothing). This restamps it.
"""

from __future__ import annotations

from pathlib import Path

STAMPED_TABLES = ("issues", "changelog_items", "issue_labels", "issue_components")


def stamp_as_daily_loads(warehouse: Path, schema: str = "raw_jira") -> None:
    """Stamp every issue (and its child rows) as loaded at the midnight (UTC) after its last update, the
    calendar shifted so the newest update is stamped at today's midnight, before any load run today; and
    store each table's rows in the order of those stamps, as successive daily loads would have."""
    import duckdb

    conn = duckdb.connect(str(warehouse))
    try:
        newest = f"(select max(date_trunc('day', timezone('UTC', updated))) from {schema}.issues)"
        conn.execute(f"update {schema}.issues set loaded_at = date_trunc('day', timezone('UTC', updated)) "
                     f"+ (current_date - cast({newest} as date)) * interval 1 day")
        for table in STAMPED_TABLES[1:]:
            conn.execute(f"update {schema}.{table} as child set loaded_at = issues.loaded_at "
                         f"from {schema}.issues where issues.id = child.issue_id")
        for table in STAMPED_TABLES:
            conn.execute(f"create temporary table reordered as select * from {schema}.{table} order by loaded_at")
            conn.execute(f"delete from {schema}.{table}")
            conn.execute(f"insert into {schema}.{table} select * from reordered")
            conn.execute("drop table reordered")
        conn.execute("checkpoint")
    finally:
        conn.close()
