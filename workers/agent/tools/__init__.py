"""Gateway tools for agent runs and /tools/invoke: catalog, policy, implementations, registry."""

from .builtin import ToolArgError, ToolContext
from .registry import ToolDenied, ToolFailed, ToolRegistry, ToolResult

__all__ = ["ToolArgError", "ToolContext", "ToolDenied", "ToolFailed", "ToolRegistry", "ToolResult"]
