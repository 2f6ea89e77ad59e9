"""A throw-away PostgreSQL cluster for the relational tests: the same LocalPostgres
as `fleetwatch services start --postgres` (Debian's server binaries, installed by
`make test` when missing; Unix socket only), data in a temporary folder under
var/, removed afterwards."""

from __future__ import annotations

import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from spark_app.common.config import Config
from spark_app.services.postgres import LocalPostgres


@contextmanager
def throwaway_postgres(config: Config, var_dir: Path):
    """Yields a SQLAlchemy URL of an empty database; stops and deletes it after."""
    var_dir.mkdir(parents=True, exist_ok=True)
    # short: the socket's path must fit in 107 bytes
    root = Path(tempfile.mkdtemp(prefix="pg-", dir=var_dir))
    server = LocalPostgres(config, root=root)
    try:
        server.start(echo=lambda *_: None)
        yield server.create_database("fleetwatch_test")
    finally:
        server.stop(echo=lambda *_: None)
        shutil.rmtree(root, ignore_errors=True)
