"""The tool catalog (brief §4.1): every tool id upstream names, its group, and our class.

Classes (brief §4.3, ours: the spec labels no tool read-only):
  SAFE   read-only gateway state (sessions, agents, goals): on by default everywhere
  STATE  writes gateway state only: off unless allowed
  HOST   can touch the host or the network: off unless `tools.allow` (agent loop) or
         `gateway.tools.allow` (HTTP) names it
Only tools with an implementation (builtin.py) can run; the rest are listed, never invocable.
"""

from __future__ import annotations

from dataclasses import dataclass

SAFE, STATE, HOST = "safe", "state", "host"
PROFILES = ["minimal", "coding", "messaging", "full"]


@dataclass(frozen=True)
class ToolInfo:
    id: str
    group: str
    label: str
    description: str
    cls: str


_GROUPS: dict[str, tuple[str, list[tuple[str, str, str]]]] = {
    # group id: (label, [(tool id, class, description)])
    "fs": ("Files", [
        ("ls", HOST, "List files in the agent workspace."),
        ("read", HOST, "Read a text file from the agent workspace."),
        ("write", HOST, "Write a file in the agent workspace."),
        ("edit", HOST, "Edit a file in the agent workspace."),
        ("apply_patch", HOST, "Apply a patch to files in the agent workspace."),
    ]),
    "runtime": ("Runtime", [
        ("exec", HOST, "Run a shell command."),
        ("process", HOST, "Manage background processes."),
        ("code_execution", HOST, "Run code in a sandbox."),
        ("secrets", HOST, "Read configured secrets."),
    ]),
    "web": ("Web", [
        ("web_search", HOST, "Search the web."),
        ("web_fetch", HOST, "Fetch a URL."),
        ("x_search", HOST, "Search X."),
    ]),
    "memory": ("Memory", [
        ("memory_search", HOST, "Search the agent's memory."),
        ("memory_get", HOST, "Read a memory entry."),
    ]),
    "sessions": ("Sessions", [
        ("sessions", STATE, "Manage sessions."),
        ("sessions_list", SAFE, "List sessions of this agent (newest first)."),
        ("sessions_history", SAFE, "Read the message history of a session."),
        ("sessions_search", SAFE, "Search session transcripts for text."),
        ("conversations_list", STATE, "List conversations."),
        ("conversations_send", STATE, "Send to a conversation."),
        ("conversations_turn", STATE, "Run a conversation turn."),
        ("sessions_send", STATE, "Send a message into another session."),
        ("sessions_spawn", STATE, "Start a sub-agent session."),
        ("agents_wait", STATE, "Wait for sub-agents."),
        ("sessions_yield", SAFE, "End this turn and yield to the user."),
        ("subagents", SAFE, "List sub-agent runs."),
        ("session_status", SAFE, "Status of a session: model, tokens, last run."),
        ("suggest_task", STATE, "Suggest a task."),
        ("dismiss_task", STATE, "Dismiss a task."),
    ]),
    "ui": ("UI", [(t, HOST, f"Control UI surface: {t}.") for t in
                  ("browser", "screen", "theme", "dashboard", "terminal", "portal", "canvas", "show_widget")]),
    "messaging": ("Messaging", [("message", HOST, "Send a message on a channel.")]),
    "automation": ("Automation", [(t, HOST, f"Automation: {t}.") for t in
                                  ("heartbeat_respond", "automations", "gateway", "plugins", "openclaw")]),
    "nodes": ("Nodes", [(t, HOST, f"Device nodes: {t}.") for t in ("nodes", "computer", "mobile_ui")]),
    "agents": ("Agents", [
        ("agents_list", SAFE, "List the configured agents and their models."),
        ("get_goal", SAFE, "Read the current goal of this session."),
        ("create_goal", STATE, "Create a goal."),
        ("update_goal", STATE, "Update a goal."),
        ("progress_card", STATE, "Show a progress card."),
        ("ask_user", STATE, "Ask the user a question."),
        ("skill_workshop", STATE, "Work on skills."),
    ]),
    "media": ("Media", [(t, HOST, f"Media: {t}.") for t in
                        ("view_image", "image_generate", "music_generate", "video_generate", "tts", "pdf")]),
}

TOOLS: dict[str, ToolInfo] = {
    tid: ToolInfo(tid, gid, tid.replace("_", " ").capitalize(), desc, cls)
    for gid, (_, tools) in _GROUPS.items() for tid, cls, desc in tools
}
GROUP_LABELS = {gid: label for gid, (label, _) in _GROUPS.items()}
GROUP_TOOLS = {gid: [t[0] for t in tools] for gid, (_, tools) in _GROUPS.items()}

# /tools/invoke: denied unless gateway.tools.allow names them (brief §4.2)
DEFAULT_HTTP_DENY = frozenset({
    "exec", "spawn", "shell", "fs_write", "fs_delete", "fs_move", "apply_patch", "terminal", "portal", "sessions_spawn",
    "sessions_send", "conversations_list", "conversations_send", "conversations_turn", "automations", "gateway", "plugins",
    "nodes", "computer", "mobile_ui", "openclaw",
})
# never over HTTP, whatever the config says
CODING_TOOLS = frozenset({"ls", "read", "write", "edit", "apply_patch", "exec", "process"})


def default_profiles(info: ToolInfo) -> list[str]:
    if info.cls == SAFE:
        return list(PROFILES)
    if info.group in ("fs", "runtime"):
        return ["coding", "full"]
    if info.group == "messaging":
        return ["messaging", "full"]
    return ["full"]


def expand(names: object) -> set[str]:
    """A config list of tool ids, `group:<id>` and `*` -> tool ids (anything else is ignored)."""
    out: set[str] = set()
    for name in names if isinstance(names, list) else []:
        if not isinstance(name, str):
            continue
        if name == "*":
            out.update(TOOLS)
        elif name.startswith("group:"):
            out.update(GROUP_TOOLS.get(name[6:], ()))
        else:
            out.add(name)
    return out
