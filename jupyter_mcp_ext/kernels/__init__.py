"""The kernel service: lifecycle through the server's MultiKernelManager, connections, execution."""
