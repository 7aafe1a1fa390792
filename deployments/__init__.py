"""Schedules, event triggers and chained automations; `prefect.yaml` at the root names them."""
