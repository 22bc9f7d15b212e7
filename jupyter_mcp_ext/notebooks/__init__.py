"""Notebooks (service layer): reads, edits and writes of notebooks, as files or as live documents."""
