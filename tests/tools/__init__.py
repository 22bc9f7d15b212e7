"""Tests of the MCP tools, one module per tool group."""
