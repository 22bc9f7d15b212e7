"""The notebook service: ContentsManager-backed reads/writes, per-path locks, cell addressing."""
