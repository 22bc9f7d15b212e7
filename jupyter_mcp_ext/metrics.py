"""Prometheus metrics (infrastructure), exported through Jupyter Server's own ``/metrics`` endpoint.

The names of the first four are those of the standalone jupyter-papermill MCP server
(original-readme.md, "Métriques"). Metrics live in prometheus_client's default registry, which
``/metrics`` serves; like jupyter_server's own (``jupyter_server.prometheus.metrics``) they are
module-level because a registry accepts each name once per process.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

NOTEBOOK_EXECUTIONS_TOTAL = Counter(
    "notebook_executions_total",
    "Notebook executions (Papermill jobs and execute_on_kernel notebook runs), by how they ended.",
    ["kind", "status"],
)
KERNEL_STARTS_TOTAL = Counter("kernel_starts_total", "Kernels started by MCP tools.", ["kernel_name"])
EXECUTION_DURATION_SECONDS = Histogram(
    "execution_duration_seconds",
    "Duration of executions started by MCP tools, in seconds.",
    ["kind"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, float("inf")),
)
ACTIVE_KERNELS_GAUGE = Gauge("active_kernels_gauge", "Kernels running in this Jupyter server.")
MCP_TOOL_CALLS_TOTAL = Counter("mcp_tool_calls_total", "MCP tool calls, by tool and outcome.", ["tool", "outcome"])
MCP_TOOL_CALL_DURATION_SECONDS = Histogram(
    "mcp_tool_call_duration_seconds", "Duration of MCP tool calls inside the server, in seconds.", ["tool"]
)
