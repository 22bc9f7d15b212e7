"""The kernel service: lifecycle through the server's MultiKernelManager, execution, outputs."""
