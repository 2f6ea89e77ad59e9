"""What the benchmarks ran on, as flat `machine.*` / `versions.*` entries for results.json."""
from __future__ import annotations

import os
import platform
import re
import subprocess
from pathlib import Path

from spark_app.common.config import PROJECT_HOME

UNKNOWN = "unknown"


def describe() -> dict[str, object]:
    return {
        "machine.cpu": _cpu_model(),
        "machine.cores": os.cpu_count(),
        "machine.memory_gib": _memory_gib(),
        "versions.python": platform.python_version(),
        "versions.pyspark": _pyspark_version(),
        "versions.java": _java_version(),
        "versions.cassandra": _cassandra_version(),
    }


def _cpu_model() -> str:
    return _first_match(Path("/proc/cpuinfo"), r"^model name\s*:\s*(.+)$") or platform.machine()


def _memory_gib() -> float | str:
    kib = _first_match(Path("/proc/meminfo"), r"^MemTotal:\s*(\d+) kB$")
    return round(int(kib) / 2**20, 1) if kib else UNKNOWN


def _pyspark_version() -> str:
    import pyspark

    return pyspark.__version__


def _java_version() -> str:
    # The java Spark starts: JAVA_HOME's if set, else the one on PATH.
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else "java"
    try:
        answer = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return UNKNOWN
    lines = answer.stderr.strip().splitlines()  # java -version writes to stderr
    return lines[0] if lines else UNKNOWN


def _cassandra_version() -> str:
    pom = PROJECT_HOME / "conf" / "jvm" / "cassandra" / "pom.xml"
    return _first_match(pom, r"<cassandra\.version>([^<]+)</cassandra\.version>") or UNKNOWN


def _first_match(path: Path, pattern: str) -> str | None:
    try:
        match = re.search(pattern, path.read_text(), re.MULTILINE)
    except OSError:
        return None
    return match.group(1).strip() if match else None
