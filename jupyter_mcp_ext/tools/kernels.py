"""MCP tools of the kernel group (tool layer; spec module B): kernel lifecycle and execute_on_kernel."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field

from ..exceptions import InvalidArgument
from ..kernels.service import ExecutionOutcome, KernelService, NotebookRun
from ..outputs import ShapeOptions, shape_error, shape_outputs
from ..services import Services
from . import authorize, tool_call
from .results import effective_limit, image_budget, json_result

KernelId = Annotated[str, Field(description="The kernel's id (from start_kernel or list_kernels).")]

READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
LIFECYCLE = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False)
DESTRUCTIVE = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=False)
# Code can reach anything the kernel can (files, network): open world.
EXECUTE = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=True)


def _outcome_fields(outcome: ExecutionOutcome, outputs: list[dict[str, Any]], options: ShapeOptions) -> dict[str, Any]:
    error = None
    if outcome.error is not None:
        error = shape_error(
            outcome.error.get("ename"), outcome.error.get("evalue"), outcome.error.get("traceback"), options
        )
    fields: dict[str, Any] = {
        "execution_count": outcome.execution_count,
        "outputs": outputs,
        "status": outcome.status,
        "error": error,
    }
    if outcome.message:
        fields["message"] = outcome.message
    return fields


def code_result(kernel_id: str, outcome: ExecutionOutcome, options: ShapeOptions) -> CallToolResult:
    """The spec's mode="code" result, with images as image content."""
    shaped = shape_outputs([outcome.outputs], options)
    payload: dict[str, Any] = {"kernel_id": kernel_id, "mode": "code"}
    payload.update(_outcome_fields(outcome, shaped.outputs[0], options))
    payload["execution_time"] = outcome.execution_time
    if shaped.truncated_chars:
        payload["truncated_chars"] = shaped.truncated_chars
    payload["success"] = True
    return json_result(payload, shaped.images)


def notebook_result(kernel_id: str, mode: str, run: NotebookRun, options: ShapeOptions) -> CallToolResult:
    """The spec's mode="notebook" or mode="notebook_cell" result, with images as image content."""
    shaped = shape_outputs([c.outcome.outputs for c in run.cells], options)
    notes = [run.notice] if run.notice else []
    if run.stopped_at is not None and run.not_run:
        notes.append(
            f"Stopped at cell {run.stopped_at} ({run.cells[-1].outcome.status}); cells "
            f"{', '.join(map(str, run.not_run))} were not run (continue_on_error=true runs them anyway)."
        )
    if run.write_error:
        notes.append(f"Warning: {run.write_error}.")
    if mode == "notebook_cell":
        cell = run.cells[0]
        payload: dict[str, Any] = {
            "kernel_id": kernel_id,
            "mode": mode,
            "path": run.path,
            "cell_index": cell.cell_index,
            "cell_type": cell.cell_type,
        }
        if cell.cell_id:
            payload["cell_id"] = cell.cell_id
        payload.update(_outcome_fields(cell.outcome, shaped.outputs[0], options))
        payload["execution_time"] = cell.outcome.execution_time
    else:
        results = []
        for cell, outputs in zip(run.cells, shaped.outputs, strict=True):
            item = {"cell_index": cell.cell_index, "cell_type": cell.cell_type}
            if cell.cell_id:
                item["cell_id"] = cell.cell_id
            item.update(_outcome_fields(cell.outcome, outputs, options))
            item["execution_time"] = cell.outcome.execution_time
            results.append(item)
        failed = sum(1 for c in run.cells if c.outcome.status != "ok")
        payload = {
            "kernel_id": kernel_id,
            "mode": mode,
            "path": run.path,
            "cells_executed": len(run.cells),
            "cells_succeeded": len(run.cells) - failed,
            "cells_failed": failed,
            "execution_time": run.execution_time,
            "results": results,
        }
        if run.not_run:
            payload["cells_not_run"] = run.not_run
    if notes:
        payload["message"] = " ".join([payload.get("message", ""), *notes]).strip()
    if shaped.truncated_chars:
        payload["truncated_chars"] = shaped.truncated_chars
    payload["success"] = True
    return json_result(payload, shaped.images)


def register(mcp: MCPServer, services: Services) -> None:
    """Register the kernel tools on ``mcp``."""
    kernels: KernelService = services.kernels
    app = services.app

    def shape_options(max_output_chars: int | None, hint: str) -> ShapeOptions:
        # The traceback of an error is returned once, in the result's error field.
        limit = effective_limit(app.max_result_chars, {"max_output_chars": max_output_chars})
        return ShapeOptions(
            max_output_chars=app.max_output_chars if max_output_chars is None else max_output_chars,
            max_image_bytes=app.max_image_bytes,
            error_output_type=app.error_output_type,
            max_error_output=app.max_error_output,
            truncation_hint=hint,
            image_budget=image_budget(limit),
            image_hint="print a smaller version (lower dpi or size), or pass max_output_chars=0 to receive it anyway",
            error_tracebacks=False,
        )

    @mcp.tool(annotations=READ_ONLY)
    @tool_call(("read", "kernels"))
    async def list_kernels(
        ctx: Context,
        kernel_id: Annotated[
            str | None, Field(description="One kernel's id, for its details instead of the list.")
        ] = None,
    ) -> dict[str, Any]:
        """List the installed kernelspecs (available_kernels: what start_kernel accepts) and the kernels
        running in this server (active_kernels), JupyterLab's included: kernel_id, name, execution_state,
        connections (open frontends), started_at and last_activity (epoch seconds). With kernel_id: that
        kernel in detail, with is_alive, language, the notebook path of the Lab session using it, and info.
        """
        if kernel_id is not None:
            details = await kernels.kernel_details(kernel_id)
            return {**details, "success": True}
        active = await kernels.list_kernels()
        return {
            "available_kernels": await kernels.kernelspecs(),
            "active_kernels": active,
            "kernel_count": len(active),
            "success": True,
        }

    @mcp.tool(annotations=READ_ONLY)
    @tool_call(("execute", "kernels"))
    async def list_variables(
        ctx: Context,
        kernel_id: KernelId,
        include_private: Annotated[bool, Field(description="Also list names starting with _.")] = False,
    ) -> dict[str, Any]:
        """List the variables a Python kernel holds (JupyterLab's too) without printing them: name, type, shape
        or length, dtype and a short repr. Modules, functions, classes, IPython's own names and _names are left
        out (counted in hidden). Runs nothing visible: the execution count and history stay as they were.
        """
        listed = await kernels.list_variables(kernel_id, include_private=include_private)
        return {"kernel_id": kernel_id, **listed, "success": True}

    @mcp.tool(annotations=LIFECYCLE)
    @tool_call(("write", "kernels"))
    async def start_kernel(
        ctx: Context,
        kernel_name: Annotated[
            str, Field(description="The kernelspec to start (list_kernels shows them).")
        ] = "python3",
    ) -> dict[str, Any]:
        """Start a kernel in this server, working in its root directory, like those JupyterLab starts (it shows
        in Lab's Running panel). Returns its kernel_id: run code with execute_on_kernel, and stop it with
        stop_kernel when done. The server runs at most max_kernels kernels at once.
        """
        summary = await kernels.start_kernel(kernel_name)
        return {
            **summary,
            "message": f"Kernel {summary['kernel_id']} ({kernel_name}) started.",
            "success": True,
        }

    @mcp.tool(annotations=DESTRUCTIVE)
    @tool_call(("write", "kernels"))
    async def stop_kernel(ctx: Context, kernel_id: KernelId) -> dict[str, Any]:
        """Shut down a kernel (its variables are lost). Any JupyterLab notebook using it loses its kernel too."""
        await kernels.stop_kernel(kernel_id)
        return {"kernel_id": kernel_id, "stopped": True, "message": f"Kernel {kernel_id} shut down.", "success": True}

    @mcp.tool(annotations=LIFECYCLE)
    @tool_call(("write", "kernels"))
    async def interrupt_kernel(ctx: Context, kernel_id: KernelId) -> dict[str, Any]:
        """Interrupt the code a kernel is running (KeyboardInterrupt in Python), as JupyterLab's stop button
        does; the kernel keeps its variables."""
        await kernels.interrupt_kernel(kernel_id)
        return {
            "kernel_id": kernel_id,
            "interrupted": True,
            "message": f"Interrupt sent to kernel {kernel_id}.",
            "success": True,
        }

    @mcp.tool(annotations=DESTRUCTIVE)
    @tool_call(("write", "kernels"))
    async def restart_kernel(ctx: Context, kernel_id: KernelId) -> dict[str, Any]:
        """Restart a kernel: same kernel_id, fresh process, variables lost. Use it when a kernel died, hangs or
        is in a broken state; then re-run what it needs."""
        summary = await kernels.restart_kernel(kernel_id)
        return {**summary, "restarted": True, "message": f"Kernel {kernel_id} restarted.", "success": True}

    @mcp.tool(annotations=EXECUTE)
    @tool_call(("execute", "kernels"))
    async def execute_on_kernel(
        ctx: Context,
        kernel_id: KernelId,
        mode: Annotated[
            Literal["code", "notebook", "notebook_cell"],
            Field(
                description="'code' (needs code), 'notebook_cell' (needs path, and cell_index or cell_id) or "
                "'notebook' (needs path)."
            ),
        ],
        code: Annotated[str | None, Field(description="mode='code': the code to run.")] = None,
        path: Annotated[
            str | None,
            Field(description="Notebook modes: the notebook, relative to the server root."),
        ] = None,
        cell_index: Annotated[
            int | None, Field(description="mode='notebook_cell': the 0-based index of the cell.")
        ] = None,
        cell_id: Annotated[
            str | None,
            Field(
                description="mode='notebook_cell': the id of the code cell to run, instead of cell_index; it names "
                "the same cell even after cells were added or removed above it."
            ),
        ] = None,
        timeout: Annotated[
            float | None,
            Field(
                description="Seconds before the kernel is interrupted (per cell in mode='notebook'). Default: the "
                "server's execution_timeout (60 unless set). 0: none.",
                ge=0,
            ),
        ] = None,
        continue_on_error: Annotated[
            bool | None,
            Field(
                description="mode='notebook': run on after a cell raises. Default: the server's setting (false "
                "unless set)."
            ),
        ] = None,
        max_output_chars: Annotated[
            int | None,
            Field(
                description="Characters of output text returned (longer output keeps its start and end). "
                "Default: the server's max_output_chars (20,000 unless set). 0: no limit.",
                ge=0,
            ),
        ] = None,
    ) -> CallToolResult:
        """Run code on a kernel (JupyterLab's kernels too) and return what it produced. mode="code" runs code;
        "notebook_cell" runs one code cell of the notebook at path; "notebook" runs all its code cells in order,
        stopping at the first error unless continue_on_error. Notebook modes save outputs and execution_count
        into the notebook, as JupyterLab would; in a notebook open in JupyterLab each output appears as it comes.

        Returns status ("ok", "error", "abort" or "timeout"), execution_count, outputs (text; images as image
        content after the JSON; long text cut in the middle) and error (ename, evalue, traceback). Variables
        persist between calls; input() raises. At the timeout the kernel is interrupted and stays usable; after
        a kernel died, call restart_kernel.
        """

        async def progress(done: float, total: float | None, message: str) -> None:
            await ctx.report_progress(done, total, message)

        if mode == "code":
            if code is None:
                raise InvalidArgument("mode='code' needs code: the source code to run.")
            if path is not None or cell_index is not None or cell_id is not None:
                raise InvalidArgument(
                    "mode='code' runs the given code and takes no path, cell_index or cell_id; to run notebook cells "
                    "use mode='notebook_cell' (path and cell_index or cell_id) or mode='notebook' (path)."
                )
            outcome = await kernels.execute(kernel_id, code, timeout=timeout, progress=progress)
            hint = "Run it again with a larger max_output_chars (0 = no limit), or print only the part you need."
            return code_result(kernel_id, outcome, shape_options(max_output_chars, hint))
        if code is not None:
            raise InvalidArgument(
                f"mode={mode!r} runs the notebook's own cells and takes no code; use mode='code' to run code."
            )
        if path is None:
            raise InvalidArgument(f"mode={mode!r} needs path: the notebook to run, relative to the server root.")
        if mode == "notebook_cell":
            if cell_index is None and cell_id is None:
                raise InvalidArgument(
                    "mode='notebook_cell' needs cell_index: the 0-based index of the code cell (or its cell_id)."
                )
            await authorize(ctx, "write", "contents")
            run = await kernels.execute_notebook(
                kernel_id, path, cell_index=cell_index, cell_id=cell_id, timeout=timeout, progress=progress
            )
        else:
            if cell_index is not None or cell_id is not None:
                raise InvalidArgument(
                    "mode='notebook' runs every code cell and takes no cell_index or cell_id; use "
                    "mode='notebook_cell' for one."
                )
            await authorize(ctx, "write", "contents")
            run = await kernels.execute_notebook(
                kernel_id, path, timeout=timeout, continue_on_error=continue_on_error, progress=progress
            )
        hint = (
            "The full outputs are saved in the notebook: read them with read_cells(mode='single'), or pass a "
            "larger max_output_chars (0 = no limit)."
        )
        return notebook_result(kernel_id, mode, run, shape_options(max_output_chars, hint))
