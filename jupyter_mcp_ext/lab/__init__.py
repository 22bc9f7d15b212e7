"""The person's context in JupyterLab (service and REST layers): the notebook and cell they have focused."""
