"""Reliability and secrets (issue 16): full refreshes of every source that replace the raw tables only when
the new load completed, no secret on disk, one run at a time per warehouse, a reader of the DuckDB file,
child processes and signals, no telemetry and no kept load packages."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
import yaml

from orchestration.runner import LOADERS, load_source
from pipelines import privacy
from pipelines.orgconfig import load_org_config

ROOT = Path(__file__).resolve().parent.parent
FLOWMART = str(Path(sys.executable).with_name("flowmart"))


def _flowmart_env(tmp: Path, **extra: str) -> dict[str, str]:
    """The environment of a `flowmart` child process working in `tmp` (its warehouse and dlt folders there)."""
    env = os.environ | {"PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
                        "FLOWMART_DUCKDB_PATH": str(tmp / "warehouse" / "flowmart.duckdb")}
    env.pop("FLOWMART_PIPELINES_DIR", None)
    return env | extra


def _flowmart(tmp: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([FLOWMART, *args], cwd=tmp, env=_flowmart_env(tmp, **extra), capture_output=True,
                          text=True, timeout=900)


def _tables(db: Path, prefix: str = "raw_") -> dict[str, list[tuple]]:
    """Every row of every table whose schema starts with `prefix` (dlt's tables, load ids and times left out)."""
    conn = duckdb.connect(str(db), read_only=True)
    try:
        out = {}
        for schema, table in conn.execute("select table_schema, table_name from information_schema.tables "
                                          "where table_schema like ? order by 1, 2", [prefix + "%"]).fetchall():
            columns = [c for (c,) in conn.execute(
                "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
                "order by ordinal_position", [schema, table]).fetchall()
                if not c.startswith("_dlt") and c not in ("loaded_at", "inserted_at")]
            if table.startswith("_dlt"):
                continue
            listed = ", ".join(f'"{c}"' for c in columns)
            out[f"{schema}.{table}"] = conn.execute(f'select {listed} from {schema}."{table}" '
                                                    f"order by all").fetchall()
        return out
    finally:
        conn.close()


def _schemas(db: Path) -> set[str]:
    conn = duckdb.connect(str(db), read_only=True)
    try:
        return {s for (s,) in conn.execute("select distinct table_schema from information_schema.tables").fetchall()}
    finally:
        conn.close()


@pytest.fixture
def every_source_org(small_sample: Path, tmp_path: Path):
    """The small sample's org config plus a local Git repository and the example delivery-events file: every
    source has something to load."""
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {"GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@acme.example", "GIT_COMMITTER_NAME": "A",
           "GIT_COMMITTER_EMAIL": "a@acme.example", "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    (repo / "README").write_text("hello\n")
    for args in (["init", "-q", "-b", "main"], ["add", "README"], ["commit", "-q", "-m", "first"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True)
    config = yaml.safe_load((small_sample / "org.yml").read_text())
    config["git"] = {"repositories": [str(repo)]}
    config["delivery"] = {"files": [str(ROOT / "examples" / "delivery-events.example.csv")]}
    path = tmp_path / "org.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return load_org_config(path)


def test_1_a_full_refresh_reloads_every_source_to_the_same_rows(every_source_org, small_sample, api_server,
                                                                warehouse):
    for name in LOADERS:
        load_source(name, every_source_org, small_sample, "duckdb")
    before = _tables(warehouse)
    assert {t.split(".")[0] for t in before} >= {f"raw_{name}" for name in LOADERS}
    for name in LOADERS:
        load_source(name, every_source_org, small_sample, "duckdb", full_refresh=True)
    assert _tables(warehouse) == before
    assert not [s for s in _schemas(warehouse) if s.startswith("aside_")]
    # the refreshed dlt state is the pipelines': the next plain load is incremental again
    counts = load_source("jira", every_source_org, small_sample, "duckdb")
    assert counts["_issues_fetched"] < 10
    assert _tables(warehouse) == before


TOKENS = {"SOURCES__JIRA__API_TOKEN": "jira-token-4f1e9c-never-on-disk",
          "SOURCES__GITHUB__ACCESS_TOKEN": "ghp_7d2a0b-never-on-disk"}


@pytest.fixture(scope="module")
def token_run(small_sample: Path, tmp_path_factory: pytest.TempPathFactory):
    """The main job (`flowmart run`) on the small sample behind a local API server, with recognisable tokens,
    in a folder of its own: (folder, result)."""
    from pipelines.sample.server import SampleApiServer

    tmp = tmp_path_factory.mktemp("token_run")
    home = tmp / "home"
    home.mkdir()
    with SampleApiServer(small_sample) as server:
        result = _flowmart(tmp, "run", "--org-config", str(small_sample / "org.yml"), HOME=str(home),
                           SOURCES__JIRA__BASE_URL=server.url, SOURCES__JIRA__EMAIL="tester@acme.example",
                           SOURCES__GITHUB__BASE_URL=server.url, **TOKENS)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return tmp, result


@pytest.mark.slow
def test_3_no_token_is_written_to_any_file_by_a_run(token_run):
    """Every file under the run's working folders (the warehouse, dlt's pipelines, logs, the home folder, dbt's
    target) is searched for the tokens."""
    tmp, _result = token_run
    assert list((tmp / "warehouse" / ".dlt_pipelines").glob("*/trace.pickle")), "dlt wrote its traces"
    files = [p for folder in (tmp, ROOT / "dbt_project" / "target", ROOT / "dbt_project" / "logs")
             for p in folder.rglob("*") if p.is_file()]
    assert len(files) > 20
    for path in files:
        data = path.read_bytes()
        for name, token in TOKENS.items():
            assert token.encode() not in data, f"{name} is written to {path}"


def test_3_the_generated_salt_is_readable_by_its_owner_only(tmp_path, monkeypatch):
    monkeypatch.delenv(privacy.ENV_VAR)
    new = tmp_path / "new" / ".dlt" / "secrets.toml"
    salt = privacy.get_salt(new)
    assert stat.S_IMODE(new.stat().st_mode) == 0o600
    assert privacy.get_salt(new) == salt
    shared = tmp_path / "shared" / ".dlt" / "secrets.toml"  # a secrets file the user wrote, readable by all
    shared.parent.mkdir(parents=True)
    shared.write_text('[sources.jira]\napi_token = "x"\n')
    shared.chmod(0o644)
    privacy.get_salt(shared)
    assert stat.S_IMODE(shared.stat().st_mode) == 0o600
    assert 'api_token = "x"' in shared.read_text()


def _minimal_org(folder: Path) -> Path:
    path = folder / "flowmart.yml"
    path.write_text("value_streams: [{name: Payments}]\nteams: [{name: checkout, value_stream: Payments}]\n",
                    encoding="utf-8")
    return path


def test_4_a_second_run_names_the_run_that_holds_the_warehouse_and_exits_4(warehouse, tmp_path):
    from orchestration import runlock

    _minimal_org(tmp_path)
    with runlock.hold("duckdb", "run"):
        for command in (["run", "--sources"], ["load", "org"], ["build"]):
            result = _flowmart(tmp_path, *command)
            assert result.returncode == 4, result.stdout + result.stderr
            message = result.stderr.strip()
            assert message.startswith(f"flowmart: another flowmart run holds the warehouse ({warehouse}.lock): "
                                      f"pid {os.getpid()} since "), message
            assert "(flowmart run); nothing was done" in message and "Traceback" not in message
    assert not warehouse.exists(), "nothing was loaded"


def test_4_the_lock_of_a_dead_run_is_taken_over(warehouse, tmp_path):
    _minimal_org(tmp_path)
    warehouse.parent.mkdir(parents=True)
    dead = subprocess.Popen(["true"])
    dead.wait()
    Path(f"{warehouse}.lock").write_text(f"pid {dead.pid} since 2026-12-01 10:00:00 UTC (flowmart run)\n")
    result = _flowmart(tmp_path, "load", "org")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"took over the lock of a run that ended without releasing it (pid {dead.pid} since" in result.stderr
    assert Path(f"{warehouse}.lock").read_text() == ""  # released at the end


@pytest.fixture(scope="module")
def run_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder for the sample of `flowmart run --sample` at scale 0.05 (generated by the first run)."""
    return tmp_path_factory.mktemp("run_sample")


def _start_run(tmp: Path, sample_dir: Path, *args: str, latency: float = 0.0) -> subprocess.Popen[str]:
    """`flowmart run` on the small sample in a session of its own (as a terminal's foreground job); `latency`
    seconds added to every answer of the sample's API keep its loads under way for a while."""
    return subprocess.Popen([FLOWMART, "run", "--sample", "--scale", "0.05", "--anchor", "2026-10-01",
                             "--sample-dir", str(sample_dir), *args], cwd=tmp,
                            env=_flowmart_env(tmp) | {"FLOWMART_SAMPLE_LATENCY": str(latency)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def _server_of(run: subprocess.Popen[str], timeout: float = 120) -> int:
    """The pid of the sample API server that the run started (its child process), once it is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for stat_file in Path("/proc").glob("[0-9]*/stat"):
            try:
                ppid = int(stat_file.read_text().rsplit(") ", 1)[1].split()[1])
                command = (stat_file.parent / "cmdline").read_bytes()
            except (OSError, IndexError, ValueError):
                continue
            if ppid == run.pid and b"pipelines.sample.server" in command:
                time.sleep(0.5)  # it is serving: the run is loading
                return int(stat_file.parent.name)
        assert run.poll() is None, run.communicate()
        time.sleep(0.05)
    raise AssertionError("the sample API server did not start")


def _wait_for_the_loads(tmp: Path) -> None:
    """Until the run's log says the org config was loaded: the sources' loads are under way."""
    log = tmp / "warehouse" / "logs" / "flowmart.log"
    deadline = time.monotonic() + 120
    while not (log.exists() and "loaded org in" in log.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)


def _gone(pid: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _alive(pid)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_6_the_sample_api_server_dies_with_the_run(run_sample, tmp_path, sig):
    run = _start_run(tmp_path, run_sample)
    server = _server_of(run)
    _wait_for_the_loads(tmp_path)
    os.kill(run.pid, sig)
    _out, err = run.communicate(timeout=120)
    assert _gone(server), "the sample API server outlived the run"
    if sig == signal.SIGTERM:
        assert run.returncode == 143, err
        assert "flowmart: stopped by SIGTERM while loading " in err and "nothing after it ran" in err, err
        assert (tmp_path / "warehouse" / "flowmart.duckdb.lock").read_text() == ""


@pytest.mark.slow
def test_6_ctrl_c_stops_the_whole_run_and_says_where(run_sample, tmp_path):
    run = _start_run(tmp_path, run_sample, latency=0.3)  # the small sample's loads take a second or two otherwise
    server = _server_of(run)
    _wait_for_the_loads(tmp_path)
    os.killpg(run.pid, signal.SIGINT)  # as a terminal does: to the run and its children
    out, err = run.communicate(timeout=120)
    assert run.returncode == 130, out + err
    assert err.strip().splitlines()[-1].startswith("flowmart: stopped by Ctrl-C while loading "), err
    assert "dbt build" not in out and "Traceback" not in err
    assert _gone(server)


def test_5_a_reader_holding_the_duckdb_file_is_waited_for_then_named(warehouse, tmp_path):
    import threading

    _minimal_org(tmp_path)
    warehouse.parent.mkdir(parents=True)
    duckdb.connect(str(warehouse)).close()
    reader = duckdb.connect(str(warehouse), read_only=True)  # as the README's "Query it" does
    try:
        result = _flowmart(tmp_path, "load", "org", FLOWMART_DUCKDB_WAIT="2")
    finally:
        reader.close()
    assert result.returncode == 4, result.stdout + result.stderr
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith(f"flowmart: the warehouse {warehouse} is held open by pid {os.getpid()} ("), message
    assert "waited 2 s (FLOWMART_DUCKDB_WAIT)" in message and "credentials" not in result.stderr
    # a reader that closes within the wait: the run waits for it, then loads
    reader = duckdb.connect(str(warehouse), read_only=True)
    threading.Timer(3, reader.close).start()
    result = _flowmart(tmp_path, "load", "org", FLOWMART_DUCKDB_WAIT="60")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "waiting up to 60 s for it to close (FLOWMART_DUCKDB_WAIT)" in result.stderr
    conn = duckdb.connect(str(warehouse), read_only=True)
    assert conn.execute("select count(*) from raw_org.teams").fetchone() == (1,)
    conn.close()


@pytest.mark.slow
def test_9_no_usage_statistics_and_no_copy_of_the_loaded_rows_in_dlts_folders(token_run, warehouse):
    from dbt import tracking

    from orchestration.runner import dbt_invoke

    tmp, _result = token_run
    loaded = [p for p in (tmp / "warehouse" / ".dlt_pipelines").glob("*/load/loaded/*/completed_jobs/*")]
    packages = list((tmp / "warehouse" / ".dlt_pipelines").glob("*/load/loaded/*"))
    assert packages and not loaded, loaded[:5]
    # dlt, as flowmart configures it wherever it runs (the CLI, Dagster)
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("RUNTIME__", "LOAD__"))}
    probe = subprocess.run([sys.executable, "-c", "import pipelines.settings\n"
                            "from dlt.common.configuration import resolve_configuration\n"
                            "from dlt.common.configuration.specs import RuntimeConfiguration\n"
                            "print(resolve_configuration(RuntimeConfiguration()).dlthub_telemetry)"],
                           cwd=tmp, env=environment, capture_output=True, text=True, timeout=120)
    assert probe.stdout.strip() == "False", probe.stdout + probe.stderr
    # dbt, as flowmart runs it
    result = dbt_invoke("parse", "duckdb")
    assert result.success, result.exception
    assert tracking.active_user is not None and tracking.active_user.do_not_track


def test_2_a_jira_full_refresh_that_fails_after_some_pages_leaves_the_raw_data_as_it_was(small_sample, api_server,
                                                                                        warehouse, tmp_path):
    config = str(small_sample / "org.yml")
    first = _flowmart(tmp_path, "load", "jira", "--org-config", config)
    assert first.returncode == 0, first.stdout + first.stderr
    before = _tables(warehouse, "raw_jira")
    assert len(before["raw_jira.issues"]) > 400
    api_server.faults.add(r"/rest/api/3/issue/bulkfetch", "500", times=-1, skip=3)  # 3 chunks answer, then 500s
    result = _flowmart(tmp_path, "load", "jira", "--org-config", config, "--full-refresh")
    assert result.returncode == 1, result.stdout + result.stderr
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("flowmart: the full refresh of jira did not complete, raw_jira is kept as it was "
                              "before it: "), message
    assert "HTTP 500" in message
    assert _tables(warehouse, "raw_jira") == before
    assert not [s for s in _schemas(warehouse) if s.startswith("aside_")]
    # its dlt state is as it was too: the next load is incremental
    api_server.faults.clear()
    again = _flowmart(tmp_path, "load", "jira", "--org-config", config)
    assert again.returncode == 0, again.stdout + again.stderr
    fetched = next(line for line in again.stdout.splitlines() if line.strip().startswith("_issues_fetched"))
    assert int(fetched.split()[-1].replace(",", "")) < 10, fetched
    assert _tables(warehouse, "raw_jira") == before


@pytest.mark.slow
def test_soak_two_kills_then_a_plain_run_gives_the_clean_runs_marts(tmp_path):
    """Two kill points of scripts/crash_soak.py: a plain run, then a full refresh, each killed with SIGKILL
    (most likely during its loads); after each, a plain run ends with the marts of a clean run."""
    from scripts.crash_soak import Soak

    soak = Soak(tmp_path, 0.05)
    reference, seconds = soak.clean()
    assert reference["completed_work_items"]
    for index, share in ((0, 0.2), (1, 0.3)):  # during the loads, most likely
        ok, what = soak.kill_and_recover(index, round(seconds * share, 2), reference)
        assert ok, what
