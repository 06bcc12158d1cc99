"""The HTML report as a leader opens it: written by `flowmart run` and `flowmart report` from the sample's marts,
one self-contained file that renders in headless Chromium with the network off, every chart with data points
and no console error; every BI question of the report runs on the warehouse and is listed in the README."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.report import describe, queries, tables_read

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
FLOWMART = str(Path(sys.executable).with_name("flowmart"))
ARTEFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def _env(tmp: Path) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SOURCES__")}
    environment.pop("FLOWMART_PIPELINES_DIR", None)
    return environment | {"FLOWMART_DUCKDB_PATH": str(tmp / "warehouse" / "flowmart.duckdb"),
                          "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    tmp = tmp_path_factory.mktemp("report")
    done = subprocess.run([FLOWMART, "run", "--scale", "0.3"], cwd=tmp, env=_env(tmp), capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return tmp, done


def test_run_writes_the_report_and_prints_its_path(sample_run):
    tmp, done = sample_run
    path = tmp / "warehouse" / "report" / "index.html"
    assert f"Report: {path}" in done.stdout
    html = path.read_text()
    # self-contained: Plotly inlined, no element loads anything (the parser skips the scripts' text)
    assert "Plotly" in html and len(html) > 1_000_000
    assert _loaded_resources(html) == []


def _loaded_resources(html: str) -> list[str]:
    from html.parser import HTMLParser

    found: list[str] = []

    class Resources(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.extend(f"<{tag} {k}={v}>" for k, v in attrs if k in ("src", "href") and v)

    Resources().feed(html)
    return found


def test_the_report_command_writes_the_same_page_elsewhere(sample_run, tmp_path):
    tmp, _done = sample_run
    out = tmp_path / "leader.html"
    done = subprocess.run([FLOWMART, "report", "--out", str(out)], cwd=tmp, env=_env(tmp), capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"Report: {out}"
    assert out.stat().st_size > 1_000_000


def _browser(loopback: bool = False):
    """Headless Chromium with the network off; `loopback` lets it reach servers on 127.0.0.1 (a test's own)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.fail("Debian's chromium and chromium-driver are needed (.ci/run installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-quic", "--window-size=1400,1800",
                 # the network is off: every host name fails and every connection goes to a closed port
                 "--host-resolver-rules=MAP * ~NOTFOUND" + (", EXCLUDE 127.0.0.1" if loopback else ""),
                 "--proxy-server=http://127.0.0.1:9",
                 "--proxy-bypass-list=127.0.0.1" if loopback else "--proxy-bypass-list=<-loopback>"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))


# for each chart: how many data points its SVG draws (markers and bars) and how many trace values are numbers
CHARTS = """
return Array.from(document.querySelectorAll('.chart')).map(div => ({
  title: (div.layout && div.layout.title && div.layout.title.text) || '',
  points: div.querySelectorAll('.main-svg .scatterlayer .point, .main-svg .barlayer .point').length,
  values: (div._fullData || []).reduce((n, t) => n + (t.y || []).filter(v => v !== null).length, 0)
}));
"""


def _check_page(driver, name: str) -> list[dict]:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 30).until(lambda d: d.execute_script(
        "return document.querySelectorAll('.chart').length > 0 && "
        "Array.from(document.querySelectorAll('.chart')).every(c => c.querySelector('.main-svg'))"))
    charts = driver.execute_script(CHARTS)
    empty = [c["title"] for c in charts if c["points"] == 0 or c["values"] == 0]
    assert not empty, f"charts without data points on {name}: {empty}"
    ARTEFACTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(ARTEFACTS / f"report-{name}.png"))
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
    return charts


def test_the_report_renders_every_chart_offline_in_headless_chromium(sample_run):
    tmp, _done = sample_run
    page = (tmp / "warehouse" / "report" / "index.html").as_uri()
    driver = _browser()
    try:
        driver.get(page)
        overview = _check_page(driver, "overview")
        titles = " | ".join(c["title"] for c in overview)
        for expected in ("Flow velocity", "Flow time", "Flow efficiency", "Flow load", "Flow distribution",
                         "Deployment frequency", "Change lead time", "Change fail rate", "recovery time",
                         "Where pull requests wait", "Feature Factory Ratio", "Closing the loop",
                         "Investment by objective", "% favourable per survey dimension", "eNPS"):
            assert expected in titles, titles
        bands = driver.execute_script("return document.querySelector('table.figures').innerText")
        assert "change lead time" in bands and re.search(r"elite|high|medium|low", bands), bands

        teams = driver.execute_script("return Object.keys(REPORT.teams)")
        assert len(teams) >= 8
        driver.execute_script("location.hash = 'team=' + encodeURIComponent(arguments[0])", teams[0])
        driver.find_element("xpath", f"//h2[text()='Team {teams[0]}']")
        team = _check_page(driver, "team")
        titles = " | ".join(c["title"] for c in team)
        assert "Where work waits" in titles and "Aging work in progress" in titles, titles
        text = driver.find_element("id", "page").text
        assert "Beside its own baseline" in text and "baseline (3 months before)" in text
        assert "Sentiment" in text and ("% favourable" in text or "No survey answers" in text)
        # a team page shows that team only: no other team's name on it
        assert not [t for t in teams if t != teams[0] and re.search(rf"\b{re.escape(t)}\b", text)]
    finally:
        driver.quit()


def test_every_bi_question_runs_on_the_warehouse_and_is_listed_in_the_readme(sample_run):
    tmp, _done = sample_run
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Connect Metabase"):]
    section = section[:section.index("\n## ", 5)]
    conn = duckdb.connect(str(tmp / "warehouse" / "flowmart.duckdb"), read_only=True)
    try:
        for name, sql in queries().items():
            header = describe(sql)
            assert {"question", "table", "filters", "units"} <= set(header), (name, header)
            assert f"{name}.sql" in section, f"{name}.sql is not listed in the README's Connect Metabase"
            assert tables_read(sql) and all(t in section for t in tables_read(sql)), name
            rows = conn.execute(sql).fetchall()
            assert rows, f"{name} returned no row on the sample"
    finally:
        conn.close()


def test_the_readmes_dbt_docs_command_works_as_written(sample_run):
    """From the project root, on the run's warehouse: the catalog has the marts, the site its overview page."""
    import json

    tmp, _done = sample_run
    line = next(x for x in (ROOT / "README.md").read_text().splitlines() if "dbt docs generate" in x)
    generate = line.split(" && ")[0].strip()
    done = subprocess.run(generate, shell=True, cwd=ROOT, env=_env(tmp), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    target = ROOT / "dbt_project" / "target"
    catalog = json.loads((target / "catalog.json").read_text())
    assert "model.flowmart.flow_metrics_by_value_stream" in catalog["nodes"]
    manifest = json.loads((target / "manifest.json").read_text())
    assert "doc.flowmart.__overview__" in manifest["docs"] and (target / "index.html").exists()


def test_a_suppressed_survey_cell_reads_suppressed_never_a_figure():
    from orchestration.report import _drawable, sentiment_section, team_sentiment_block

    cells = [{"wave": "2026-Q3", "dimension": "code_review", "respondents": 3, "is_suppressed": True,
              "favourable_pct": None, "favourable_pct_change": None, "enps": None},
             {"wave": "2026-Q3", "dimension": "enps", "respondents": 7, "is_suppressed": False,
              "favourable_pct": None, "favourable_pct_change": None, "enps": 20.0}]
    block = team_sentiment_block(cells)
    assert block["rows"][0] == ["code review", 3, "suppressed", "suppressed"]
    assert block["rows"][1][2] == "20.0"
    # a value stream whose every cell is suppressed: no empty chart, a note naming the suppressed cells
    streams = [dict(c, wave_start="2026-07-01", favourable_pct=None, enps=None, is_suppressed=True) for c in cells]
    section = _drawable([sentiment_section(streams)])[0]
    assert all(b["kind"] == "note" for b in section["blocks"])
    assert "Suppressed" in section["blocks"][-1]["text"] and "2026-Q3 code review" in section["blocks"][-1]["text"]
