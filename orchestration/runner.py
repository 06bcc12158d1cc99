"""The main job's parts, shared by the CLI and Dagster: which sources are configured, the sample
organisation behind a local API server, loads, `dbt build` and the run summary."""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import dlt

from pipelines.orgconfig import OrgConfig, load_org_config
from pipelines.settings import DBT_PROJECT_DIR, PROJECT_ROOT, duckdb_path, lake_url, spark_dir

log = logging.getLogger("flowmart")

# Load order: the org config first (dbt joins everything to it), then the sources.
LOADERS = {
    "org": "pipelines.org",
    "jira": "pipelines.jira",
    "github": "pipelines.github",
    "git": "pipelines.git",
    "survey": "pipelines.survey",
    "delivery": "pipelines.delivery",
}
SAMPLE_SEED = 42


def loader_module(name: str) -> Any:
    if name not in LOADERS:
        raise SystemExit(f"unknown source {name!r}; choose one of {', '.join(LOADERS)}")
    try:
        return importlib.import_module(LOADERS[name])
    except ModuleNotFoundError as exc:
        if exc.name == LOADERS[name]:
            raise SystemExit(f"the {name} loader is not part of this build of flowmart") from None
        raise


def available_loaders() -> list[str]:
    names = []
    for name, module in LOADERS.items():
        with contextlib.suppress(ModuleNotFoundError):
            importlib.import_module(module)
            names.append(name)
    return names


def _config(key: str) -> Any:
    try:
        return dlt.config.get(key)
    except Exception:  # noqa: BLE001 - an unreadable value counts as not configured
        return None


class SettingsError(ValueError):
    """An explicit configuration lacks a setting; the message says which, and where it goes."""


# The settings a source reads from dlt config/secrets or the environment (SOURCES__<SOURCE>__<KEY>).
SOURCE_SETTINGS = {
    "jira": ("base_url", "email", "api_token", "jql"),
    "github": ("access_token", "base_url", "repositories"),
    "git": ("repositories",),
    "delivery": ("files",),
}


# Read as secrets: dlt leaves a secret's value out of its traces (warehouse/.dlt_pipelines/*/trace.pickle).
SECRET_SETTINGS = {"email", "api_token", "access_token"}


def source_setting(source: str, key: str) -> Any:
    """A source's setting (dlt config/secrets or SOURCES__<SOURCE>__<KEY>), None when unset or unreadable."""
    if key in SECRET_SETTINGS:
        try:
            return dlt.secrets.get(f"sources.{source}.{key}")
        except Exception:  # noqa: BLE001 - an unreadable value counts as not configured
            return None
    return _config(f"sources.{source}.{key}")


def _where(source: str, key: str) -> str:
    return f"SOURCES__{source.upper()}__{key.upper()} (or {key} under [sources.{source}] in .dlt/secrets.toml)"


def source_settings_set() -> list[str]:
    """The source settings set in the environment or the dlt config/secrets, as environment variable names."""
    return [f"SOURCES__{source.upper()}__{key.upper()}" for source, keys in SOURCE_SETTINGS.items()
            for key in keys if source_setting(source, key)]


def missing_settings(org: OrgConfig) -> dict[str, list[str]]:
    """Every source that something points at (a setting, or its section of the org config) -> what it still
    lacks to load ([] when complete). Sources nothing points at are left out."""
    out: dict[str, list[str]] = {}
    jira_scope = source_setting("jira", "jql") or org.jira_scope_jql()
    if any(source_setting("jira", key) for key in SOURCE_SETTINGS["jira"]) or jira_scope:
        out["jira"] = [_where("jira", key) for key in ("base_url", "email", "api_token")
                       if not source_setting("jira", key)]
        if not jira_scope:
            out["jira"].append("a scope: jira.jql or ownership.jira rules with a project in the org config, "
                               "or SOURCES__JIRA__JQL")
    github_repositories = org.github.repositories or source_setting("github", "repositories")
    if any(source_setting("github", key) for key in SOURCE_SETTINGS["github"]) or github_repositories:
        out["github"] = [] if source_setting("github", "access_token") else [_where("github", "access_token")]
        if not github_repositories:
            out["github"].append("the repositories: github.repositories in the org config, or "
                                 "SOURCES__GITHUB__REPOSITORIES")
    if org.git.repositories or source_setting("git", "repositories"):
        out["git"] = []
    if org.surveys.folder or org.surveys.files:
        out["survey"] = []
    if org.delivery.files or source_setting("delivery", "files"):
        out["delivery"] = []
    return out


def configured_sources(org: OrgConfig) -> list[str]:
    """Sources with enough configuration to load (dlt config/secrets, env, or the org config)."""
    complete = [name for name, missing in missing_settings(org).items() if not missing]
    return [n for n in ["org", *complete] if n in available_loaders()]


def check_settings(org: OrgConfig, config_path: Path, wanted: list[str] | None = None) -> None:
    """Raise SettingsError naming every missing setting of the sources to load (`wanted`, default: every
    source something points at); with `wanted` None, a configuration that points at no source is an error too."""
    found = missing_settings(org)
    names = wanted if wanted is not None else list(found)
    problems = []
    for name in names:
        if name == "org":
            continue
        if name not in found:
            problems.append(f"{name}: not configured (see the README, \"Point it at your own systems\")")
        problems += [f"{name}: missing {what}" for what in found.get(name, [])]
    if wanted is None and not found:
        problems.append(f"no source is configured: {config_path} sets none, and no SOURCES__* setting is set "
                        "(see the README, \"Point it at your own systems\")")
    if problems:
        raise SettingsError("the configuration is incomplete, nothing was loaded:\n  " + "\n  ".join(problems))


def org_config_path(explicit: str | None = None) -> Path | None:
    """--org-config, else FLOWMART_ORG_CONFIG, else ./flowmart.yml if it exists."""
    candidate = explicit or os.environ.get("FLOWMART_ORG_CONFIG")
    if candidate:
        return Path(candidate).resolve()
    default = Path("flowmart.yml")
    return default.resolve() if default.exists() else None


# --- the sample organisation ------------------------------------------------------------------------


def ensure_sample(folder: Path, scale: float, anchor: date | None = None) -> Path:
    """Generate the sample into `folder` unless the same (seed, scale, anchor day) is already there."""
    from pipelines.sample.generate import generate_sample

    anchor = anchor or datetime.now(UTC).date()
    stamp = {"seed": SAMPLE_SEED, "scale": scale, "anchor": anchor.isoformat()}
    stamp_file = folder / "sample.json"
    if stamp_file.exists() and json.loads(stamp_file.read_text()) == stamp and (folder / "org.yml").exists():
        log.info("sample organisation already in %s (scale %s, anchor %s)", folder, scale, anchor)
        return folder
    counts = generate_sample(folder, scale=scale, seed=SAMPLE_SEED, anchor=anchor)
    log.info("sample organisation generated: %s", counts)
    stamp_file.write_text(json.dumps(stamp))
    return folder


@contextlib.contextmanager
def sample_api(folder: Path) -> Iterator[Any]:
    """Serve the sample over HTTP and point the loaders' settings at it for the duration."""
    from pipelines.sample.server import SubprocessServer

    with SubprocessServer(folder) as server:
        env = {
            "SOURCES__JIRA__BASE_URL": server.url,
            "SOURCES__JIRA__EMAIL": "sample@acme.example",
            "SOURCES__JIRA__API_TOKEN": "sample-token",
        }
        if (folder / "github").exists():
            env |= {"SOURCES__GITHUB__BASE_URL": server.url, "SOURCES__GITHUB__ACCESS_TOKEN": "sample-token"}
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            yield server
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


# --- loads and dbt -----------------------------------------------------------------------------------


@dataclass
class RunReport:
    target: str
    sample: bool
    landed: dict[str, dict[str, int]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    dbt: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "<source>: <input and why>": skipped, the rest landed
    step: str = "preparing the run"  # where the run is, for the message when a signal stops it


def load_source(name: str, org: OrgConfig, org_dir: Path, target: str, full_refresh: bool = False) -> dict[str, int]:
    """Load one source; returns rows landed per table. `full_refresh` reloads it from scratch, replacing its raw
    tables only when the new load completed (orchestration.refresh)."""
    from orchestration import refresh

    module = loader_module(name)
    started = time.perf_counter()
    if full_refresh:
        counts = refresh.full_refresh(name, target, lambda: module.load(org, org_dir, target=target))
    else:
        refresh.discard_leftovers(name, target)
        counts = module.load(org, org_dir, target=target)
    if target == "spark":  # the loaders merged into the landing file: the lake gets the current rows
        from pipelines import lake

        lake.publish(name)
    tables = {table: n for table, n in counts.items() if not table.startswith("_")}
    note = getattr(counts, "note", "")  # e.g. GitHub: what the load spent of the hourly rate limits
    log.info("loaded %s in %.1f s: %s rows in %d tables%s", name, time.perf_counter() - started,
             f"{sum(tables.values()):,}", len(tables), f" ({note})" if note else "")
    return counts


def dbt_args(command: str, target: str, extra: list[str] | None = None) -> list[str]:
    return [command, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(PROJECT_ROOT),
            "--target", target, *(extra or [])]


def dbt_invoke(command: str, target: str, extra: list[str] | None = None) -> Any:
    """Run dbt in-process; returns dbt's result object."""
    from dbt.cli.main import dbtRunner

    duckdb_path()  # export the absolute DuckDB path for the profile
    if target == "spark":
        spark_dir()  # export the absolute paths of Spark's folders and of the lake for the profile and macros
        lake_url()
    os.environ["FLOWMART_TARGET"] = target
    return dbtRunner().invoke(dbt_args(command, target, extra))


def dbt_build(target: str, select: list[str] | None = None, full_refresh: bool = False,
              extra_args: list[str] | None = None, *, unit_tests: bool = True) -> dict[str, int]:
    """`dbt build`: every model is rebuilt in full from the raw tables, then tested. Unit tests check the
    models' logic, not the data: scheduled runs may leave them out (unit_tests=False); CI runs them.
    `full_refresh` is passed on to dbt (it only matters to a model a user made incremental)."""
    extra = list(extra_args or [])
    if select:  # a part of the project: only the tests whose every model is in it
        extra += ["--select", *select, "--indirect-selection", "cautious"]
    if full_refresh:
        extra.append("--full-refresh")
    if not unit_tests:
        extra += ["--exclude-resource-type", "unit_test"]
    result = dbt_invoke("build", target, extra)
    counts = {"models": 0, "tests_passed": 0, "tests_warned": 0, "tests_failed": 0, "errors": 0}
    for r in getattr(result.result, "results", None) or []:
        kind = r.node.resource_type
        status = str(r.status)
        if kind in ("model", "snapshot", "seed"):
            counts["models"] += status == "success"
            counts["errors"] += status == "error"
        elif kind in ("test", "unit_test"):
            counts["tests_passed"] += status == "pass"
            counts["tests_warned"] += status == "warn"
            counts["tests_failed"] += status in ("fail", "error")
    if isinstance(result.exception, KeyboardInterrupt):
        raise result.exception
    if result.exception is not None:
        raise RuntimeError(f"dbt build could not run: {result.exception}")
    counts["success"] = int(bool(result.success))
    return counts


@contextlib.contextmanager
def environment(config_path: Path | None = None, *, use_sample: bool = False, sample_dir: Path | None = None,
                scale: float = 1.0, anchor: date | None = None, wanted: list[str] | None = None,
                ready: Callable[[], Any] | None = None) -> Iterator[tuple[OrgConfig, Path, bool]]:
    """(org config, its folder, is_sample). The sample organisation (generated once, served by the local API
    server for the duration) only with `use_sample`, or when nothing at all is configured: no org config and
    no source setting. An explicit configuration that lacks a setting of a source to load (`wanted`, default:
    every source it points at) raises SettingsError before anything is loaded. `ready()` is called once the
    configuration is known to be complete, before anything is written (the CLI takes the run lock there)."""
    ready = ready or (lambda: None)
    if not use_sample and (config_path is not None or source_settings_set()):
        if config_path is None:
            raise SettingsError(
                f"{', '.join(source_settings_set())} set, but there is no org config: write flowmart.yml "
                "(`flowmart init`), or name one with --org-config or FLOWMART_ORG_CONFIG; nothing was loaded "
                "(the built-in sample runs only when nothing is configured, or with --sample)")
        org = load_org_config(config_path)
        check_settings(org, config_path, wanted)
        ready()
        print(f"flowmart: loading {', '.join(wanted or configured_sources(org))} as configured in {config_path}")
        yield org, config_path.parent, False
        return
    folder = sample_dir or duckdb_path().parent / "sample"
    ready()
    print(f"flowmart: no source configured, running on the built-in sample organisation "
          f"(scale {scale}, served from {folder} by a local API server)")
    ensure_sample(folder, scale, anchor)
    with sample_api(folder):
        yield load_org_config(folder / "org.yml"), folder, True
