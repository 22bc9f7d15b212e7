"""Agent changes (service and REST layers): the record of every change an MCP client makes to a notebook.

``diff.py`` finds the cells one write touched and plans a revert; ``store.py`` keeps the records
in SQLite; ``service.py`` records the edits of MCP tool calls, lists, keeps and reverts them;
``handlers.py`` is the REST API under ``jupyter-mcp-ext/changes`` that JupyterLab's review uses.
"""
