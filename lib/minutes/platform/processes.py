"""Background services with pid files, logs and health checks (MLflow, the API server)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psutil

from minutes.io import write_text

#: Seconds a process's start time may trail its pid file's write (psutil derives it from boot time).
#: Only for pid files without a start identity (written elsewhere, or where /proc is missing).
START_SLACK_S = 2.0


def start_identity(pid: int) -> str | None:
    """The boot and the clock tick a process started at (Linux /proc), which a recycled pid cannot
    share. Unlike a start time in seconds it does not move when the wall clock is stepped (NTP, a
    resumed VM): psutil's create_time does, so comparing it with a pid file's mtime misreads a
    running service as gone, and then leaves it running."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()  # after the command name, which may hold spaces
    return f"{boot}:{fields[19]}" if len(fields) > 19 else None  # field 22, starttime


def alive(pid: int, started_by: float | None = None) -> bool:
    """Whether `pid` is a live process (not a zombie), started no later than `started_by` (a
    time.time()) when given: a later one is another process that was handed a recycled pid."""
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return started_by is None or proc.create_time() <= started_by + START_SLACK_S
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:  # someone else's process: it exists
        return True


class ForeignService(RuntimeError):
    """The port answers, but not with a process this work dir started."""


@dataclass
class Service:
    """A long-running process started in its own process group, tracked by a pid file."""

    name: str
    state_dir: Path
    health_url: str

    @property
    def pid_file(self) -> Path:
        return self.state_dir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.state_dir / f"{self.name}.log"

    def pid(self) -> int | None:
        """The pid file's process while it runs; None when it exited (or its pid went to another).
        The file holds the pid and its start identity; a file with the pid alone falls back to
        comparing start time and the file's mtime."""
        try:
            pid_text, _, identity = self.pid_file.read_text().strip().partition(" ")
            pid = int(pid_text)
            written = self.pid_file.stat().st_mtime
        except (FileNotFoundError, ValueError):
            return None
        if identity:
            return pid if alive(pid) and start_identity(pid) == identity else None
        return pid if alive(pid, started_by=written) else None

    def write_pid(self, pid: int) -> None:
        identity = start_identity(pid)
        write_text(self.pid_file, f"{pid} {identity}" if identity else str(pid))

    def healthy(self, timeout: float = 2.0) -> bool:
        try:
            with urllib.request.urlopen(self.health_url, timeout=timeout) as resp:
                return 200 <= resp.status < 300
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def check_ours(self) -> bool:
        """Whether the health URL answers (False: nothing does). Raises ForeignService when it
        answers but the pid file names no live process: another checkout's or work dir's server
        holds the port, and reusing it would read and write that one's data (or none: a server
        whose store was deleted answers its health check and then 503 to every write)."""
        if not self.healthy():
            return False
        if self.pid() is None:
            raise ForeignService(f"{self.health_url.rsplit('/', 1)[0]} answers, but not with a {self.name} "
                                 "this work dir started (another checkout or work dir holds the port): "
                                 "stop that one, or give this profile another port")
        return True

    def start(self, argv: list[str], env: dict[str, str] | None = None, wait_s: float = 90.0) -> int:
        """Start unless already running (ours); wait until the health URL answers. Returns the pid."""
        if self.check_ours():
            return int(self.pid() or -1)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_file.open("ab")
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env={**os.environ, **(env or {})}, start_new_session=True)
        self.write_pid(proc.pid)
        deadline = time.time() + wait_s
        while time.time() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with code {proc.returncode}; see {self.log_file}:\n"
                                   + tail(self.log_file))
            if self.healthy():
                return proc.pid
            time.sleep(0.5)
        self.stop()
        raise TimeoutError(f"{self.name} not healthy at {self.health_url} after {wait_s:.0f} s; "
                           f"see {self.log_file}:\n" + tail(self.log_file))

    def stop(self, grace_s: float = 10.0) -> bool:
        """Stop the whole process group; True if something was running."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            psutil.wait_procs([psutil.Process(pid)], timeout=grace_s)  # reaps it when it is our child
        except psutil.NoSuchProcess:
            pass
        if self.pid() is not None:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.pid_file.unlink(missing_ok=True)
        return True


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def free_port(band: range, exclude: "tuple[int, ...] | list[int]" = ()) -> int:
    """A loopback port of `band` nothing listens on now (bound and released, like the OS's port 0),
    tried in a random order so concurrent runs rarely pick the same one."""
    import random

    for port in random.sample(band, len(band)):
        if port in exclude:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free loopback port in {band.start}-{band.stop - 1}")
