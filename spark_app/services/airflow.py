"""A local Airflow 3 on the project's DAGs (`make airflow-up`, `make airflow-down`):
api-server (UI and execution API), scheduler, dag-processor and triggerer from
.venv-airflow, LocalExecutor, SQLite metadata in var/airflow, logs in
var/log/airflow (var/ is paths.var_dir), each component a process group of its own recorded in
var/airflow/pids so that `down` stops it with every task it started, and
nothing else. The integration tests run the same deployment on a throw-away home.

    python -m spark_app.services.airflow up [--port 8080] [--unpause DAG_ID …]
    python -m spark_app.services.airflow down

Login: the simple auth manager's user `admin`, its password the one of
FLEETWATCH_AIRFLOW_PASSWORD when set, else the one Airflow generates (printed,
and kept in var/airflow/passwords.json, readable by its owner only). Airflow's
configuration is in the components' environment (AIRFLOW__*), never in a file
of the repository; AIRFLOW_CONN_* variables of the caller are the connections.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from spark_app.common.config import load_config
from spark_app.services.process import alive, port_open

PROJECT = Path(__file__).resolve().parents[2]
AIRFLOW_BIN = PROJECT / ".venv-airflow" / "bin" / "airflow"
USER = "admin"
# Spark on this machine unless the caller defines the connection.
DEFAULT_CONNECTIONS = {"fleetwatch_spark": {"conn_type": "spark", "host": "local[*]"}}


def airflow_env(home: Path, connections: dict[str, dict] | None = None,
                extra_env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment every Airflow process of a deployment on `home` runs with."""
    env = {
        **os.environ,
        # Airflow's own programs (the scheduler starts `airflow` subprocesses) first.
        "PATH": f"{AIRFLOW_BIN.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "FLEETWATCH_HOME": str(PROJECT),
        **{f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(spec)
           for conn_id, spec in (connections or {}).items()},
        **(extra_env or {}),
    }
    env.pop("PYTHONPATH", None)
    return env


class AirflowDeployment:
    """api-server, scheduler, dag-processor (and triggerer) on one Airflow home,
    as production runs them."""

    def __init__(self, home: Path, env: dict[str, str], port: int, log_dir: Path,
                 ui: bool = True):
        self.home, self.env, self.port, self.log_dir = home, env, port, log_dir
        self.pid_dir = home / "pids"
        env.update({
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "1",  # one task at a time on a small machine
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            # Scheduler and api-server must share it; from the environment, not airflow.cfg.
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.passwords_file),
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(log_dir),
            "AIRFLOW__LOGGING__DAG_PROCESSOR_CHILD_PROCESS_LOG_DIRECTORY":
                str(log_dir / "dag_processor"),
            # A worker's calls to the execution API: on a busy machine the api-server may
            # take longer than the default 5 s, and a task that cannot start is failed.
            "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "60",
            # The DAGs are parsed at start; parsing them again every 30 s only slows runs.
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "600",
        })
        api = ["api-server", "--workers", "1", "--host", "127.0.0.1", "--port", str(port)]
        self.components = {"api-server": api if ui else [*api, "--apps", "execution"],
                           "scheduler": ["scheduler"], "dag-processor": ["dag-processor"]}
        if ui:  # deferred tasks; the DAGs have none, a deployment has one
            self.components["triggerer"] = ["triggerer"]
        self.processes: dict[str, subprocess.Popen] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def passwords_file(self) -> Path:
        return self.home / "passwords.json"

    def airflow(self, *args: str, timeout: int = 600) -> str:
        result = subprocess.run([str(AIRFLOW_BIN), *args], capture_output=True, text=True,
                                env=self.env, cwd=self.home, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"airflow {' '.join(args)} exited {result.returncode}:\n"
                               f"{result.stdout[-4000:]}\n{result.stderr[-8000:]}")
        return result.stdout

    def start(self, unpaused: tuple[str, ...] = (), migrate: bool = True) -> None:
        """Migrate the metadata database (unless already done), parse the DAGs into
        it, unpause those named (their first unpause: catchup starts from there),
        start the components."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.pid_dir.mkdir(exist_ok=True)
        if migrate:
            self.airflow("db", "migrate")
        self.airflow("dags", "reserialize")
        for dag_id in unpaused:
            self.airflow("dags", "unpause", dag_id)
        for name, args in self.components.items():
            with open(self.log_dir / f"{name}.log", "a") as log:  # the child keeps its copy
                process = subprocess.Popen(
                    [str(AIRFLOW_BIN), *args], env=self.env, cwd=self.home, stdout=log,
                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
            self.processes[name] = process
            (self.pid_dir / f"{name}.pid").write_text(f"{process.pid}\n")

    def wait_until_answering(self, timeout_s: float = 180) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited {process.returncode}; see "
                                       f"{self.log_dir / (name + '.log')}")
            with contextlib.suppress(OSError, urllib.error.URLError):
                with urllib.request.urlopen(f"{self.url}/api/v2/monitor/health", timeout=5):
                    return
            time.sleep(2)
        raise RuntimeError(f"the api-server does not answer at {self.url} after "
                           f"{timeout_s:.0f} s; see {self.log_dir / 'api-server.log'}")

    def stop(self) -> None:
        stop_recorded(self.pid_dir)

    def __enter__(self) -> AirflowDeployment:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def stop_recorded(pid_dir: Path, echo=lambda line: None, timeout_s: float = 30) -> list[str]:
    """SIGTERM each recorded component's process group (the component, its task
    workers and their spark-submit), SIGKILL what is left after timeout_s; the
    names of the components that were running."""
    groups = {}
    for pid_file in sorted(pid_dir.glob("*.pid")):
        with contextlib.suppress(ValueError, OSError):
            pid = int(pid_file.read_text())
            # Ours only: a recycled pid would not lead its own group with the same id.
            if alive(pid) and os.getpgid(pid) == pid:
                groups[pid_file.stem] = pid
                echo(f"stopping {pid_file.stem} (process group {pid})")
                os.killpg(pid, signal.SIGTERM)
        pid_file.unlink(missing_ok=True)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and any(_group_alive(pid) for pid in groups.values()):
        time.sleep(0.2)
    for pid in groups.values():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    for pid in groups.values():  # reap our own children (tests start them in-process)
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, 0)
    return list(groups)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return alive(pgid) or _members(pgid)


def _members(pgid: int) -> bool:
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False


def local_deployment(var_dir: Path, port: int) -> AirflowDeployment:
    home = var_dir / "airflow"
    connections = {conn_id: spec for conn_id, spec in DEFAULT_CONNECTIONS.items()
                   if f"AIRFLOW_CONN_{conn_id.upper()}" not in os.environ}
    return AirflowDeployment(home, airflow_env(home, connections), port,
                             var_dir / "log" / "airflow")


def up(var_dir: Path, port: int, unpaused: tuple[str, ...], echo=print) -> int:
    if not AIRFLOW_BIN.exists():
        echo("fleetwatch: .venv-airflow is missing; `make airflow` builds it")
        return 2
    deployment = local_deployment(var_dir, port)
    url_file = deployment.home / "url"
    if running(deployment.pid_dir):
        for dag_id in unpaused:
            deployment.airflow("dags", "unpause", dag_id)
        echo(f"Airflow is already running: {url_file.read_text().strip()} "
             f"({_login(deployment)}); make airflow-down stops it")
        return 0
    if port_open("127.0.0.1", port):
        echo(f"fleetwatch: port {port} is taken; choose another: make airflow-up AIRFLOW_PORT=…")
        return 2
    password = os.environ.get("FLEETWATCH_AIRFLOW_PASSWORD")
    deployment.home.mkdir(parents=True, exist_ok=True)
    if password:
        _write_private(deployment.passwords_file, json.dumps({USER: password}) + "\n")
    echo(f"starting Airflow on {deployment.home} (logs in {deployment.log_dir})")
    try:
        deployment.start(unpaused)
        deployment.wait_until_answering()
    except (RuntimeError, subprocess.TimeoutExpired) as error:
        deployment.stop()
        echo(f"fleetwatch: Airflow did not start: {error}")
        return 1
    url_file.write_text(f"{deployment.url}\n")
    echo(f"Airflow UI: {deployment.url}  ({_login(deployment)})")
    echo("DAGs: fleetwatch_ingest, fleetwatch_daily"
         + (f"; unpaused: {', '.join(unpaused)}" if unpaused else
            " (paused: unpause them in the UI, or make airflow-up UNPAUSE=\"fleetwatch_ingest "
            "fleetwatch_daily\")"))
    echo("stop it with: make airflow-down")
    return 0


def running(pid_dir: Path) -> list[str]:
    """The recorded components still running."""
    names = []
    for pid_file in sorted(pid_dir.glob("*.pid")):
        with contextlib.suppress(ValueError, OSError):
            pid = int(pid_file.read_text())
            if alive(pid) and os.getpgid(pid) == pid:
                names.append(pid_file.stem)
    return names


def _login(deployment: AirflowDeployment) -> str:
    """The login line: the password Airflow generated (or was given), from its file."""
    try:
        deployment.passwords_file.chmod(0o600)
        password = json.loads(deployment.passwords_file.read_text())[USER]
    except (OSError, ValueError, KeyError):
        return f"user {USER}; its password is in {deployment.log_dir / 'api-server.log'}"
    return f"user {USER}, password {password}, kept in {deployment.passwords_file}"


def _write_private(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)


def down(var_dir: Path, echo=print) -> int:
    stopped = stop_recorded(var_dir / "airflow" / "pids", echo)
    echo("Airflow stopped" if stopped else "Airflow was not running")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spark_app.services.airflow",
                                     description="a local Airflow 3 on the project's DAGs")
    actions = parser.add_subparsers(dest="action", required=True)
    start = actions.add_parser("up", help="start it (idempotent) and print the UI's address")
    start.add_argument("--port", type=int, default=8080, help="the UI's port (default 8080)")
    start.add_argument("--unpause", nargs="*", default=[], metavar="DAG_ID",
                       help="DAGs to unpause")
    actions.add_parser("down", help="stop every process it started")
    args = parser.parse_args(argv)
    var_dir = load_config().var_dir  # paths.var_dir (FLEETWATCH_PATHS_VAR_DIR)
    if args.action == "up":
        return up(var_dir, args.port, tuple(args.unpause))
    return down(var_dir)


if __name__ == "__main__":
    sys.exit(main())
