"""Integrations with external execution frameworks (Ray Tune). Imported lazily."""
