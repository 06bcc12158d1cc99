"""Developer-experience survey exports (CSV, XLSX) -> `raw_survey`: validated, anonymous, loaded once.

The loader is split by concern: `pipelines.survey_files` finds the files and reads their rows as a
stream, `pipelines.survey_rows` validates the rows (answers, waves, teams, duplicates) and bounds the
quarantine, and this module is the dlt source and the load. The names other code uses stay importable
from here.

Files come from the org config: every `*.csv`, `*.tsv`, `*.txt` and `*.xlsx` under `surveys.folder`
plus the files listed in `surveys.files` (both relative to the org config's folder). A file is known by
its name: its path relative to the survey folder (or to the org config's folder when it lies outside).

Shapes (detected from the header row, names matched ignoring case, spaces, `-` and `_`):
- *long*: respondent, submitted_at, team, question_id (or question), value (or answer); one row per answer.
- *wide*: one row per respondent, one column per question, as survey tools export. A column matches a
  catalogue question by its id or by the question's exact text (ignoring case and runs of whitespace).
Respondent, date, team and wave columns are recognised by the aliases in `ROLE_ALIASES`.

CSV: UTF-8 with or without BOM (UTF-16 with BOM too), delimiter `,` `;` tab or `|` (the most frequent
one in the header line), quoted fields may hold newlines. XLSX: the first worksheet, header in row 1.
Row numbers are the file's record numbers, header = row 1 (for XLSX: the sheet's row number).

Rules:
- One bad file never blocks the others: a file that cannot be read as a whole (format, encoding, no
  respondent column, no wave) is quarantined as a file (reason `invalid_file`, source_row 0, source_column
  `(file)`, the error as detail), is reported as skipped (`load()`'s `skipped`, the run's summary and exit
  code), and the other files land. Rows an earlier, readable version of that file landed stay until it
  is fixed or removed. It is read again on every load until then.
- Wave: `surveys.wave` of the org config, else a `wave` column, else the file name (`2025-Q3`,
  `2025_q3`, `Q3-2025` -> 2025-Q3; `2025-09` -> 2025-09), else the year-quarter of the file's median
  submission date. A file whose wave cannot be told is quarantined as a file.
- Values: likert_1_5 whole numbers 1-5 (the usual agreement labels "strongly disagree" .. "strongly
  agree" are read as 1-5), scale_0_10 whole numbers 0-10, yes_no yes/no/true/false/y/n/1/0 -> 1/0.
  The raw answer is stored: reverse scoring is applied by the marts, never here.
- Team: the file's team column (matched case-insensitively to the org config's team names), else the
  team whose `members` list holds the respondent's identity.
- Every rejected value is quarantined, never dropped, with file, row, column, a reason code, a detail and
  `value_count`; one quarantine row stands for a rejected file, column, row or single value (see
  `pipelines.survey_rows`), so the quarantine stays small whatever the export holds. Reasons:
  `invalid_file`, `missing_respondent`, `missing_team`, `unknown_team`, `unknown_question`, `non_numeric`,
  `out_of_scale`, `invalid_submitted_at` (the answers still land, without a date), `malformed_row` (cells
  beyond the header), `formula_without_value` (an XLSX formula cell saved without its computed value),
  `duplicate_submission`, `duplicate_answer`.
- Duplicate submissions: one respondent submits twice in one wave -> the latest `submitted_at` wins
  (a tie or missing dates: the one read last wins; rows already landed from other files lose ties);
  every row of the losing submission is quarantined as `duplicate_submission`, also when the loser
  was landed by an earlier load from another file (it moves from `responses` to `quarantine`).
- Privacy: respondent identities (e-mail or tool id) are salted hashes (`privacy.Pseudonymiser`)
  before anything is yielded; the raw identity never lands. Quarantine keeps the rejected raw value
  (at most 60 characters) for answers to catalogue questions and for scale-like values only; other
  text is withheld. Free text: a column (or long-shape question id) that is not in the catalogue and
  whose header starts with "comment" or "free text" is free text. It lands in the restricted raw table
  `free_text_answers` only when `surveys.load_free_text` is true (no dbt source declares that table);
  otherwise it is counted as skipped and not stored anywhere.
- Loaded once: `files` records each file's SHA-256. The same name with the same hash is skipped; a new
  hash replaces every row the file's earlier version landed (responses, quarantine, free text).
  `surveys.load_free_text` and catalogue changes apply to new or changed files; set
  `SOURCES__SURVEY__RELOAD_ALL=true` to re-read every file.
- A file that left the folder (or the list): every row it landed is removed on the next load (responses,
  quarantine, free text, files), and that load re-reads the remaining files so that the submissions it
  had superseded come back.
- Memory: files are read as streams and the accepted answers wait in a temporary file until dlt takes
  them; a long-shape file's answers are held per file while it is read.
- The catalogue in use lands as `questions` (replaced on every load).
- A submission is a wide row, or the long rows sharing respondent, wave and `submitted_at`; dates
  without an offset are UTC.

Tables of `raw_survey` (dlt resources, Dagster keys `dlt_survey_<table>`): `responses`, `quarantine`,
`files`, `questions` and, only when enabled, `free_text_answers`.

Entry points: `load(org, org_dir, target)` for the CLI (its counts carry `skipped`: one line per file
quarantined as a whole); for an orchestrator that runs the dlt source itself:
`batch = prepare(org, org_dir, pipeline)`, run `survey_source(batch)`, then `finish(pipeline, batch)`
(removes the rows the new versions replace and those of files that left). `python -m pipelines.survey
org.yml` loads on its own and logs the summary (accepted, quarantined by reason, skipped files).
"""

from __future__ import annotations

import argparse
import logging
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dlt
from dlt.destinations.exceptions import DatabaseUndefinedRelation

from pipelines.loadresult import LoadCounts
from pipelines.orgconfig import OrgConfig, load_org_config
from pipelines.privacy import Pseudonymiser
from pipelines.settings import make_pipeline, run_pipeline
from pipelines.survey_files import (
    DELIMITERS,
    SUPPORTED_SUFFIXES,
    RawTable,
    SurveyFile,
    SurveyFileError,
    discover_files,
    file_hash,
    read_csv,
    read_table,
    read_xlsx,
)
from pipelines.survey_rows import (
    FREE_TEXT_PREFIXES,
    LIKERT_LABELS,
    QUARANTINE_REASONS,
    QUARANTINE_VALUE_MAX,
    ROLE_ALIASES,
    SCALE_RANGES,
    YES_NO,
    AnswerSpill,
    Catalogue,
    FileValidator,
    ParsedFile,
    Quarantine,
    Submission,
    parse_timestamp,
    parse_value,
    resolve_duplicates,
    wave_from_dates,
    wave_from_name,
)

log = logging.getLogger("flowmart.survey")

SOURCE_NAME = "survey"

RESPONSE_COLUMNS = {
    "respondent_id": {"data_type": "text", "nullable": False},
    "wave": {"data_type": "text", "nullable": False},
    "team": {"data_type": "text", "nullable": False},
    "question_id": {"data_type": "text", "nullable": False},
    "value": {"data_type": "bigint", "nullable": False},
    "submitted_at": {"data_type": "timestamp", "nullable": True},
    "source_file": {"data_type": "text", "nullable": False},
    "source_row": {"data_type": "bigint", "nullable": False},
    "source_column": {"data_type": "text", "nullable": False},
    "loaded_at": {"data_type": "timestamp", "nullable": False},
}
QUARANTINE_COLUMNS = {
    "source_file": {"data_type": "text", "nullable": False},
    "source_row": {"data_type": "bigint", "nullable": False},
    "source_column": {"data_type": "text", "nullable": False},
    "reason": {"data_type": "text", "nullable": False},
    "detail": {"data_type": "text", "nullable": False},
    "value": {"data_type": "text", "nullable": True},
    "value_count": {"data_type": "bigint", "nullable": True},
    "respondent_id": {"data_type": "text", "nullable": True},
    "wave": {"data_type": "text", "nullable": True},
    "team": {"data_type": "text", "nullable": True},
    "question_id": {"data_type": "text", "nullable": True},
    "submitted_at": {"data_type": "timestamp", "nullable": True},
    "loaded_at": {"data_type": "timestamp", "nullable": False},
}
FREE_TEXT_COLUMNS = {
    "source_file": {"data_type": "text", "nullable": False},
    "source_row": {"data_type": "bigint", "nullable": False},
    "source_column": {"data_type": "text", "nullable": False},
    "respondent_id": {"data_type": "text", "nullable": True},
    "wave": {"data_type": "text", "nullable": True},
    "team": {"data_type": "text", "nullable": True},
    "submitted_at": {"data_type": "timestamp", "nullable": True},
    "answer_text": {"data_type": "text", "nullable": False},
    "loaded_at": {"data_type": "timestamp", "nullable": False},
}
FILE_COLUMNS = {
    "source_file": {"data_type": "text", "nullable": False},
    "content_hash": {"data_type": "text", "nullable": False},
    "file_format": {"data_type": "text", "nullable": False},
    "shape": {"data_type": "text", "nullable": False},
    "waves": {"data_type": "text", "nullable": True},
    "rows_read": {"data_type": "bigint", "nullable": False},
    "values_accepted": {"data_type": "bigint", "nullable": False},
    "values_quarantined": {"data_type": "bigint", "nullable": False},
    "free_text_loaded": {"data_type": "bigint", "nullable": False},
    "free_text_skipped": {"data_type": "bigint", "nullable": False},
    "loaded_at": {"data_type": "timestamp", "nullable": False},
}
QUESTION_COLUMNS = {
    "question_id": {"data_type": "text", "nullable": False},
    "question_text": {"data_type": "text", "nullable": False},
    "dimension": {"data_type": "text", "nullable": False},
    "scale": {"data_type": "text", "nullable": False},
    "scale_min": {"data_type": "bigint", "nullable": False},
    "scale_max": {"data_type": "bigint", "nullable": False},
    "reverse_scored": {"data_type": "bool", "nullable": False},
}
# tables whose rows belong to one source file (replaced when the file changes, removed when it leaves)
FILE_TABLES = ("responses", "quarantine", "free_text_answers")


def _query(pipeline: dlt.Pipeline, sql: str, *args: Any) -> list[tuple]:
    """Rows of a query on the destination; [] when the dataset or table does not exist yet."""
    try:
        with pipeline.sql_client() as client:
            table = re.search(r"\{(\w+)\}", sql)
            if table:
                sql = sql.replace(table.group(0), client.make_qualified_table_name(table.group(1)))
            return list(client.execute_sql(sql, *args) or [])
    except DatabaseUndefinedRelation:
        return []


@dataclass
class SurveyBatch:
    """Everything one load lands, computed before anything is written (the accepted answers wait in
    `spill`; `winners` says which of them land)."""

    catalogue: Catalogue
    load_free_text: bool
    loaded_at: datetime
    files: list[ParsedFile] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)  # file quarantined as a whole -> why
    gone: list[str] = field(default_factory=list)  # files of earlier loads that left the folder
    winners: list[Submission] = field(default_factory=list)
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    superseded: list[Submission] = field(default_factory=list)
    spill: AnswerSpill | None = None

    @property
    def changed_names(self) -> list[str]:
        return [f.name for f in self.files]

    @property
    def response_count(self) -> int:
        return sum(s.answer_count for s in self.winners)

    def responses(self) -> Iterator[dict[str, Any]]:
        """The accepted answers of the winning submissions, read back from the spill."""
        if self.spill is None or not self.winners:
            return
        by_id = {s.spill_id: s for s in self.winners}
        for spill_id, answers in self.spill.read():
            sub = by_id.get(spill_id)
            if sub is None:
                continue
            for question_id, value, row, column in answers:
                yield {
                    "respondent_id": sub.respondent_id, "wave": sub.wave, "team": sub.team,
                    "question_id": question_id, "value": value, "submitted_at": sub.submitted_at,
                    "source_file": sub.source_file, "source_row": row, "source_column": column,
                }


def _invalid_file(name: str, message: str) -> dict[str, Any]:
    return {
        "source_file": name, "source_row": 0, "source_column": "(file)", "reason": "invalid_file",
        "detail": message[:1000], "value": None, "value_count": None, "respondent_id": None, "wave": None,
        "team": None, "question_id": None, "submitted_at": None,
    }


def _existing_submissions(pipeline: dlt.Pipeline, waves: list[str], exclude: list[str]) -> list[Submission]:
    """The submissions earlier loads landed in these waves from other files (their rows and counts)."""
    if not waves:
        return []
    rows = _query(
        pipeline,
        "select respondent_id, wave, team, submitted_at, source_file, source_row, count(*) from {responses} "
        f"where wave in ({', '.join(['%s'] * len(waves))}) "
        f"and source_file not in ({', '.join(['%s'] * len(exclude))}) "
        "group by respondent_id, wave, team, submitted_at, source_file, source_row",
        *waves, *exclude,
    ) if exclude else _query(
        pipeline,
        "select respondent_id, wave, team, submitted_at, source_file, source_row, count(*) from {responses} "
        f"where wave in ({', '.join(['%s'] * len(waves))}) "
        "group by respondent_id, wave, team, submitted_at, source_file, source_row",
        *waves,
    )
    by_sub: dict[tuple, Submission] = {}
    for respondent, wave, team, submitted, source_file, row, count in sorted(rows, key=lambda r: (r[4], r[5])):
        if isinstance(submitted, datetime) and submitted.tzinfo is None:
            submitted = submitted.replace(tzinfo=UTC)
        key = (respondent, wave, source_file)
        sub = by_sub.get(key)
        if sub is None:
            sub = by_sub[key] = Submission(source_file, (-1, row), respondent, wave, team, submitted)
        sub.rows += ((row, int(count)),)
    return list(by_sub.values())


def prepare(org: OrgConfig, org_dir: Path, pipeline: dlt.Pipeline, reload_all: bool | None = None) -> SurveyBatch:
    """Read and validate the new or changed files before anything lands; a file that cannot be read as a
    whole is quarantined as a file (`batch.rejected`) and the others go on."""
    if reload_all is None:
        reload_all = bool(dlt.config.get("sources.survey.reload_all", bool) or False)
    catalogue = Catalogue(org.surveys.questions)
    load_free_text = bool(getattr(org.surveys, "load_free_text", False))
    batch = SurveyBatch(catalogue, load_free_text, datetime.now(UTC), spill=AnswerSpill())
    files = discover_files(org, Path(org_dir))
    present = {f.name for f in files}
    earlier = {name for (name,) in _query(pipeline, "select source_file from {files}")}
    earlier |= {name for (name,) in _query(pipeline, "select distinct source_file from {quarantine}")}
    batch.gone = sorted(earlier - present)
    if batch.gone:
        log.info("survey files no longer there, their rows are removed: %s", ", ".join(batch.gone))
        reload_all = True  # the submissions a removed file superseded come back
    known = {} if reload_all else dict(_query(pipeline, "select source_file, content_hash from {files}"))
    validator = FileValidator(org, catalogue, Pseudonymiser(), load_free_text)
    for position, survey_file in enumerate(files):
        content_hash = file_hash(survey_file.path)
        if known.get(survey_file.name) == content_hash:
            batch.unchanged.append(survey_file.name)
            log.info("survey file %s: unchanged since its last load, skipped", survey_file.name)
            continue
        try:
            table = read_table(survey_file.path, survey_file.name)
            parsed = validator.validate(table, survey_file.name, content_hash, position, batch.spill)
        except SurveyFileError as exc:
            batch.rejected[survey_file.name] = str(exc)
            log.warning("survey file %s quarantined as a whole, the other files load: %s", survey_file.name, exc)
            continue
        batch.files.append(parsed)

    incoming = [s for f in batch.files for s in f.submissions]
    existing = _existing_submissions(pipeline, sorted({s.wave for s in incoming}), batch.changed_names + batch.gone)
    batch.winners, dup_quarantine, batch.superseded = resolve_duplicates(incoming, existing)
    by_file = {f.name: f for f in batch.files}
    earlier_losers = Quarantine()
    for row in dup_quarantine:
        if row["source_file"] in by_file:
            by_file[row["source_file"]].quarantine.extend([row])
        else:
            earlier_losers.extend([row])  # rows of an earlier load that lost to a newer submission
    for parsed in batch.files:
        batch.quarantine.extend(parsed.quarantine)
    batch.quarantine.extend(earlier_losers)
    batch.quarantine.extend(_invalid_file(name, message) for name, message in batch.rejected.items())
    return batch


def _stamp(rows: Iterable[dict[str, Any]], loaded_at: datetime) -> Iterator[Any]:
    yield dlt.mark.materialize_table_schema()
    for row in rows:
        yield row | {"loaded_at": loaded_at}


def _file_rows(batch: SurveyBatch) -> Iterator[dict[str, Any]]:
    accepted: Counter[str] = Counter()
    for sub in batch.winners:
        accepted[sub.source_file] += sub.answer_count
    quarantined: Counter[str] = Counter()
    for row in batch.quarantine:
        quarantined[row["source_file"]] += row["value_count"] or 0
    for parsed in batch.files:
        yield {
            "source_file": parsed.name,
            "content_hash": parsed.content_hash,
            "file_format": parsed.file_format,
            "shape": parsed.shape,
            "waves": ",".join(sorted(parsed.waves)) or None,
            "rows_read": parsed.rows_read,
            "values_accepted": accepted[parsed.name],
            "values_quarantined": quarantined[parsed.name],
            "free_text_loaded": len(parsed.free_text),
            "free_text_skipped": parsed.free_text_skipped,
            "loaded_at": batch.loaded_at,
        }


@dlt.source(name=SOURCE_NAME, max_table_nesting=0)
def survey_source(batch: SurveyBatch | None = None) -> list[Any]:
    """The survey tables of one prepared batch (an empty batch declares the resources, for Dagster)."""
    if batch is None:
        batch = SurveyBatch(Catalogue([]), False, datetime.now(UTC))
    file_key = ["source_file", "source_row", "source_column"]
    resources = [
        dlt.resource(
            _stamp(batch.responses(), batch.loaded_at), name="responses", columns=RESPONSE_COLUMNS,
            merge_key="source_file", write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        ),
        dlt.resource(
            _stamp(batch.quarantine, batch.loaded_at), name="quarantine", columns=QUARANTINE_COLUMNS,
            primary_key=file_key, write_disposition="merge",
        ),
        dlt.resource(
            _file_rows(batch), name="files", columns=FILE_COLUMNS, primary_key=["source_file"],
            write_disposition="merge",
        ),
        dlt.resource(
            batch.catalogue.rows(), name="questions", columns=QUESTION_COLUMNS, primary_key=["question_id"],
            write_disposition="replace",
        ),
    ]
    if batch.load_free_text:
        resources.append(
            dlt.resource(
                _stamp([r for f in batch.files for r in f.free_text], batch.loaded_at),
                # append, not merge: a merge would leave a copy of the text in the staging dataset
                # (raw_survey_staging); re-loads stay exact because finish() drops the earlier rows
                name="free_text_answers", columns=FREE_TEXT_COLUMNS, write_disposition="append",
            )
        )
    return resources


def finish(pipeline: dlt.Pipeline, batch: SurveyBatch, load_ids: list[str] | None = None) -> dict[str, int]:
    """After a successful run: drop what the changed files' earlier versions landed, every row of the
    files that left the folder, and the rows of earlier loads that lost to a newer submission. Returns
    rows deleted per table.

    `load_ids` default to those of the pipeline's last run (e.g. after a Dagster `dlt.run`)."""
    deleted: dict[str, int] = {}
    if batch.spill is not None:
        batch.spill.close()
    if load_ids is None:
        trace = pipeline.last_trace
        load_ids = list(trace.last_load_info.loads_ids) if trace and trace.last_load_info else []
    if not load_ids or not (batch.files or batch.superseded or batch.gone):
        return deleted
    load_id = load_ids[-1]

    def delete(client: Any, table: str, where: str, *args: Any) -> None:
        qualified = client.make_qualified_table_name(table)
        try:
            count = client.execute_sql(f"select count(*) from {qualified} where {where}", *args)[0][0]
            if count:
                client.execute_sql(f"delete from {qualified} where {where}", *args)
                deleted[table] = deleted.get(table, 0) + count
        except DatabaseUndefinedRelation:
            pass

    with pipeline.sql_client() as client:
        for table in FILE_TABLES:
            for name in batch.changed_names:
                delete(client, table, "source_file = %s and _dlt_load_id <> %s", name, load_id)
        for table in (*FILE_TABLES, "files"):
            for name in batch.gone:
                delete(client, table, "source_file = %s", name)
        for sub in batch.superseded:
            delete(client, "responses", "source_file = %s and respondent_id = %s and wave = %s and _dlt_load_id <> %s",
                   sub.source_file, sub.respondent_id, sub.wave, load_id)
    return deleted


def load(org: OrgConfig, org_dir: Path, target: str | None = None) -> LoadCounts:
    """Load new and changed survey files; returns rows landed per table (unchanged files land nothing),
    with `skipped` naming each file quarantined as a whole (the others landed)."""
    pipeline = make_pipeline(SOURCE_NAME, target)
    batch = prepare(org, Path(org_dir), pipeline)
    try:
        info = run_pipeline(pipeline, survey_source(batch), target)
        info.raise_on_failed_jobs()
        deleted = finish(pipeline, batch, list(info.loads_ids))
    finally:
        if batch.spill is not None:
            batch.spill.close()
    counts = {
        "responses": batch.response_count,
        "quarantine": len(batch.quarantine),
        "files": len(batch.files),
        "questions": len(batch.catalogue.questions),
    }
    if batch.load_free_text:
        counts["free_text_answers"] = sum(len(f.free_text) for f in batch.files)
    reasons = Counter()
    for row in batch.quarantine:
        reasons[row["reason"]] += row["value_count"] or 1
    log.info(
        "survey load: %d file(s) loaded, %d unchanged and skipped, %d quarantined as a whole, %d gone; accepted "
        "%d values, quarantined %d rows%s; free text %s; rows removed (earlier versions, gone files): %s",
        len(batch.files), len(batch.unchanged), len(batch.rejected), len(batch.gone), counts["responses"],
        counts["quarantine"],
        f" ({', '.join(f'{k} {v}' for k, v in sorted(reasons.items()))})" if reasons else "",
        f"{counts.get('free_text_answers', 0)} loaded" if batch.load_free_text
        else f"{sum(f.free_text_skipped for f in batch.files)} skipped (surveys.load_free_text is false)",
        deleted or "none",
    )
    for parsed in batch.files:
        log.info("survey file %s (%s, %s shape): %d rows, %d quarantine rows", parsed.name, parsed.file_format,
                 parsed.shape, parsed.rows_read, len(parsed.quarantine))
    skipped = [f"survey file {message}" if message.startswith(name) else f"survey file {name}: {message}"
               for name, message in batch.rejected.items()]
    return LoadCounts(counts, skipped=skipped)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Load developer-experience survey exports into raw_survey.")
    parser.add_argument("org_config", nargs="?", default="org.yml", help="the org config file (default org.yml)")
    parser.add_argument("--target", choices=["duckdb", "postgres"], default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    path = Path(args.org_config)
    counts = load(load_org_config(path), path.resolve().parent, args.target)
    print(dict(counts))
    for line in counts.skipped:
        print(f"SKIPPED: {line}")


__all__ = [
    "DELIMITERS", "FILE_TABLES", "FREE_TEXT_PREFIXES", "LIKERT_LABELS", "QUARANTINE_REASONS",
    "QUARANTINE_VALUE_MAX", "ROLE_ALIASES", "SCALE_RANGES", "SOURCE_NAME", "SUPPORTED_SUFFIXES", "YES_NO",
    "Catalogue", "FileValidator", "ParsedFile", "RawTable", "Submission", "SurveyBatch", "SurveyFile",
    "SurveyFileError", "discover_files", "finish", "load", "parse_timestamp", "parse_value", "prepare",
    "read_csv", "read_table", "read_xlsx", "resolve_duplicates", "survey_source", "wave_from_dates",
    "wave_from_name",
]


if __name__ == "__main__":
    main()
