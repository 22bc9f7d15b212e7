"""The person's context in JupyterLab: which notebook and cell they have focused, as their Lab reports it."""
