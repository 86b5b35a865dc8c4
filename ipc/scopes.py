"""Operator scopes: which scope each method needs, and what a granted set satisfies (spec §2.7).

The table (`method_scopes.json`) is the upstream method -> scope list; the CLI uses
it to ask for the least privilege, the front-end to authorize. Methods not in the
table need operator.admin.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Iterable

ADMIN = "operator.admin"
READ = "operator.read"
WRITE = "operator.write"
KNOWN_SCOPES = frozenset(
    {
        ADMIN, READ, WRITE, "operator.approvals", "operator.questions", "operator.pairing",
        "operator.talk", "operator.talk.secrets", "operator.sessions.read", "operator.sessions.write",
    }
)
CLI_DEFAULT_SCOPES = [
    ADMIN, READ, WRITE, "operator.approvals", "operator.questions", "operator.pairing", "operator.talk.secrets",
]
# What a granted scope also satisfies.
_IMPLIES: dict[str, frozenset[str]] = {
    WRITE: frozenset({READ, "operator.talk", "operator.sessions.read", "operator.sessions.write"}),
    READ: frozenset({"operator.sessions.read"}),
}
# Methods any authenticated connection may call.
SCOPE_EXEMPT = frozenset({"health"})
PAIRING = "operator.pairing"
# node.invoke commands an operator may only run with operator.admin (upstream isAdminOnlyNodeInvokeCommand;
# system.run/system.which need admin only to *approve* a node surface, not to invoke).
NODE_ADMIN_COMMANDS = frozenset({"browser.proxy", "browser.proxy.upload.v1", "fs.listDir", "terminal.upload"})


def node_command_needs_admin(command: str) -> bool:
    return command in NODE_ADMIN_COMMANDS or command.startswith("browser.proxy")
ADMIN_PREFIXES = ("config.", "exec.approvals.", "wizard.", "update.")


@lru_cache(maxsize=1)
def method_table() -> dict[str, str]:
    text = resources.files("openclaw.ipc").joinpath("method_scopes.json").read_text()
    return json.loads(text)


def required_scope(method: str, params: object = None) -> str:
    """The scope a call needs; "node" for node-role methods."""
    scope = method_table().get(method)
    if scope is None:
        return ADMIN
    if scope == "dynamic":
        if method == "agent" and isinstance(params, dict):
            msg = params.get("message")
            if isinstance(msg, str) and (msg.strip() == "/new" or msg.strip().startswith("/reset")):
                return ADMIN
        if method == "node.invoke" and isinstance(params, dict):
            command = params.get("command")
            if isinstance(command, str) and node_command_needs_admin(command):
                return ADMIN
        return WRITE
    return scope


def normalize(requested: Iterable[str] | None) -> list[str]:
    """Drop unknown scope strings, keep order, no duplicates."""
    out: list[str] = []
    for s in requested or ():
        if s in KNOWN_SCOPES and s not in out:
            out.append(s)
    return out


def satisfies(granted: list[str], needed: str) -> bool:
    """Granted lists are a handful of strings: membership on the list beats building a set per call."""
    if ADMIN in granted or needed in granted:
        return True
    return any(needed in _IMPLIES.get(g, ()) for g in granted)


def least_privilege(method: str) -> list[str]:
    """What a client should ask for to call `method` (mirrors the upstream CLI)."""
    scope = method_table().get(method)
    if scope is None:
        return list(CLI_DEFAULT_SCOPES)
    if scope == "dynamic":
        return [WRITE]
    if scope == "node":
        return list(CLI_DEFAULT_SCOPES)
    return [scope]
