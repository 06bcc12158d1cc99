"""The survey loader against real files (CSV with BOM and semicolons, quoted newlines, XLSX wide exports,
bad rows, re-loads, corrected files) loading into a real DuckDB file, and the survey staging models
built with dbt on top of it."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import openpyxl
import pytest

from pipelines import survey
from pipelines.orgconfig import parse_org_config
from pipelines.privacy import Pseudonymiser
from pipelines.sample import survey_data
from pipelines.sample.world import SENTIMENT_DROP_TEAM, build_world
from pipelines.settings import DBT_PROJECT_DIR, PROJECT_ROOT

SALT = "survey-test-salt"
PSEUDO = Pseudonymiser(SALT)

QUESTIONS = [
    {"id": "focus", "text": "I have enough time for focused work.", "dimension": "deep_work"},
    {
        "id": "waiting", "text": "I often wait on other teams to ship.", "dimension": "ease_of_release",
        "reverse_scored": True,
    },
    {"id": "ai_used", "text": "I used AI assistants last month.", "dimension": "ai_usage", "scale": "yes_no"},
    {"id": "enps", "text": "Would you recommend your team?", "dimension": "enps", "scale": "scale_0_10"},
]


def org_config(**surveys):
    return parse_org_config(
        {
            "value_streams": [{"name": "Core"}],
            "teams": [
                {"name": "alpha", "value_stream": "Core", "members": ["dana@acme.example"]},
                {"name": "beta", "value_stream": "Core"},
            ],
            "surveys": {"folder": "surveys", "questions": QUESTIONS} | surveys,
        }
    )


@pytest.fixture
def warehouse(tmp_path, monkeypatch):
    """A private DuckDB file and dlt folder; the survey folder is tmp_path/surveys."""
    monkeypatch.setenv("FLOWMART_DUCKDB_PATH", str(tmp_path / "wh.duckdb"))
    monkeypatch.setenv("FLOWMART_PIPELINES_DIR", str(tmp_path / "dlt"))
    monkeypatch.setenv("FLOWMART__PSEUDONYM_SALT", SALT)
    monkeypatch.delenv("SOURCES__SURVEY__RELOAD_ALL", raising=False)
    monkeypatch.delenv("FLOWMART_TARGET", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "surveys").mkdir()
    return tmp_path


def query(path: Path, sql: str) -> list[tuple]:
    # same configuration as the connection dbt-duckdb keeps open in this process after a build
    con = duckdb.connect(str(path / "wh.duckdb"))
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def write_csv(path: Path, text: str, bom: bool = False) -> None:
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))


def responses(path: Path) -> set[tuple]:
    return set(query(path, "select respondent_id, wave, team, question_id, value, source_file "
                           "from raw_survey.responses"))


def quarantine(path: Path) -> set[tuple]:
    return set(query(path, "select source_file, source_row, source_column, reason from raw_survey.quarantine"))


# --- parsing rules -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "scale", "expected"),
    [
        ("4", "likert_1_5", 4),
        (5.0, "likert_1_5", 5),
        ("Strongly agree", "likert_1_5", 5),
        ("0", "scale_0_10", 0),
        ("10", "scale_0_10", 10),
        ("Yes", "yes_no", 1),
        ("false", "yes_no", 0),
        ("0", "yes_no", 0),
        ("6", "likert_1_5", "out_of_scale"),
        ("0", "likert_1_5", "out_of_scale"),
        ("3.5", "likert_1_5", "out_of_scale"),
        ("11", "scale_0_10", "out_of_scale"),
        ("2", "yes_no", "out_of_scale"),
        ("N/A", "likert_1_5", "non_numeric"),
        ("maybe", "yes_no", "non_numeric"),
    ],
)
def test_answers_are_read_on_their_scale_or_rejected_with_a_reason(raw, scale, expected):
    value, reason, _detail = survey.parse_value(raw, scale)
    assert (value if reason is None else reason) == expected


@pytest.mark.parametrize(
    ("name", "wave"),
    [
        ("devex-2025-Q3.csv", "2025-Q3"),
        ("pulse_2025_q3.xlsx", "2025-Q3"),
        ("Q1-2026 export.csv", "2026-Q1"),
        ("survey-2025-09.csv", "2025-09"),
        ("survey-export.csv", None),
    ],
)
def test_wave_is_read_from_the_file_name(name, wave):
    assert survey.wave_from_name(name) == wave


def test_submission_dates_are_utc_and_day_or_month_first_by_their_values():
    assert survey.parse_timestamp("2025-08-05T10:00:00+02:00") == datetime(2025, 8, 5, 8, tzinfo=UTC)
    assert survey.parse_timestamp("2025-08-05 10:00") == datetime(2025, 8, 5, 10, tzinfo=UTC)
    assert survey.parse_timestamp("25/08/2025 10:00") == datetime(2025, 8, 25, 10, tzinfo=UTC)
    assert survey.parse_timestamp("08/25/2025 10:00 PM") == datetime(2025, 8, 25, 22, tzinfo=UTC)
    assert survey.parse_timestamp("05.08.2025 10:00") == datetime(2025, 8, 5, 10, tzinfo=UTC)
    assert survey.parse_timestamp("") is None
    with pytest.raises(ValueError):
        survey.parse_timestamp("last tuesday")


# --- loading real files --------------------------------------------------------------------------


def test_semicolon_csv_with_bom_and_quoted_newlines_lands_every_answer_and_free_text_only_when_enabled(warehouse):
    # a European Excel export: BOM, ';', dd.mm.yyyy, a comment spanning lines, a question text with ';'
    write_csv(
        warehouse / "surveys" / "devex-2025-Q3.csv",
        "Respondent Email;Submitted At;Team;I have enough time for focused work.;waiting;"
        "I used AI assistants last month.;Would you recommend your team?;Comments\r\n"
        'ann@acme.example;05.08.2025 10:00;alpha;4;2;Yes;9;"Too many meetings;\r\nplease fix"\r\n'
        "bob@acme.example;06.08.2025 11:30;Beta;5;1;no;10;\r\n"
        "cy@acme.example;07.08.2025 09:00;beta;7;3;yes;8;\r\n",
        bom=True,
    )
    counts = survey.load(org_config(load_free_text=True), warehouse)

    assert counts["responses"] == 11 and counts["quarantine"] == 1 and counts["free_text_answers"] == 1
    ann, bob, cy = PSEUDO("ann@acme.example"), PSEUDO("bob@acme.example"), PSEUDO("cy@acme.example")
    f = "devex-2025-Q3.csv"
    assert responses(warehouse) == {
        (ann, "2025-Q3", "alpha", "focus", 4, f), (ann, "2025-Q3", "alpha", "waiting", 2, f),
        (ann, "2025-Q3", "alpha", "ai_used", 1, f), (ann, "2025-Q3", "alpha", "enps", 9, f),
        (bob, "2025-Q3", "beta", "focus", 5, f), (bob, "2025-Q3", "beta", "waiting", 1, f),
        (bob, "2025-Q3", "beta", "ai_used", 0, f), (bob, "2025-Q3", "beta", "enps", 10, f),
        (cy, "2025-Q3", "beta", "waiting", 3, f), (cy, "2025-Q3", "beta", "ai_used", 1, f),
        (cy, "2025-Q3", "beta", "enps", 8, f),
    }
    # the record after the two-line one is row 4 of the file: rows are records, not lines
    assert quarantine(warehouse) == {(f, 4, "I have enough time for focused work.", "out_of_scale")}
    assert query(warehouse, "select respondent_id, answer_text from raw_survey.free_text_answers") == [
        (ann, "Too many meetings;\r\nplease fix")
    ]
    bob_dates = f"select distinct submitted_at from raw_survey.responses where respondent_id = '{bob}'"
    assert query(warehouse, bob_dates) == [(datetime(2025, 8, 6, 11, 30, tzinfo=UTC),)]


def test_free_text_is_not_stored_anywhere_when_not_enabled(warehouse):
    write_csv(
        warehouse / "surveys" / "devex-2025-Q3.csv",
        'respondent,team,focus,Comments\nann@acme.example,alpha,4,"Secret remark,\nsecond line"\n',
    )
    survey.load(org_config(), warehouse)

    tables = {t for (t,) in query(warehouse, "select table_name from information_schema.tables "
                                             "where table_schema = 'raw_survey'")}
    assert "free_text_answers" not in tables and "responses" in tables
    assert query(warehouse, "select free_text_skipped, values_accepted from raw_survey.files") == [(1, 1)]
    for table in tables:
        assert "Secret remark" not in str(query(warehouse, f"select * from raw_survey.{table}"))


def test_xlsx_wide_export_matches_question_columns_by_id_or_exact_text(warehouse):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Email Address", "Completion time", "Team", "  i have enough time for   FOCUSED work. ",
                  "WAITING", "I used AI assistants last month.", "enps"])
    sheet.append(["ann@acme.example", datetime(2025, 8, 5, 10, 0), "alpha", 3, 4.0, "Yes", 7])
    sheet.append(["bob@acme.example", datetime(2025, 8, 6, 12, 0), "beta", "5", 2, True, 0])
    book.save(warehouse / "surveys" / "pulse_2025_q3.xlsx")

    counts = survey.load(org_config(), warehouse)

    ann, bob, f = PSEUDO("ann@acme.example"), PSEUDO("bob@acme.example"), "pulse_2025_q3.xlsx"
    assert counts["responses"] == 8 and counts["quarantine"] == 0
    assert responses(warehouse) == {
        (ann, "2025-Q3", "alpha", "focus", 3, f), (ann, "2025-Q3", "alpha", "waiting", 4, f),
        (ann, "2025-Q3", "alpha", "ai_used", 1, f), (ann, "2025-Q3", "alpha", "enps", 7, f),
        (bob, "2025-Q3", "beta", "focus", 5, f), (bob, "2025-Q3", "beta", "waiting", 2, f),
        (bob, "2025-Q3", "beta", "ai_used", 1, f), (bob, "2025-Q3", "beta", "enps", 0, f),
    }
    assert query(warehouse, "select shape, file_format from raw_survey.files") == [("wide", "xlsx")]
    assert query(warehouse, "select min(submitted_at) from raw_survey.responses") == [
        (datetime(2025, 8, 5, 10, tzinfo=UTC),)
    ]


def test_long_export_takes_its_wave_from_the_median_submission_date_and_team_from_membership(warehouse):
    write_csv(
        warehouse / "surveys" / "export.csv",
        "respondent,submitted_at,team,question_id,value\n"
        "dana@acme.example,2025-09-29T10:00:00Z,,focus,4\n"
        "dana@acme.example,2025-09-29T10:00:00Z,,enps,8\n"
        "ann@acme.example,2025-10-02T10:00:00Z,beta,I used AI assistants last month.,no\n",
    )
    survey.load(org_config(), warehouse)

    dana, ann = PSEUDO("dana@acme.example"), PSEUDO("ann@acme.example")
    assert responses(warehouse) == {
        (dana, "2025-Q3", "alpha", "focus", 4, "export.csv"),
        (dana, "2025-Q3", "alpha", "enps", 8, "export.csv"),
        (ann, "2025-Q3", "beta", "ai_used", 0, "export.csv"),
    }


BAD_FILE = (
    "respondent,submitted_at,team,focus,waiting,enps,mood\n"
    "ann@acme.example,2025-08-01 09:00,alpha,6,2,11,great\n"  # 2: focus and enps out of scale, unknown question
    "bob@acme.example,2025-08-01 09:00,alpha,lots,3.5,5\n"  # 3: non-numeric, not a whole number
    "cy@acme.example,2025-08-01 09:00,gamma,4,2,7\n"  # 4: unknown team: each value rejected
    ",2025-08-01 09:00,alpha,4,2,7\n"  # 5: missing respondent
    "dee@acme.example,2025-08-01 09:00,alpha,2,2,2\n"  # 6: earlier submission, superseded by row 7
    "dee@acme.example,2025-08-03 09:00,alpha,4,1,9\n"  # 7: the later submission wins
    "eve@acme.example,yesterday,beta,3,3,3,,extra\n"  # 8: bad date (answers kept, undated), cell beyond header
)


def test_every_rejected_value_lands_in_quarantine_with_file_row_column_and_reason(warehouse):
    write_csv(warehouse / "surveys" / "devex-2025-Q3.csv", BAD_FILE)
    counts = survey.load(org_config(), warehouse)

    f = "devex-2025-Q3.csv"
    # one row per rejected value, column (row 1: the header) or row ("(row)"), with the values it stands for
    assert set(query(warehouse, "select source_file, source_row, source_column, reason, value_count "
                                "from raw_survey.quarantine")) == {
        (f, 2, "focus", "out_of_scale", 1), (f, 2, "enps", "out_of_scale", 1), (f, 1, "mood", "unknown_question", 1),
        (f, 3, "focus", "non_numeric", 1), (f, 3, "waiting", "out_of_scale", 1),
        (f, 4, "(row)", "unknown_team", 3),
        (f, 5, "(row)", "missing_respondent", 3),
        (f, 6, "(row)", "duplicate_submission", 3),
        (f, 8, "submitted_at", "invalid_submitted_at", 1), (f, 8, "(column 8)", "malformed_row", 1),
    }
    ann, bob, dee, eve = (PSEUDO(f"{n}@acme.example") for n in ("ann", "bob", "dee", "eve"))
    assert responses(warehouse) == {
        (ann, "2025-Q3", "alpha", "waiting", 2, f), (bob, "2025-Q3", "alpha", "enps", 5, f),
        (dee, "2025-Q3", "alpha", "focus", 4, f), (dee, "2025-Q3", "alpha", "waiting", 1, f),
        (dee, "2025-Q3", "alpha", "enps", 9, f),
        (eve, "2025-Q3", "beta", "focus", 3, f), (eve, "2025-Q3", "beta", "waiting", 3, f),
        (eve, "2025-Q3", "beta", "enps", 3, f),
    }
    assert counts == {"responses": 8, "quarantine": 10, "files": 1, "questions": 4}
    assert counts.skipped == []
    # every one of the 24 non-blank answers is accepted or counted in quarantine
    assert query(warehouse, "select values_accepted, values_quarantined from raw_survey.files") == [(8, 16)]
    # the rejected raw value is kept for catalogue questions, withheld for unknown text columns
    assert query(warehouse, "select source_row, source_column, value from raw_survey.quarantine "
                            "where source_row in (1, 2, 3) order by 1, 2") == [
        (1, "mood", None), (2, "enps", "11"), (2, "focus", "6"), (3, "focus", "lots"), (3, "waiting", "3.5")
    ]
    assert query(warehouse, "select count(*) from raw_survey.responses where submitted_at is null") == [(3,)]


def test_loading_the_same_file_again_is_a_no_op(warehouse):
    write_csv(warehouse / "surveys" / "devex-2025-Q3.csv", BAD_FILE)
    survey.load(org_config(), warehouse)
    tables = ("responses", "quarantine", "files")
    before = {t: query(warehouse, f"select * from raw_survey.{t} order by all") for t in tables}

    again = survey.load(org_config(), warehouse)

    assert again == {"responses": 0, "quarantine": 0, "files": 0, "questions": 4}
    after = {t: query(warehouse, f"select * from raw_survey.{t} order by all") for t in tables}
    assert after == before  # same rows, same load ids: nothing was rewritten


def test_reload_all_rereads_unchanged_files_without_duplicating_rows(warehouse, monkeypatch):
    write_csv(warehouse / "surveys" / "devex-2025-Q3.csv", BAD_FILE)
    survey.load(org_config(), warehouse)
    before = (responses(warehouse), quarantine(warehouse))

    monkeypatch.setenv("SOURCES__SURVEY__RELOAD_ALL", "true")
    counts = survey.load(org_config(), warehouse)

    assert counts["files"] == 1 and counts["responses"] == 8
    assert (responses(warehouse), quarantine(warehouse)) == before
    assert query(warehouse, "select count(*), count(distinct _dlt_load_id) from raw_survey.responses") == [(8, 1)]


def test_a_corrected_file_replaces_every_row_of_its_earlier_version_and_leaves_other_files_alone(warehouse):
    folder = warehouse / "surveys"
    write_csv(folder / "devex-2025-Q3.csv", BAD_FILE)
    write_csv(folder / "devex-2025-Q2.csv", "respondent,team,focus\nann@acme.example,alpha,3\n")
    survey.load(org_config(), warehouse)
    other_file = "select * from raw_survey.responses where source_file = 'devex-2025-Q2.csv'"
    other_before = query(warehouse, other_file)

    write_csv(
        folder / "devex-2025-Q3.csv",
        "respondent,submitted_at,team,focus,waiting,enps\n"
        "ann@acme.example,2025-08-01 09:00,alpha,5,2,10\n"
        "bob@acme.example,2025-08-01 09:00,alpha,,3,5\n",
    )
    counts = survey.load(org_config(), warehouse)

    ann, bob, f = PSEUDO("ann@acme.example"), PSEUDO("bob@acme.example"), "devex-2025-Q3.csv"
    assert counts["responses"] == 5 and counts["quarantine"] == 0 and counts["files"] == 1
    assert {r for r in responses(warehouse) if r[5] == f} == {
        (ann, "2025-Q3", "alpha", "focus", 5, f), (ann, "2025-Q3", "alpha", "waiting", 2, f),
        (ann, "2025-Q3", "alpha", "enps", 10, f), (bob, "2025-Q3", "alpha", "waiting", 3, f),
        (bob, "2025-Q3", "alpha", "enps", 5, f),
    }
    assert quarantine(warehouse) == set()
    assert query(warehouse, other_file) == other_before
    file_counts = "select source_file, values_accepted, values_quarantined from raw_survey.files order by 1"
    assert query(warehouse, file_counts) == [
        ("devex-2025-Q2.csv", 1, 0), ("devex-2025-Q3.csv", 5, 0)
    ]


def test_a_later_submission_in_a_new_file_supersedes_the_answers_an_earlier_load_landed(warehouse):
    folder = warehouse / "surveys"
    header = "respondent,submitted_at,team,focus\n"
    write_csv(folder / "devex-2025-Q3-a.csv", header + "ann@acme.example,2025-08-01,alpha,2\n")
    survey.load(org_config(), warehouse)
    write_csv(folder / "devex-2025-Q3-b.csv", header + "ann@acme.example,2025-08-09,alpha,4\n")
    survey.load(org_config(), warehouse)

    ann = PSEUDO("ann@acme.example")
    assert responses(warehouse) == {(ann, "2025-Q3", "alpha", "focus", 4, "devex-2025-Q3-b.csv")}
    assert quarantine(warehouse) == {("devex-2025-Q3-a.csv", 2, "(row)", "duplicate_submission")}


def file_quarantine(path: Path) -> dict[str, str]:
    return dict(query(path, "select source_file, detail from raw_survey.quarantine where reason = 'invalid_file' "
                            "and source_row = 0 and source_column = '(file)' and value_count is null"))


def test_an_unreadable_file_is_quarantined_as_a_file_and_the_other_files_land(warehouse):
    folder = warehouse / "surveys"
    write_csv(folder / "devex-2025-Q3.csv", "respondent,team,focus\nann@acme.example,alpha,4\n")
    (folder / "broken-2025-Q3.xlsx").write_bytes(b"this is not a zip archive")
    latin1 = "respondent,team,focus\nren\xe9@acme.example,alpha,4\n".encode("latin-1")
    (folder / "latin1-2025-Q3.csv").write_bytes(latin1)

    counts = survey.load(org_config(), warehouse)

    ann, rene = PSEUDO("ann@acme.example"), PSEUDO("ren\xe9@acme.example")
    assert responses(warehouse) == {(ann, "2025-Q3", "alpha", "focus", 4, "devex-2025-Q3.csv")}
    rejected = file_quarantine(warehouse)
    assert rejected.keys() == {"broken-2025-Q3.xlsx", "latin1-2025-Q3.csv"}
    assert "not a readable XLSX workbook" in rejected["broken-2025-Q3.xlsx"]
    assert "not UTF-8 text (byte 25)" in rejected["latin1-2025-Q3.csv"]
    assert counts["responses"] == 1 and counts["files"] == 1
    assert len(counts.skipped) == 2
    assert "broken-2025-Q3.xlsx: not a readable XLSX workbook" in counts.skipped[0]
    assert "latin1-2025-Q3.csv: not UTF-8 text" in counts.skipped[1]

    # still there and unchanged: skipped and reported again on every load
    assert len(survey.load(org_config(), warehouse).skipped) == 2

    # fixed: it lands and its file quarantine row goes; removed: its quarantine row goes
    (folder / "latin1-2025-Q3.csv").write_bytes(latin1.decode("latin-1").encode("utf-8"))
    (folder / "broken-2025-Q3.xlsx").unlink()
    counts = survey.load(org_config(), warehouse)
    assert counts.skipped == []
    assert responses(warehouse) == {(ann, "2025-Q3", "alpha", "focus", 4, "devex-2025-Q3.csv"),
                                    (rene, "2025-Q3", "alpha", "focus", 4, "latin1-2025-Q3.csv")}
    assert quarantine(warehouse) == set()


def test_a_file_without_a_respondent_column_or_wave_is_quarantined_naming_the_file(warehouse):
    write_csv(warehouse / "surveys" / "devex-2025-Q3.csv", "name,team,focus\nAnn,alpha,4\n")
    counts = survey.load(org_config(), warehouse)
    assert "devex-2025-Q3.csv: no respondent column" in counts.skipped[0]
    assert "no respondent column" in file_quarantine(warehouse)["devex-2025-Q3.csv"]
    (warehouse / "surveys" / "devex-2025-Q3.csv").unlink()
    write_csv(warehouse / "surveys" / "export.csv", "respondent,team,focus\nann@acme.example,alpha,4\n")
    counts = survey.load(org_config(), warehouse)
    assert "export.csv: cannot tell the survey wave" in counts.skipped[0]
    assert file_quarantine(warehouse).keys() == {"export.csv"}  # the removed file's row went with it
    counts = survey.load(org_config(wave="2025-H2"), warehouse)  # the config's wave
    assert counts["responses"] == 1 and counts.skipped == []
    assert quarantine(warehouse) == set()


def test_rows_of_a_file_that_left_the_folder_are_removed_and_what_it_superseded_comes_back(warehouse):
    folder = warehouse / "surveys"
    header = "respondent,submitted_at,team,focus,enps\n"
    write_csv(folder / "devex-2025-Q3-a.csv", header + "ann@acme.example,2025-08-01,alpha,2,7\n"
                                                        "bob@acme.example,2025-08-01,beta,3,x\n")
    write_csv(folder / "devex-2025-Q3-b.csv", header + "ann@acme.example,2025-08-09,alpha,4,9\n"
                                                        "cy@acme.example,2025-08-09,beta,6,8\n")
    survey.load(org_config(load_free_text=True), warehouse)
    ann, bob, cy = PSEUDO("ann@acme.example"), PSEUDO("bob@acme.example"), PSEUDO("cy@acme.example")
    assert {r[0] for r in responses(warehouse) if r[5] == "devex-2025-Q3-b.csv"} == {ann, cy}

    (folder / "devex-2025-Q3-b.csv").unlink()
    survey.load(org_config(load_free_text=True), warehouse)

    a = "devex-2025-Q3-a.csv"
    assert responses(warehouse) == {(ann, "2025-Q3", "alpha", "focus", 2, a), (ann, "2025-Q3", "alpha", "enps", 7, a),
                                    (bob, "2025-Q3", "beta", "focus", 3, a)}
    assert quarantine(warehouse) == {(a, 3, "enps", "non_numeric")}
    assert query(warehouse, "select source_file from raw_survey.files") == [(a,)]
    for table in ("responses", "quarantine", "files"):
        assert query(warehouse, f"select count(*) from raw_survey.{table} where source_file like '%-b.csv'") == [(0,)]


def test_unknown_columns_are_quarantined_once_per_column_with_a_count(warehouse):
    respondents, unknown = 300, 30
    header = "respondent,submitted_at,team,focus," + ",".join(f"extra {i}" for i in range(unknown)) + "\n"
    body = "".join(f"p{n}@acme.example,2025-08-01,alpha,{1 + n % 5}," + ",".join(["3"] * unknown) + "\n"
                   for n in range(respondents))
    write_csv(warehouse / "surveys" / "devex-2025-Q3.csv", header + body)

    counts = survey.load(org_config(), warehouse)

    assert counts["responses"] == respondents and counts["quarantine"] == unknown
    rows = query(warehouse, "select source_row, source_column, reason, value_count, value from raw_survey.quarantine "
                            "order by source_column")
    assert rows == sorted((1, f"extra {i}", "unknown_question", respondents, "3") for i in range(unknown))
    assert query(warehouse, "select values_accepted, values_quarantined from raw_survey.files") == [
        (respondents, respondents * unknown)]


def test_an_xlsx_formula_without_a_cached_value_is_quarantined_not_dropped(warehouse):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["respondent", "team", "focus", "enps"])
    sheet.append(["ann@acme.example", "alpha", "=2+2", 8])  # openpyxl saves formulas without a cached value
    sheet.append(["bob@acme.example", "beta", 3, 9])
    book.save(warehouse / "surveys" / "pulse_2025_q3.xlsx")

    counts = survey.load(org_config(), warehouse)

    f = "pulse_2025_q3.xlsx"
    ann, bob = PSEUDO("ann@acme.example"), PSEUDO("bob@acme.example")
    assert responses(warehouse) == {(ann, "2025-Q3", "alpha", "enps", 8, f), (bob, "2025-Q3", "beta", "focus", 3, f),
                                    (bob, "2025-Q3", "beta", "enps", 9, f)}
    assert quarantine(warehouse) == {(f, 2, "focus", "formula_without_value")}
    assert counts["quarantine"] == 1 and counts.skipped == []


# --- the sample organisation, staging and privacy ------------------------------------------------


def dbt_build(project: Path, tmp: Path) -> None:
    """Build the survey staging models in a copy of the dbt project holding only them (other sources'
    models are not this test's business and may be mid-edit)."""
    from dbt.cli.main import dbtRunner

    copy = tmp / "dbt_project"
    (copy / "models" / "staging").mkdir(parents=True)
    shutil.copy(project / "dbt_project.yml", copy / "dbt_project.yml")
    shutil.copytree(project / "macros", copy / "macros")
    shutil.copytree(project / "models" / "staging" / "survey", copy / "models" / "staging" / "survey")
    result = dbtRunner().invoke(
        ["build", "--project-dir", str(copy), "--profiles-dir", str(PROJECT_ROOT), "--target-path",
         str(tmp / "target"), "--log-path", str(tmp / "logs"), "--quiet", "--threads", "4",
         "--no-send-anonymous-usage-stats"]
    )
    assert result.success, result.exception or [str(r.message) for r in result.result or [] if r.status != "pass"]


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """The sample organisation's survey exports, loaded (free text enabled), with staging built."""
    tmp = tmp_path_factory.mktemp("sample")
    world = build_world(seed=7, anchor=date(2026, 6, 30))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FLOWMART_DUCKDB_PATH", str(tmp / "wh.duckdb"))
        mp.setenv("FLOWMART_PIPELINES_DIR", str(tmp / "dlt"))
        mp.setenv("FLOWMART__PSEUDONYM_SALT", SALT)
        mp.delenv("FLOWMART_TARGET", raising=False)
        mp.delenv("SOURCES__SURVEY__RELOAD_ALL", raising=False)
        mp.chdir(tmp)
        written = survey_data.write(world, tmp / "surveys")
        section = survey_data.org_config_section(world, tmp)["surveys"] | {"load_free_text": True}
        org = parse_org_config(
            {
                "value_streams": [{"name": n} for n, _ in world.value_streams],
                "teams": [{"name": t.name, "value_stream": t.value_stream} for t in world.teams],
                "surveys": section,
            }
        )
        counts = survey.load(org, tmp)
        dbt_build(DBT_PROJECT_DIR, tmp)
    return {"world": world, "dir": tmp, "written": written, "counts": counts}


def test_sample_exports_load_with_only_the_planted_defects_quarantined(sample):
    tmp, written, counts = sample["dir"], sample["written"], sample["counts"]
    assert written["survey_files"] == 8 and len(list((tmp / "surveys").glob("*.csv"))) == 8
    boms = [p for p in (tmp / "surveys").glob("*.csv") if p.read_bytes().startswith(b"\xef\xbb\xbf")]
    assert boms and all(";" in p.read_text(encoding="utf-8-sig").splitlines()[0] for p in boms)
    quarantined = query(tmp, "select sum(value_count) from raw_survey.quarantine")[0][0]
    assert counts["responses"] + quarantined == written["survey_answers"]
    reasons = dict(query(tmp, "select reason, sum(value_count) from raw_survey.quarantine group by 1"))
    assert reasons == {"out_of_scale": 1, "non_numeric": 1, "duplicate_submission": 3}
    assert query(tmp, "select count(distinct wave), count(distinct shape) from raw_survey.responses "
                      "join raw_survey.files using (source_file)") == [(8, 2)]


def test_sample_plants_the_sentiment_drop_participation_and_small_groups(sample):
    tmp, world = sample["dir"], sample["world"]
    rows = query(
        tmp,
        "select r.team, r.wave, count(distinct r.respondent_id), avg(case when q.is_reverse_scored "
        "then 6 - r.value else r.value end) from staging.stg_survey__responses r "
        "join staging.stg_survey__questions q using (question_id) where q.scale = 'likert_1_5' group by 1, 2",
    )
    waves = sorted({w for _, w, _, _ in rows})
    assert len(waves) == 8
    drop = {w: avg for t, w, _, avg in rows if t == SENTIMENT_DROP_TEAM}
    early = sum(drop[w] for w in waves[:5]) / 5
    late = sum(drop[w] for w in waves[5:]) / 3
    assert early - late > 1.0
    others_late = [avg for t, w, _, avg in rows if t != SENTIMENT_DROP_TEAM and w in waves[5:]]
    assert min(others_late) > late
    respondents = sum(n for _, _, n, _ in rows)
    assert 0.6 < respondents / (len(world.people) * 8) < 0.8
    assert any(n < 5 for _, _, n, _ in rows)  # some team-waves fall under the anonymity threshold


def test_no_respondent_identity_or_free_text_reaches_any_table_but_the_restricted_one(sample):
    tmp, world = sample["dir"], sample["world"]
    free_text = query(tmp, "select answer_text from raw_survey.free_text_answers")
    assert free_text and {t for (t,) in free_text} <= set(survey_data.COMMENTS)
    needles = [p.email.lower() for p in world.people] + [p.display_name.lower() for p in world.people]
    needles += [c.lower() for c in survey_data.COMMENTS] + [c.split("\n")[0].lower() for c in survey_data.COMMENTS]
    columns = query(
        tmp,
        "select table_schema, table_name, column_name from information_schema.columns "
        "where data_type = 'VARCHAR' and not (table_schema = 'raw_survey' and table_name = 'free_text_answers')",
    )
    scanned = set()
    for schema, table, column in columns:
        values = query(tmp, f'select distinct lower("{column}") from "{schema}"."{table}" where "{column}" is not null')
        for (value,) in values:
            assert "@" not in value, (schema, table, column, value)
            assert not any(n in value for n in needles), (schema, table, column, value)
        scanned.add(f"{schema}.{table}")
    assert {"staging.stg_survey__responses", "staging.stg_survey__quarantine", "raw_survey.responses",
            "raw_survey.quarantine"} <= scanned
    staged = query(tmp, "select count(*), count(distinct respondent_id) from staging.stg_survey__responses")
    assert staged[0][0] == sample["counts"]["responses"]
    assert 0.9 * len(world.people) <= staged[0][1] <= len(world.people)  # one pseudonym per person
    pseudonyms = query(tmp, "select distinct respondent_id from staging.stg_survey__responses")
    assert all(r.startswith("p_") and len(r) == 18 for (r,) in pseudonyms)
