"""The project's exception hierarchy (shared by all layers): what services raise and tools/handlers translate."""

from __future__ import annotations


class MCPExtError(Exception):
    """Base class of every error the services raise on purpose.

    The message is a sentence a model or a person can act on: what was wrong, with which
    argument, and what is valid. MCP tools let it propagate (the SDK turns it into a tool
    result with ``isError: true``); REST handlers map ``http_status`` to the response code.
    """

    http_status = 400


class InvalidArgument(MCPExtError):
    """An argument is missing, malformed, out of range or inconsistent with the mode."""


class PathError(InvalidArgument):
    """A path is outside the server root, hidden where the server hides files, or otherwise refused."""

    http_status = 403


class NotFound(MCPExtError):
    """Something named by the caller does not exist."""

    http_status = 404


class NotebookNotFound(NotFound):
    """The notebook (or directory) at a path does not exist."""


class NotANotebook(InvalidArgument):
    """The file exists but is not a readable nbformat 4 notebook."""


class CellIndexError(InvalidArgument):
    """A cell index is outside the notebook's cells."""


class Conflict(MCPExtError):
    """The request is valid but conflicts with the current state (e.g. a file already exists)."""

    http_status = 409


class ChangeConflict(Conflict):
    """A change cannot be reverted: cells it touched were changed since (``cells``: their ids)."""

    def __init__(self, message: str, *, cells: list[str]) -> None:
        super().__init__(message)
        self.cells = cells


class ChangeNotFound(NotFound):
    """No recorded change has the given id."""


class KernelNotFound(NotFound):
    """No active kernel has the given kernel_id."""


class KernelSpecNotFound(NotFound):
    """No installed kernelspec has the given name."""


class KernelLimitReached(Conflict):
    """Starting another kernel would exceed ``max_kernels``."""


class KernelDied(MCPExtError):
    """The kernel died while executing."""

    http_status = 500


class KernelGatewayError(MCPExtError):
    """The kernel gateway (``--gateway-url``) refused a request about a kernel, failed it, or did not answer."""

    http_status = 502


class JobNotFound(NotFound):
    """No job has the given job_id."""


class PermissionDenied(MCPExtError):
    """The server's configuration does not allow this action."""

    http_status = 403


class KernelBusy(Conflict):
    """The kernel is running another execute_on_kernel call for longer than this call's timeout."""


class JobsUnavailable(MCPExtError):
    """Notebook jobs cannot run on this server: its job database cannot be opened, or its
    ContentsManager keeps no files on this machine's disk."""

    http_status = 503
