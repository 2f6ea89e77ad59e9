"""`python -m schemas.migrations revision "what changes" [--autogenerate]`
writes the next numbered revision into versions/. With --autogenerate its
operations are what the models have and a throw-away SQLite database at the
head lacks; review them: autogenerate misses renames and data copies."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine

from schemas.migrations import SCRIPT_LOCATION, alembic_config, head_revision, upgrade


def next_revision_id(head: str) -> str:
    """Revisions are numbered 0001, 0002, … so that versions/ lists them in order."""
    return f"{int(head) + 1:04d}"


def write_revision(message: str, autogenerate: bool,
                   script_location: Path = SCRIPT_LOCATION) -> Path:
    revision_id = next_revision_id(head_revision(script_location))
    if not autogenerate:
        script = command.revision(alembic_config(None, script_location), message,
                                  rev_id=revision_id)
        return Path(script.path)
    with tempfile.TemporaryDirectory() as folder:
        engine = create_engine(f"sqlite:///{folder}/head.db")
        upgrade(engine, view_statements=[], script_location=script_location)
        with engine.connect() as connection:
            script = command.revision(alembic_config(connection, script_location), message,
                                      autogenerate=True, rev_id=revision_id)
        engine.dispose()
    return Path(script.path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m schemas.migrations",
                                     description="write a new relational schema revision")
    commands = parser.add_subparsers(dest="command", required=True)
    revision = commands.add_parser("revision", help="the next numbered revision, after the head")
    revision.add_argument("message", help="what the revision changes, one line")
    revision.add_argument("--autogenerate", action="store_true",
                          help="fill in the operations from the models' differences")
    args = parser.parse_args(argv)
    print(f"wrote {write_revision(args.message, args.autogenerate)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
