"""Pipelines fleetwatch is measured against (not used by the application)."""
