"""Notebook jobs: Papermill runs in their own processes, their records in SQLite, a REST API."""
