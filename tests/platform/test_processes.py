"""Pid-file liveness through psutil: zombies and recycled pids are not 'running'; stop() ends
the whole process group."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from minutes.platform.processes import Service, alive, start_identity


def _service(tmp_path: Path, pid: int) -> Service:
    svc = Service("probe", tmp_path, "http://127.0.0.1:9/healthz")
    svc.pid_file.write_text(str(pid))
    return svc


def test_a_running_process_is_alive_and_a_gone_one_is_not(tmp_path: Path) -> None:
    assert alive(os.getpid()) and _service(tmp_path, os.getpid()).pid() == os.getpid()
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert not alive(proc.pid)
    assert _service(tmp_path, proc.pid).pid() is None


def test_a_zombie_is_not_alive() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    ps = psutil.Process(proc.pid)
    for _ in range(200):  # until it has exited, unreaped
        if ps.status() == psutil.STATUS_ZOMBIE:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the child never exited")
    try:
        assert not alive(proc.pid)
    finally:
        proc.wait()


def test_a_pid_file_older_than_its_process_names_another_process(tmp_path: Path) -> None:
    """After a reboot the pid in an old file may belong to anyone: it must not be stopped."""
    svc = _service(tmp_path, os.getpid())
    long_ago = psutil.Process().create_time() - 3600
    os.utime(svc.pid_file, (long_ago, long_ago))
    assert svc.pid() is None and alive(os.getpid())


def test_a_service_is_known_by_its_start_identity_whatever_the_clock_says(tmp_path: Path) -> None:
    """A wall clock stepped forward after a service started (NTP, a resumed VM) makes its start
    time look later than its pid file: the start identity (boot and clock tick) does not move."""
    svc = Service("probe", tmp_path, "http://127.0.0.1:9/healthz")
    svc.write_pid(os.getpid())
    assert svc.pid_file.read_text().split(" ")[1] == start_identity(os.getpid())
    long_ago = psutil.Process().create_time() - 3600
    os.utime(svc.pid_file, (long_ago, long_ago))
    assert svc.pid() == os.getpid()


def test_a_recycled_pid_has_another_start_identity(tmp_path: Path) -> None:
    svc = Service("probe", tmp_path, "http://127.0.0.1:9/healthz")
    boot, ticks = start_identity(os.getpid()).split(":")
    svc.pid_file.write_text(f"{os.getpid()} {boot}:{int(ticks) + 1}")
    assert svc.pid() is None
    svc.pid_file.write_text(f"{os.getpid()} another-boot:{ticks}")
    assert svc.pid() is None and alive(os.getpid())


def test_stop_ends_the_process_group(tmp_path: Path) -> None:
    script = "import subprocess, time; subprocess.Popen(['sleep', '120']); time.sleep(120)"
    leader = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    svc = Service("probe", tmp_path, "http://127.0.0.1:9/healthz")
    svc.write_pid(leader.pid)
    for _ in range(200):  # until the grandchild exists
        if psutil.Process(leader.pid).children():
            break
        time.sleep(0.05)
    child = psutil.Process(leader.pid).children()[0]
    assert svc.pid() == leader.pid
    assert svc.stop(grace_s=20) is True
    assert leader.poll() is not None and svc.pid() is None and not svc.pid_file.exists()
    child.wait(timeout=20)  # SIGTERM reached the group, not only the leader
    assert not alive(child.pid)
    assert svc.stop() is False


def test_a_port_held_by_a_server_we_did_not_start_is_refused(tmp_path: Path) -> None:
    """A server of another work dir (or one whose store was deleted) answers the health check:
    starting ours must fail clearly instead of adopting it."""
    import http.server
    import threading

    from minutes.platform.processes import ForeignService

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        svc = Service("mlflow", tmp_path, f"http://127.0.0.1:{server.server_address[1]}/")
        with pytest.raises(ForeignService, match="not with a mlflow this work dir started"):
            svc.start([sys.executable, "-c", "pass"])
        assert not svc.pid_file.exists()
        svc.write_pid(os.getpid())  # ours (this process) holds it: reused, not started again
        assert svc.start([sys.executable, "-c", "raise SystemExit(3)"]) == os.getpid()
    finally:
        server.shutdown()
        server.server_close()
