"""The scenarios, in the order `all` runs them."""

from __future__ import annotations

from .base import Check, Ctx, Outcome, ScenarioSpec
from .faults import kill_worker, stop_worker
from .lifecycle import crash_loop, restart, sigterm_during_restart
from .reload import reload_frontend, reload_hot, reload_worker

SCENARIOS: dict[str, ScenarioSpec] = {
    s.name: s
    for s in (
        ScenarioSpec("reload-hot", reload_hot, "hot config edits (gateway.http.endpoints.*): no process touched"),
        ScenarioSpec("reload-worker", reload_worker, "models.* / channels.demo.* edits: that worker replaced blue/green"),
        ScenarioSpec("reload-frontend", reload_frontend, "gateway.terminal edits: the front-end restarts, clients reconnect"),
        ScenarioSpec("kill-worker", kill_worker, "SIGKILL each worker: detection, replacement, in-flight errors"),
        ScenarioSpec("stop-worker", stop_worker, "SIGSTOP each worker: hang detection, replacement, in-flight errors"),
        ScenarioSpec("restart", restart, "SIGUSR1 to the supervisor: time to the first worker call served again"),
        ScenarioSpec("crash-loop", crash_loop, "channels.crashy crash-looping: backoff schedule, FATAL, probes"),
        ScenarioSpec(
            "sigterm-during-restart", sigterm_during_restart, "SIGUSR1 then SIGTERM 50 ms later: clean exit, nothing left",
            spawn_only=True, without_load=True,
        ),
    )
}

__all__ = ["SCENARIOS", "Check", "Ctx", "Outcome", "ScenarioSpec"]
