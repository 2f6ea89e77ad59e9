"""Running a command with its stderr on a real pseudo-terminal, as a person at a
terminal sees it (stdout stays a pipe: results stay apart from the display)."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import termios
from dataclasses import dataclass


@dataclass(frozen=True)
class TerminalRun:
    returncode: int
    stdout: str
    terminal: str  # everything written to the terminal, control characters included


def run_on_a_terminal(command: list[str], env: dict[str, str] | None = None,
                      timeout: float = 300) -> TerminalRun:
    leader, follower = pty.openpty()
    # 24 rows of 100 columns: a fresh pseudo-terminal has no size, and tqdm draws to the width
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=follower, text=True,
                               env=env)
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 1 << 16)
        except OSError:  # EIO: the command closed its end
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    stdout = process.stdout.read()
    return TerminalRun(process.wait(timeout=timeout), stdout, shown.decode(errors="replace"))
