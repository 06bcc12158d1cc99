"""A full refresh of a source that replaces its raw tables only when the new load completed.

The loader runs as usual, but its pipeline lands in `aside_raw_<source>` with fresh dlt state (cursors,
known files) in its own working folder (`settings.loading_aside`). When that load completed, one
transaction replaces the rows of every table of `raw_<source>` with those of the aside dataset (adding
new columns; views on the raw tables stay), then the aside dlt state becomes the pipeline's. A load that
fails, or a run that is killed, leaves `raw_<source>` and its dlt state exactly as they were; the next
load of the source drops what the failed one left aside."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from typing import Any

from pipelines.settings import loading_aside, make_pipeline, pipelines_dir

log = logging.getLogger("flowmart")


class RefreshError(RuntimeError):
    """A full refresh that did not complete; the source's raw tables are as they were before it."""


def full_refresh(source: str, target: str, load: Callable[[], dict[str, int]]) -> dict[str, int]:
    """Run `load()` aside, then swap its tables in. Raises RefreshError when the load fails."""
    discard(source, target)  # what an interrupted refresh left aside
    try:
        with loading_aside(source):
            counts = load()
        swap(source, target)  # one transaction: all of it, or (an error, a signal) none of it
    except Exception as exc:
        discard(source, target)
        raise RefreshError(f"the full refresh of {source} did not complete, raw_{source} is kept as it was "
                           f"before it: {_first_cause(exc)}") from exc
    except BaseException:  # Ctrl-C, SIGTERM: the raw tables are untouched; tidy up what is cheap to tidy
        discard(source, target)
        raise
    adopt_state(source, target)
    return counts


def _first_cause(exc: BaseException) -> str:
    """The message of the first flowmart error behind `exc` (a loader's own wrapper speaks of a plain load, e.g.
    "earlier pages were kept"), else what console.describe says."""
    from orchestration.console import describe

    found, chain, seen = None, exc, set()
    while chain is not None and id(chain) not in seen:
        seen.add(id(chain))
        if type(chain).__module__.startswith(("pipelines.", "orchestration.")):
            found = chain
        chain = chain.__cause__ or chain.__context__
    return str(found) if found is not None else describe(exc)


def discard_leftovers(source: str, target: str) -> None:
    """Before a plain load: drop what a full refresh that was killed left aside (its copies of the rows)."""
    if (pipelines_dir() / "aside" / f"flowmart_{source}_{target}").exists():
        log.info("dropping what an interrupted full refresh of %s left aside", source)
        discard(source, target)


def _pipelines(source: str, target: str) -> tuple[Any, Any]:
    with loading_aside(source):
        aside = make_pipeline(source, target)
    return make_pipeline(source, target), aside


def _tables(client: Any, schema: str) -> dict[str, list[tuple[str, str]]]:
    """table -> [(column, type)] of the base tables of `schema`."""
    rows = client.execute_sql(
        "select c.table_name, c.column_name, c.data_type from information_schema.columns c "
        "join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name "
        "where c.table_schema = %s and t.table_type = 'BASE TABLE' order by c.table_name, c.ordinal_position",
        schema) or []
    tables: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in rows:
        tables.setdefault(table, []).append((column, data_type))
    return tables


def swap(source: str, target: str) -> None:
    """In one transaction: every table of raw_<source> gets the rows of its aside twin (new columns are added,
    a table only the aside has is created, a table the aside lacks is emptied) and the aside datasets are
    dropped."""
    main, aside = _pipelines(source, target)
    with main.sql_client() as client:
        q = client.escape_column_name
        raw, new = q(main.dataset_name), q(aside.dataset_name)
        old_tables = _tables(client, main.dataset_name)
        new_tables = _tables(client, aside.dataset_name)
        with client.begin_transaction():
            client.execute_sql(f"create schema if not exists {raw}")
            for table, columns in new_tables.items():
                if table not in old_tables:
                    client.execute_sql(f"create table {raw}.{q(table)} as select * from {new}.{q(table)}")
                    continue
                known = {name for name, _ in old_tables[table]}
                for name, data_type in columns:
                    if name not in known:
                        client.execute_sql(f"alter table {raw}.{q(table)} add column {q(name)} {data_type}")
                names = ", ".join(q(name) for name, _ in columns)
                client.execute_sql(f"delete from {raw}.{q(table)}")
                client.execute_sql(f"insert into {raw}.{q(table)} ({names}) select {names} from {new}.{q(table)}")
            for table in old_tables.keys() - new_tables.keys():
                client.execute_sql(f"delete from {raw}.{q(table)}")
            for dataset in (aside.dataset_name, f"{aside.dataset_name}_staging"):
                client.execute_sql(f"drop schema if exists {q(dataset)} cascade")
    log.info("full refresh of %s: raw_%s replaced by the completed load (%d tables)", source, source,
             len(new_tables))


def adopt_state(source: str, target: str) -> None:
    """After the swap: the aside dlt state (cursors, schema) becomes the pipeline's."""
    main, aside = _pipelines(source, target)
    shutil.rmtree(main.working_dir, ignore_errors=True)
    shutil.move(aside.working_dir, main.working_dir)


def discard(source: str, target: str) -> None:
    """Drop the aside datasets and the aside dlt state of `source`, if any."""
    main, aside = _pipelines(source, target)
    with main.sql_client() as client:
        for dataset in (aside.dataset_name, f"{aside.dataset_name}_staging"):
            client.execute_sql(f"drop schema if exists {client.escape_column_name(dataset)} cascade")
    shutil.rmtree(aside.working_dir, ignore_errors=True)
