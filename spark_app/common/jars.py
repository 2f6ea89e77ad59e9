"""JVM artifacts fetched by Maven from the poms under conf/jvm/ into var/jars/.

Each bundle is fetched once; a stamp holding the pom's hash tells whether the
folder still matches its pom, so editing a pom refetches and nothing else does.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from spark_app.common.config import PROJECT_HOME, Config

# kafka: Spark's Kafka source (stream.source = "kafka"); kafka-broker is fetched by the
# Kafka tests only, when they first need it.
BUNDLES = ("cassandra", "spark", "kafka")


class JarsError(RuntimeError):
    pass


def pom_path(bundle: str) -> Path:
    return PROJECT_HOME / "conf" / "jvm" / bundle / "pom.xml"


def bundle_dir(config: Config, bundle: str) -> Path:
    return config.var_dir / "jars" / bundle


def ensure_bundle(config: Config, bundle: str, quiet: bool = True) -> Path:
    """The folder of the bundle's jars, fetching them first if needed."""
    target = bundle_dir(config, bundle)
    pom = pom_path(bundle)
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()
    stamp = target / ".pom.sha256"
    if stamp.exists() and stamp.read_text().strip() == digest:
        return target
    if shutil.which("mvn") is None:
        raise JarsError("Maven (mvn) is needed to fetch the JVM artifacts; install it first")
    if target.exists():
        shutil.rmtree(target)
    command = [
        "mvn", "-B", *(["-q"] if quiet else []), "-f", str(pom),
        f"-Dmaven.repo.local={config.var_dir / 'm2'}",
        "dependency:copy-dependencies", "-DincludeScope=runtime",
        f"-DoutputDirectory={target}",
    ]
    result = subprocess.run(command, capture_output=quiet, text=True)
    if result.returncode != 0:
        detail = (result.stdout or "")[-3000:] if quiet else ""
        raise JarsError(f"fetching the {bundle} jars failed (mvn exit {result.returncode})\n{detail}")
    stamp.write_text(digest + "\n")
    return target


def jar_paths(config: Config, bundle: str) -> list[Path]:
    return sorted(ensure_bundle(config, bundle).glob("*.jar"))
