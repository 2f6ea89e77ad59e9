"""A local PostgreSQL from Debian's server binaries (`make postgres` installs them),
for trying the production store: `fleetwatch services start --postgres`, and the
relational tests' throw-away cluster.

It listens on no TCP port, only on a Unix socket in a folder of its own that only
the server's system user (and root) may enter; connections there are trusted, so
there is no password to generate, print or keep. The URL to export names the
socket folder: postgresql+psycopg://fleetwatch@/fleetwatch?host=<folder>. The
database `fleetwatch` belongs to the role `fleetwatch`, which is no superuser:
what fleetwatch needs in production too.
"""

from __future__ import annotations

import glob
import logging
import os
import pwd
import subprocess
from pathlib import Path

from spark_app.common.config import Config
from spark_app.services.process import ServiceError, Status, recorded_pid

log = logging.getLogger(__name__)

ROLE = "fleetwatch"
DATABASE = "fleetwatch"
# Only the socket's file name carries the port (no TCP): any number works, each
# cluster has its own folder.
SOCKET_PORT = 5432
# A Unix socket path is at most 107 bytes (sun_path).
MAX_SOCKET_PATH = 107
START_TIMEOUT_S = 60


def server_binaries() -> Path:
    """The newest installed PostgreSQL's bin folder."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda path: int(Path(path).parts[-3]))
    if not found:
        raise ServiceError("PostgreSQL's server binaries are not installed (no "
                           "/usr/lib/postgresql/*/bin/initdb); `make postgres` installs them")
    return Path(found[-1]).parent


class LocalPostgres:
    name = "postgres"

    def __init__(self, config: Config, root: Path | None = None):
        """root: where data, socket and log live (default <var>/postgres)."""
        self.root = root or config.var_dir / "postgres"
        self.data = self.root / "data"
        self.socket_dir = self.root / "socket"
        self.log_file = self.root / "server.log"
        self.pid_file = (self.root if root else config.var_dir / "run") / "postgres.pid"

    def url(self, database: str = DATABASE) -> str:
        """The SQLAlchemy URL of `database` through the socket, as the fleetwatch role."""
        return (f"postgresql+psycopg://{ROLE}@/{database}"
                f"?host={self.socket_dir}&port={SOCKET_PORT}")

    # ---- state -------------------------------------------------------------
    def pid(self) -> int | None:
        """The recorded pid if that process is alive and is the server of our data folder."""
        return recorded_pid(self.pid_file, str(self.data))

    def answering(self) -> bool:
        result = subprocess.run([str(server_binaries() / "pg_isready"), "-q", "-h",
                                 str(self.socket_dir), "-p", str(SOCKET_PORT)],
                                capture_output=True)
        return result.returncode == 0

    def status(self) -> Status:
        pid = self.pid()
        answering = pid is not None and self.answering()
        detail = f"socket in {self.socket_dir}" if answering else ""
        return Status(self.name, pid, answering, detail)

    # ---- start / stop ------------------------------------------------------
    def start(self, echo=log.info) -> Status:
        if self.pid():
            return self.status()
        bin_dir = server_binaries()
        socket_path = self.socket_dir / f".s.PGSQL.{SOCKET_PORT}"
        if len(str(socket_path)) > MAX_SOCKET_PATH:
            raise ServiceError(f"the socket path {socket_path} is longer than "
                               f"{MAX_SOCKET_PATH} bytes; use a shorter paths.var_dir")
        created = not (self.data / "PG_VERSION").exists()
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        self._own(self.root, self.socket_dir)
        os.chmod(self.socket_dir, 0o700)
        if self._run_as() and subprocess.run([*self._run_as(), "test", "-w", str(self.root)],
                                             capture_output=True).returncode != 0:
            raise ServiceError(f"the postgres user cannot reach {self.root}: a folder above it "
                               "is closed to other users; choose a paths.var_dir it can enter")
        if created:
            echo(f"creating a PostgreSQL cluster in {self.data}")
            self._run(bin_dir / "initdb", "-D", str(self.data), "-U", "postgres",
                      "--auth-local=trust", "--auth-host=reject", "-E", "UTF8", "--no-sync")
        self._run(bin_dir / "pg_ctl", "-D", str(self.data), "-w", "-t", str(START_TIMEOUT_S),
                  "-l", str(self.log_file), "-o",
                  f"-p {SOCKET_PORT} -k {self.socket_dir} -c listen_addresses=''", "start")
        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        self.pid_file.write_text(f"{pid}\n")
        if created:
            self._psql("postgres", f"CREATE ROLE {ROLE} LOGIN")
            self._psql("postgres", f"CREATE DATABASE {DATABASE} OWNER {ROLE}")
        echo(f"PostgreSQL answers on {self.socket_dir} (pid {pid})")
        return self.status()

    def create_database(self, name: str) -> str:
        """Another database owned by the fleetwatch role (for tests); its URL."""
        if not name.isidentifier():
            raise ValueError(f"not a plain database name: {name!r}")
        self._psql("postgres", f'CREATE DATABASE "{name}" OWNER {ROLE}')
        return self.url(name)

    def stop(self, echo=log.info, timeout_s: float = 60) -> bool:
        pid = self.pid()
        if pid is not None:
            echo(f"stopping PostgreSQL (pid {pid})")
            # fast: disconnect the clients and shut down cleanly (SIGTERM would wait for them)
            self._run(server_binaries() / "pg_ctl", "-D", str(self.data), "-m", "fast", "-w",
                      "-t", str(int(timeout_s)), "stop")
        self.pid_file.unlink(missing_ok=True)
        return pid is not None

    # ---- helpers -----------------------------------------------------------
    def _run_as(self) -> list[str]:
        # initdb and the server refuse to run as root: as root, they run as `postgres`
        return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _own(self, *paths: Path) -> None:
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            for path in paths:
                os.chown(path, user.pw_uid, user.pw_gid)

    def _run(self, program: Path, *arguments: str) -> None:
        result = subprocess.run([*self._run_as(), str(program), *arguments],
                                capture_output=True, text=True)
        if result.returncode != 0:
            log = self.log_file.read_text(errors="replace")[-2000:] if self.log_file.exists() \
                else ""
            raise ServiceError(f"{program.name} failed (exit {result.returncode}): "
                               f"{result.stderr.strip()}\n{log}")

    def _psql(self, database: str, statement: str) -> None:
        self._run(server_binaries() / "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
                  "-h", str(self.socket_dir), "-p", str(SOCKET_PORT), "-U", "postgres",
                  "-d", database, "-c", statement)
