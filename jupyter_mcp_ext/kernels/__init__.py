"""Kernels (service layer): lifecycle through the server's MultiKernelManager, connections, execution."""
