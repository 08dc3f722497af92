"""A throwaway PostgreSQL server in a temporary folder on a loopback port: the answer log's
tests and `python -m minutes.bench feedback` run against it (the platform's own database runs in
the compose stack on chameleon).

Debian's `postgresql` package (installed by `make system-packages` as root) puts initdb, pg_ctl
and postgres under /usr/lib/postgresql/<version>/bin. Those refuse to run as root, so as root the
server runs as the `postgres` system user (runuser), in a folder given to that user. Logins over
TCP take a password (scram-sha-256), as on the platform. Each caller gets a database of its own.
"""
from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator


ADMIN = "minutes_admin"
INSTALL_HINT = ("PostgreSQL is not installed: this needs a real server (Debian package "
                "postgresql; `make system-packages` as root installs it)")


def bin_dir() -> Path | None:
    """The newest installed server's bin folder (Debian layout), else the one initdb is in on PATH."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    if found:
        return found[-1].parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


@dataclass
class PostgresServer:
    root: Path
    port: int
    password: str
    bin: Path
    run_as: list[str]
    _databases: int = 0

    def _run(self, *argv: str, timeout: float = 120) -> None:
        done = subprocess.run([*self.run_as, *argv], capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.is_file() else ""
            raise RuntimeError(f"{Path(argv[0]).name} failed ({done.returncode}): {done.stderr[-2000:]}\n{tail}")

    def url(self, database: str = "postgres", password: str | None = None) -> str:
        pw = self.password if password is None else password
        return f"postgresql://{ADMIN}:{pw}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database; returns its URL."""
        import psycopg

        self._databases += 1
        name = f"test_{self._databases}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name}")  # type: ignore[arg-type]  # our own name
            conn.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
        return self.url(name)

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.root / "data"), "-m", "fast", "-w", "stop")


def start(port: int, wait_s: int = 60) -> Iterator[PostgresServer]:
    """Start a server (initdb, pg_ctl start) and yield it; stopped and removed afterwards."""
    bins = bin_dir()
    if bins is None:
        raise FileNotFoundError(INSTALL_HINT)
    root = Path(tempfile.mkdtemp(prefix="minutes-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")  # the package's system user
        os.chown(root, user.pw_uid, user.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    password = secrets.token_urlsafe(16)
    server = PostgresServer(root, port, password, bins, run_as)
    pwfile = root / "pwfile"
    pwfile.write_text(password + "\n")
    if run_as:
        os.chown(pwfile, user.pw_uid, user.pw_gid)
    pwfile.chmod(0o600)
    started = False
    try:
        server._run(str(bins / "initdb"), "-D", str(root / "data"), "-U", ADMIN, f"--pwfile={pwfile}",
                    "--auth-local=scram-sha-256", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C",
                    "--no-instructions")
        pwfile.unlink()
        opts = (f"-c listen_addresses=127.0.0.1 -p {server.port} -c unix_socket_directories={root} "
                "-c max_connections=60 -c fsync=on")
        server._run(str(bins / "pg_ctl"), "-D", str(root / "data"), "-l", str(root / "server.log"),
                    "-o", opts, "-w", "-t", str(wait_s), "start", timeout=wait_s + 30)
        started = True
        yield server
    finally:
        try:
            if started:
                server.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)
