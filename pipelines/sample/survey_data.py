"""Sample developer-experience survey exports: one file per quarterly wave, as survey tools write them.

    <out>/devex-survey-<YYYY-Qn>.csv   8 waves, the last 8 calendar quarters of the window

Shapes vary on purpose: waves 1, 2 and 5 are *long* exports (respondent, submitted_at, team,
question_id, value; ISO timestamps), the others *wide* (one row per respondent, one column per
question titled with the question text — wave 8 with question ids — plus a free-text "Comments"
column whose answers sometimes span lines). Waves 4 and 7 are European Excel exports: UTF-8 with BOM,
`;` delimiter, `dd.mm.yyyy hh:mm` dates.

Planted stories:
- `SENTIMENT_DROP_TEAM` (data-platform): every dimension drops sharply in the last 3 waves.
- `AI_ADOPTION_TEAM` (mobile): answers "yes" to AI usage far more often after the window's midpoint.
- ~70% participation; the two smallest teams answer sparsely in waves 2 and 6, below the anonymity
  threshold of 5 respondents.
- A few data-quality defects a real export has: wave 2 holds a 7 on a 1-5 question (out of scale),
  wave 6 an "N/A" answer (non-numeric) and one respondent who submitted twice (the later wins).
Respondents are the people's e-mails (pseudonymised by the loader).
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pipelines.sample.world import AI_ADOPTION_TEAM, SENTIMENT_DROP_TEAM, World

WAVES = 8
LONG_WAVES = {0, 1, 4}
EUROPEAN_WAVES = {3, 6}  # BOM + semicolon + dd.mm.yyyy
ID_HEADER_WAVES = {7}
PARTICIPATION = 0.7

QUESTIONS: list[dict[str, Any]] = [
    {"id": "dw_focus", "text": "I have enough uninterrupted time for focused work.", "dimension": "deep_work"},
    {
        "id": "dw_interruptions", "text": "Meetings and interruptions often break up my working day.",
        "dimension": "deep_work", "reverse_scored": True,
    },
    {
        "id": "er_release", "text": "Releasing my changes to production is easy and safe.",
        "dimension": "ease_of_release",
    },
    {
        "id": "er_waiting", "text": "I often wait on other teams or approvals before I can ship a change.",
        "dimension": "ease_of_release", "reverse_scored": True,
    },
    {"id": "cr_speed", "text": "My pull requests get reviewed quickly.", "dimension": "code_review"},
    {"id": "cr_value", "text": "Code reviews improve the quality of what we ship.", "dimension": "code_review"},
    {"id": "tl_tools", "text": "Our tools and environments let me work efficiently.", "dimension": "tooling"},
    {
        "id": "ai_used", "text": "I used AI coding assistants in my work in the last month.",
        "dimension": "ai_usage", "scale": "yes_no",
    },
    {"id": "ai_helpful", "text": "AI coding assistants make me more productive.", "dimension": "ai_usage"},
    {"id": "sat_overall", "text": "Overall, I am satisfied with how we work as a team.", "dimension": "satisfaction"},
    {
        "id": "enps", "text": "How likely are you to recommend your team as a place to work to a friend?",
        "dimension": "enps", "scale": "scale_0_10",
    },
]
COMMENTS = [
    "More focus time please.",
    "The new deploy pipeline is great.",
    "Reviews take too long;\nwe wait days for a second approver.",
    "Flaky tests slow us down.",
    "On-call has been rough this quarter,\n\"too many\" pages at night.",
    "Happy with the team.",
]


def _quarter_start(moment: datetime) -> datetime:
    return datetime(moment.year, 3 * ((moment.month - 1) // 3) + 1, 1, tzinfo=UTC)


def _previous_quarter(start: datetime) -> datetime:
    month = start.month - 3
    return datetime(start.year - (month < 1), month + 12 * (month < 1), 1, tzinfo=UTC)


def waves(world: World) -> list[tuple[str, datetime]]:
    """(wave name, survey opening) of the last 8 calendar quarters whose survey fits in the window."""
    quarter = _quarter_start(world.end - timedelta(days=12))
    out: list[tuple[str, datetime]] = []
    while len(out) < WAVES:
        opens = min(quarter + timedelta(days=35), world.end - timedelta(days=11))
        opens = max(opens, world.start + timedelta(days=1), quarter)
        out.append((f"{quarter.year}-Q{(quarter.month - 1) // 3 + 1}", opens))
        quarter = _previous_quarter(quarter)
    return list(reversed(out))


def _clamp(value: float, low: int, high: int) -> int:
    return max(low, min(high, round(value)))


def _answers(world: World, team_base: float, person_offset: float, wave_index: int, wave_open: datetime,
             base_name: str, rnd) -> dict[str, int]:
    mood = team_base + person_offset
    if base_name == SENTIMENT_DROP_TEAM and wave_index >= WAVES - 3:
        mood -= 1.6
    answers: dict[str, int] = {}
    for q in QUESTIONS:
        scale = q.get("scale", "likert_1_5")
        if scale == "yes_no":
            progress = (wave_open - world.start) / (world.end - world.start)
            p_yes = 0.2 + 0.35 * progress
            if base_name == AI_ADOPTION_TEAM and wave_open >= world.midpoint:
                p_yes = 0.9
            answers[q["id"]] = int(rnd.random() < p_yes)
        elif scale == "scale_0_10":
            answers[q["id"]] = _clamp((mood - 1) * 2.5 + rnd.gauss(0, 1.2), 0, 10)
        else:
            positive = _clamp(mood + rnd.gauss(0, 0.7), 1, 5)
            answers[q["id"]] = 6 - positive if q.get("reverse_scored") else positive
    return answers


def _write_csv(path: Path, header: list[str], rows: list[list[Any]], european: bool) -> None:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=";" if european else ",", lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8-sig" if european else "utf-8", newline="")


def write(world: World, folder: Path) -> dict[str, int]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rnd_team = world.rng("survey", "teams")
    team_base = {t.name: rnd_team.uniform(3.3, 4.1) for t in world.teams}
    person_offset = {p.email: world.rng("survey", "person", p.email).gauss(0, 0.35) for p in world.people}
    smallest = {t.name for t in sorted(world.teams, key=lambda t: (len(t.members), t.name))[:2]}
    answers_written = submissions = 0
    for index, (wave, opens) in enumerate(waves(world)):
        rnd = world.rng("survey", "wave", wave)
        european = index in EUROPEAN_WAVES
        long_shape = index in LONG_WAVES
        records: list[tuple[datetime, Any, Any, dict[str, int], str | None]] = []
        for team in world.teams:
            participation = 0.35 if team.name in smallest and index in (1, 5) else PARTICIPATION
            for person in team.members:
                if rnd.random() >= participation:
                    continue
                submitted = opens + timedelta(seconds=rnd.randint(0, 10 * 86400))
                answers = _answers(
                    world, team_base[team.name], person_offset[person.email], index, opens, team.base_name, rnd
                )
                comment = rnd.choice(COMMENTS) if rnd.random() < 0.15 else None
                records.append((submitted, person, team, answers, comment))
        records.sort(key=lambda r: r[0])
        defects: dict[str, Any] = {}
        if index == 1 and records:
            defects["out_of_scale"] = (len(records) // 2, "cr_speed", 7)
        if index == 5 and len(records) > 3:
            defects["non_numeric"] = (len(records) // 3, "tl_tools", "N/A")
            first = records[2]  # this respondent had submitted a partial answer earlier
            early = {k: v for k, v in first[3].items() if k in ("dw_focus", "dw_interruptions", "er_release")}
            records.insert(0, (first[0] - timedelta(hours=20), first[1], first[2], early, None))
        for row, question, value in defects.values():
            records[row][3][question] = value
        submissions += len(records)

        def stamp(moment: datetime, european: bool = european, long_shape: bool = long_shape) -> str:
            if long_shape:
                return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
            return moment.strftime("%d.%m.%Y %H:%M") if european else moment.strftime("%Y-%m-%d %H:%M:%S")

        path = folder / f"devex-survey-{wave}.csv"
        if long_shape:
            rows = [
                [person.email, stamp(submitted), team.name, qid, value]
                for submitted, person, team, answers, _comment in records
                for qid, value in answers.items()
            ]
            answers_written += len(rows)
            _write_csv(path, ["respondent", "submitted_at", "team", "question_id", "value"], rows, european)
        else:
            by_id = index in ID_HEADER_WAVES
            header = ["Respondent Email", "Submitted At", "Team"]
            header += [q["id"] if by_id else q["text"] for q in QUESTIONS] + ["Comments"]
            rows = []
            for submitted, person, team, answers, comment in records:
                rows.append(
                    [person.email, stamp(submitted), team.name]
                    + [answers.get(q["id"], "") for q in QUESTIONS]
                    + [comment or ""]
                )
                answers_written += len(answers)
            _write_csv(path, header, rows, european)
    return {"survey_files": WAVES, "survey_submissions": submissions, "survey_answers": answers_written}


def org_config_section(world: World, sample_dir: Path) -> dict[str, Any]:
    questions = [
        {
            "id": q["id"],
            "text": q["text"],
            "dimension": q["dimension"],
            "scale": q.get("scale", "likert_1_5"),
            "reverse_scored": bool(q.get("reverse_scored", False)),
        }
        for q in QUESTIONS
    ]
    return {"surveys": {"folder": "surveys", "load_free_text": False, "questions": questions}}
