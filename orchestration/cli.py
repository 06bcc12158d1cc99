"""`flowmart` command line: run, load, build, report, init, sample, serve-sample."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

from orchestration import console
from pipelines.loadresult import skipped_inputs
from pipelines.orgconfig import OrgConfigError
from pipelines.settings import TARGETS, duckdb_path

log = logging.getLogger("flowmart")

# Exit codes: 0 all landed and built; 1 a failure (a source, dbt, anything else); 2 a configuration to fix;
# 3 (EXIT_SKIPPED) the run completed but skipped inputs a loader could not read (a survey file, a GitHub
# repository answering 404/403), named in the summary: everything else landed. A failure wins over 3.
EXIT_SKIPPED = 3
# 4 (EXIT_BUSY) another run holds the warehouse (run lock), or a reader held the DuckDB file past the wait
EXIT_BUSY = 4


def _sample_dir(args: argparse.Namespace) -> Path:
    if args.sample_dir:
        return Path(args.sample_dir).resolve()
    return duckdb_path().parent / "sample"


def cmd_run(args: argparse.Namespace) -> int:
    """A signal (Ctrl-C, SIGTERM) stops the whole run, and the message says where it stopped."""
    from orchestration import runner

    report = runner.RunReport(target=args.target, sample=False)
    try:
        with contextlib.ExitStack() as held:  # the run lock, from the configuration's check to the summary
            return _run(args, held, report)
    except KeyboardInterrupt as exc:
        done = f"; loaded before: {', '.join(report.landed)}" if report.landed else ""
        raise KeyboardInterrupt(console.signal_name(exc), f"{report.step}{done}; nothing after it ran") from exc


def _run(args: argparse.Namespace, held: contextlib.ExitStack, report: Any) -> int:
    from orchestration import runner, summary
    from orchestration.report import write_report

    target = args.target
    config_path = runner.org_config_path(args.org_config)
    started = time.perf_counter()
    wanted = None if args.sources is None else ["org", *args.sources]
    with _environment(args, config_path, wanted, held, "run") as (org, org_dir, sample):
        report.sample = sample
        names = runner.configured_sources(org) if wanted is None else wanted
        for name in names:
            t = time.perf_counter()
            report.step = f"loading {name}"
            try:
                report.landed[name] = runner.load_source(name, org, org_dir, target, args.full_refresh)
                report.skipped += [f"{name}: {line}" for line in skipped_inputs(report.landed[name])]
            except Exception as exc:  # keep going: the other sources and dbt still run; exit code says it
                if (stop := console.interruption(exc)) is not None:  # Ctrl-C inside a load stops the run
                    raise stop from exc
                log.error("loading %s failed: %s", name, console.describe(exc), exc_info=args.debug)
                report.failures.append(f"load {name}: {console.describe(exc)}")
            report.timings[f"load {name}"] = time.perf_counter() - t
    t = time.perf_counter()
    report.step = "running dbt build"
    with console.dbt_progress() as progress:
        report.dbt = runner.dbt_build(target, full_refresh=args.full_refresh, unit_tests=args.unit_tests)
    report.timings["dbt build"] = time.perf_counter() - t
    report.timings["total"] = time.perf_counter() - started
    print(summary.render(report, target, warned=progress.warned))
    if report.dbt.get("models"):
        print(f"Report: {write_report(target)}")
    if report.failures or not report.dbt.get("success"):
        for failure in report.failures:
            print(f"FAILED: {failure}", file=sys.stderr)
        if not report.dbt.get("success"):
            print(f"FAILED: dbt build reported errors (see above, and {console.log_dir() / 'dbt.log'})",
                  file=sys.stderr)
        return 1
    if report.skipped:
        for line in report.skipped:
            print(f"SKIPPED: {line}", file=sys.stderr)
        return EXIT_SKIPPED
    return 0


def _environment(args: argparse.Namespace, config_path: Path | None, wanted: list[str] | None,
                 held: contextlib.ExitStack, command: str):
    """runner.environment; once the configuration is complete, the warehouse is taken into `held`."""
    from orchestration import runner

    return runner.environment(config_path, use_sample=args.sample, sample_dir=_sample_dir(args),
                              scale=args.scale, anchor=_anchor(args), wanted=wanted,
                              ready=lambda: held.enter_context(_warehouse(args.target, command)))


@contextlib.contextmanager
def _warehouse(target: str, command: str):
    """The warehouse for one command: the run lock (one run at a time), then, on DuckDB, the file held open."""
    from orchestration import runlock, warehouse

    with runlock.hold(target, command), warehouse.held_open(target):
        yield


def _anchor(args: argparse.Namespace) -> date | None:
    return date.fromisoformat(args.anchor) if getattr(args, "anchor", None) else None


def cmd_load(args: argparse.Namespace) -> int:
    from orchestration import runner

    config_path = runner.org_config_path(args.org_config)
    with contextlib.ExitStack() as held, \
            _environment(args, config_path, ["org", args.source], held, "load") as (org, org_dir, _sample):
        counts = runner.load_source(args.source, org, org_dir, args.target, args.full_refresh)
    for table, n in counts.items():
        print(f"  {table:<40} {n:>10,}")
    for line in skipped_inputs(counts):
        print(f"SKIPPED: {args.source}: {line}", file=sys.stderr)
    return EXIT_SKIPPED if skipped_inputs(counts) else 0


def cmd_build(args: argparse.Namespace) -> int:
    from orchestration import runner

    with _warehouse(args.target, "build"), console.dbt_progress():
        counts = runner.dbt_build(args.target, select=args.select, full_refresh=args.full_refresh,
                                  unit_tests=args.unit_tests)
    print(f"dbt: {counts['models']} models built, {counts['tests_passed']} tests passed, "
          f"{counts['tests_warned']} warned, {counts['tests_failed']} failed; "
          f"dbt's log: {console.log_dir() / 'dbt.log'}")
    return 0 if counts.get("success") else 1


def cmd_report(args: argparse.Namespace) -> int:
    from orchestration.report import write_report

    print(f"Report: {write_report(args.target, Path(args.out).resolve() if args.out else None)}")
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from pipelines.sample.generate import generate_sample

    counts = generate_sample(args.out, scale=args.scale, seed=args.seed, anchor=_anchor(args))
    print(f"sample organisation written to {args.out}: {counts}")
    return 0


def cmd_serve_sample(args: argparse.Namespace) -> int:
    from orchestration import runner
    from pipelines.sample.server import SampleApiServer

    folder = runner.ensure_sample(_sample_dir(args), args.scale, _anchor(args))
    with SampleApiServer(folder, port=args.port, latency=args.latency) as server:
        delay = f", every answer delayed {server.latency * 1000:.0f} ms" if server.latency else ""
        print(f"serving the sample organisation of {folder} on {server.url}{delay} (Ctrl-C to stop)")
        print(f"  export SOURCES__JIRA__BASE_URL={server.url} SOURCES__GITHUB__BASE_URL={server.url}")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0


def _test_options(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--unit-tests", action="store_true", help="also run dbt's unit tests (model logic; CI runs them)")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="flowmart", description="Value-stream data warehouse: load, build, report.")
    p.add_argument("-v", "--verbose", action="store_true", help="every log line on the console")
    p.add_argument("--debug", action="store_true", help="show the traceback of an error")
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--target", choices=TARGETS, default=os.environ.get("FLOWMART_TARGET", "duckdb"),
                        help="warehouse: embedded DuckDB (default) or PostgreSQL (FLOWMART_PG_*)")
        sp.add_argument("--org-config", help="org config file (default: $FLOWMART_ORG_CONFIG or ./flowmart.yml)")
        sp.add_argument("--sample", action="store_true", help="use the built-in sample organisation")
        sp.add_argument("--sample-dir", help="where the sample is generated (default: beside the warehouse)")
        sp.add_argument("--scale", type=float, default=1.0, help="sample size multiplier (default 1)")
        sp.add_argument("--anchor", help="sample's last day, YYYY-MM-DD (default: today)")
        sp.add_argument("--full-refresh", action="store_true", help="reload every source from scratch")

    run = sub.add_parser("run", help="load every configured source, dbt build, print a summary")
    common(run)
    run.add_argument("--sources", nargs="*", help="only these sources (default: every configured one)")
    _test_options(run)
    run.set_defaults(func=cmd_run)

    load = sub.add_parser("load", help="load one source")
    load.add_argument("source", help="org, jira, github, git, survey or delivery")
    common(load)
    load.set_defaults(func=cmd_load)

    build = sub.add_parser("build", help="dbt build (models and tests)")
    build.add_argument("--target", choices=TARGETS, default=os.environ.get("FLOWMART_TARGET", "duckdb"))
    build.add_argument("--select", nargs="*")
    build.add_argument("--full-refresh", action="store_true",
                       help="passed on to dbt (every model is rebuilt in full on every build anyway)")
    _test_options(build)
    build.set_defaults(func=cmd_build)

    report = sub.add_parser("report", help="write the HTML report of the marts (warehouse/report/index.html)")
    report.add_argument("--target", choices=TARGETS, default=os.environ.get("FLOWMART_TARGET", "duckdb"))
    report.add_argument("--out", help="the file to write (default: warehouse/report/index.html)")
    report.set_defaults(func=cmd_report)

    init = sub.add_parser("init", help="write flowmart.yml from the example, filled from your Jira site")
    init.add_argument("--out", default="flowmart.yml", help="where to write it (default: ./flowmart.yml)")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(func=cmd_init)

    sample = sub.add_parser("sample", help="write the sample organisation to a folder")
    sample.add_argument("--out", default="sample_org")
    sample.add_argument("--scale", type=float, default=1.0)
    sample.add_argument("--seed", type=int, default=42)
    sample.add_argument("--anchor", help="last day of the sample, YYYY-MM-DD (default: today)")
    sample.set_defaults(func=cmd_sample)

    serve = sub.add_parser("serve-sample", help="serve the sample over HTTP like Jira Cloud and GitHub")
    serve.add_argument("--sample-dir")
    serve.add_argument("--scale", type=float, default=1.0)
    serve.add_argument("--anchor")
    serve.add_argument("--port", type=int, default=0)
    serve.add_argument("--latency", type=float, default=None, metavar="SECONDS",
                       help="delay every answer by this many seconds, like a network (default: "
                            "$FLOWMART_SAMPLE_LATENCY or 0)")
    serve.set_defaults(func=cmd_serve_sample)
    for command in sub.choices.values():  # --debug after the command too
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                             help="show the traceback of an error")
    return p


def cmd_init(args: argparse.Namespace) -> int:
    from orchestration import init

    path = Path(args.out).resolve()
    if path.exists() and not args.force:
        raise init.InitError(f"{path} exists; --force overwrites it")
    for line in init.write_config(path):
        print(line)
    return 0


def main(argv: list[str] | None = None) -> None:
    """Run a command. An error prints one message (the traceback with --debug) and exits non-zero: 2 for a
    configuration to fix, 1 for anything else; 3 (EXIT_SKIPPED) when `run` or `load` completed but skipped inputs
    it could not read (named in its output); 4 (EXIT_BUSY) when another run or a reader holds the warehouse."""
    from orchestration.init import InitError
    from orchestration.runlock import RunLocked
    from orchestration.runner import SettingsError
    from orchestration.warehouse import WarehouseBusy

    args = parser().parse_args(argv)
    console.setup_logging(args.verbose)
    console.stop_on_termination()
    try:
        code = args.func(args)
    except (OrgConfigError, SettingsError, InitError) as exc:
        if args.debug:
            raise
        print(f"flowmart: {exc}", file=sys.stderr)
        code = 2
    except (RunLocked, WarehouseBusy) as exc:
        print(f"flowmart: {exc}", file=sys.stderr)
        code = EXIT_BUSY
    except KeyboardInterrupt as exc:
        message, code = console.stopped(exc)
        print(f"flowmart: {message}", file=sys.stderr)
    except Exception as exc:  # noqa: BLE001 - one clear message; --debug shows the traceback
        stop = console.interruption(exc)
        if stop is not None:  # a signal, wrapped by dlt
            message, code = console.stopped(stop)
            print(f"flowmart: {message}", file=sys.stderr)
        elif args.debug:
            raise
        else:
            print(f"flowmart: {console.describe(exc)} (--debug shows the traceback)", file=sys.stderr)
            code = 1
    raise SystemExit(code)


if __name__ == "__main__":
    main()
