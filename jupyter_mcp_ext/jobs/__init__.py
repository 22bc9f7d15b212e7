"""Notebook jobs (service layer, REST handlers, the job process): Papermill runs, their records, a REST API."""
