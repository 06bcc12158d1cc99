"""A throwaway PostgreSQL server for the tests: installed from Debian packages when absent, `initdb` in
a temporary folder (as the postgres user when running as root), a free local port, stopped at the end."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PASSWORD = "flowmart"


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def ensure_installed() -> Path:
    bin_dir = _bin_dir()
    if bin_dir is None and os.geteuid() == 0 and shutil.which("apt-get"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "postgresql"], check=True, env=env)
        bin_dir = _bin_dir()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL is not installed and cannot be installed here (apt-get install postgresql)")
    return bin_dir


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    def __init__(self, settings: dict[str, str] | None = None) -> None:
        """`settings`: more server settings (`-c name=value`), e.g. memory for a benchmark."""
        self.settings = settings or {}
        self.bin_dir = ensure_installed()
        self.root = Path(tempfile.mkdtemp(prefix="flowmart-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.as_root = os.geteuid() == 0

    def _run(self, *cmd: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_root else []
        subprocess.run([*prefix, *cmd], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self) -> PostgresServer:
        self.data.mkdir(parents=True)
        pwfile = self.root / "pw"
        pwfile.write_text(PASSWORD)
        if self.as_root:
            shutil.chown(self.root, "postgres")
            shutil.chown(self.data, "postgres")
            shutil.chown(pwfile, "postgres")
        self._run(str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "scram-sha-256",
                  f"--pwfile={pwfile}", "-E", "UTF8", "--locale=C")
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"), "-w", "-o",
                  f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                  "-c synchronous_commit=off -c full_page_writes=off"
                  + "".join(f" -c {name}={value}" for name, value in self.settings.items()), "start")
        self._wait()
        conn = self.connect("postgres")
        with conn.cursor() as cur:
            cur.execute("create database flowmart")
        conn.close()
        return self

    def _wait(self) -> None:
        deadline = time.time() + 30
        while time.time() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.2)
        raise RuntimeError("PostgreSQL did not start: " + (self.root / "log").read_text()[-2000:])

    def connect(self, dbname: str = "flowmart", user: str = "postgres", password: str = PASSWORD):
        """A psycopg2 connection to `dbname`, in autocommit."""
        import psycopg2

        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user=user, password=password, dbname=dbname)
        conn.autocommit = True
        return conn

    def env(self) -> dict[str, str]:
        return {"FLOWMART_PG_HOST": "127.0.0.1", "FLOWMART_PG_PORT": str(self.port), "FLOWMART_PG_USER": "postgres",
                "FLOWMART_PG_PASSWORD": PASSWORD, "FLOWMART_PG_DBNAME": "flowmart"}

    def stop(self) -> None:
        try:
            self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
