"""`make airflow-up` / `make airflow-down` as a user runs them: the real Airflow 3
components from .venv-airflow on a throw-away var/ (paths.var_dir), the login
it prints accepted by the api-server, and down stopping every process it started."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from spark_app.services.process import alive, free_port
from tests.support.airflow_dags import AIRFLOW_PYTHON

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not AIRFLOW_PYTHON.exists(), reason="make airflow installs .venv-airflow")]

PROJECT = Path(__file__).resolve().parents[2]


def _airflow(env, *args):
    return subprocess.run([sys.executable, "-m", "spark_app.services.airflow", *args],
                          capture_output=True, text=True, env=env, cwd=PROJECT, timeout=900)


def _api(url, token=None, body=None):
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body else None,
                                     headers={"Content-Type": "application/json",
                                              **({"Authorization": f"Bearer {token}"}
                                                 if token else {})})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_airflow_up_prints_a_working_login_and_down_stops_everything(tmp_path):
    port = free_port()
    env = {**os.environ, "FLEETWATCH_PATHS_VAR_DIR": str(tmp_path)}
    env.pop("FLEETWATCH_AIRFLOW_PASSWORD", None)
    pids: dict[str, int] = {}
    started = _airflow(env, "up", "--port", str(port))
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        login = re.search(r"^Airflow UI: (http://127\.0\.0\.1:\d+)  \(user admin, password (\S+), "
                          r"kept in (\S+)\)$", started.stdout, re.MULTILINE)
        assert login, started.stdout
        url, password, kept_in = login.groups()
        assert url == f"http://127.0.0.1:{port}"
        assert Path(kept_in) == tmp_path / "airflow" / "passwords.json"
        assert Path(kept_in).stat().st_mode & 0o077 == 0  # its owner's only
        token = _api(f"{url}/auth/token", body={"username": "admin", "password": password})
        dags = _api(f"{url}/api/v2/dags", token["access_token"])["dags"]
        assert sorted((dag["dag_id"], dag["is_paused"]) for dag in dags) == [
            ("fleetwatch_daily", True), ("fleetwatch_ingest", True)]
        again = _airflow(env, "up", "--port", str(port))
        assert again.returncode == 0 and again.stdout.startswith(
            f"Airflow is already running: {url} (user admin, password {password}"), again.stdout
        pids = {path.stem: int(path.read_text())
                for path in (tmp_path / "airflow" / "pids").glob("*.pid")}
        assert sorted(pids) == ["api-server", "dag-processor", "scheduler", "triggerer"]
        assert sorted(path.name for path in (tmp_path / "log" / "airflow").glob("*.log")) == [
            "api-server.log", "dag-processor.log", "scheduler.log", "triggerer.log"]
    finally:
        stopped = _airflow(env, "down")
    assert stopped.returncode == 0
    assert stopped.stdout.splitlines()[-1] == "Airflow stopped"
    assert [name for name, pid in pids.items() if alive(pid)] == []
    assert _airflow(env, "down").stdout == "Airflow was not running\n"
