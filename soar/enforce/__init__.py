"""An enforcement example: a tool server that asks soar's ``/v1/authorize`` before every call, and its client."""

from soar.enforce.client import ToolDenied, ToolResponse, call_tool
from soar.enforce.server import ToolServer, create_tool_app

__all__ = ["ToolDenied", "ToolResponse", "ToolServer", "call_tool", "create_tool_app"]
