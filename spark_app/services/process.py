"""Process helpers shared by the local services: pid files checked against the
process's command line, ports, SIGTERM-then-SIGKILL, and the status line."""

from __future__ import annotations

import os
import signal
import socket
import time
from dataclasses import dataclass
from pathlib import Path


class ServiceError(RuntimeError):
    pass


@dataclass(frozen=True)
class Status:
    name: str
    pid: int | None
    answering: bool
    detail: str

    @property
    def state(self) -> str:
        if not self.pid:
            return "stopped"
        return "running" if self.answering else "starting"

    def line(self) -> str:
        return f"{self.name}: {self.state}" + (f" (pid {self.pid})" if self.pid else "") + \
            (f" — {self.detail}" if self.detail else "")


def recorded_pid(pid_file: Path, *arguments: str) -> int | None:
    """The pid in pid_file if that process is alive and its command line holds
    every one of `arguments` (so a recycled pid is never taken for ours)."""
    try:
        pid = int(pid_file.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    ours = all(argument.encode() in cmdline for argument in arguments)
    return pid if ours and alive(pid) else None


def stop_recorded(pid: int | None, pid_file: Path, name: str, echo, timeout_s: float) -> bool:
    """Stop the service whose pid was recorded (None: not running) and forget
    the pid file; whether there was one to stop."""
    if pid is not None:
        echo(f"stopping {name} (pid {pid})")
        terminate(pid, timeout_s)
    pid_file.unlink(missing_ok=True)
    return pid is not None


def terminate(pid: int, timeout_s: float) -> None:
    """SIGTERM, then SIGKILL after timeout_s; returns once the process has exited."""
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and alive(pid):
        time.sleep(0.1)
    if alive(pid):
        os.kill(pid, signal.SIGKILL)
        while alive(pid):
            time.sleep(0.1)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; it only waits to be reaped


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def java() -> str:
    """The JDK's java: $JAVA_HOME's when set, else the one on PATH."""
    java_home = os.environ.get("JAVA_HOME")
    return str(Path(java_home) / "bin" / "java") if java_home else "java"


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now (the OS picks it), for a service started next."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]
