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
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return pid

    def healthy(self, timeout: float = 2.0) -> bool:
        try:
            with urllib.request.urlopen(self.health_url, timeout=timeout) as resp:
                return 200 <= resp.status < 300
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def start(self, argv: list[str], env: dict[str, str] | None = None, wait_s: float = 90.0) -> int:
        """Start unless already healthy; wait until the health URL answers. Returns the pid."""
        if self.healthy():
            return self.pid() or -1
        self.state_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_file.open("ab")
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env={**os.environ, **(env or {})}, start_new_session=True)
        self.pid_file.write_text(str(proc.pid))
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
        deadline = time.time() + grace_s
        while time.time() < deadline and self.pid() is not None:
            time.sleep(0.2)
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
