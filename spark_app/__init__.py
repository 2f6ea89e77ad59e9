"""fleetwatch: one folder per box of the data flow (ARCHITECTURE.md), `cli.py` only assembling their commands.
Boxes import inward (`rules/`, `schemas/`, `spark_app.common`) and never another box's `_private` names."""
