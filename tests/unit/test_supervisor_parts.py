"""The supervisor's pure parts: the child state table, the crash policy (fake clock), the reload
classification table and planner."""

from __future__ import annotations

import random

import pytest

from openclaw.ipc.config import ResolvedGateway
from openclaw.supervisor.child import TRANSITIONS, Child, ChildEvent, ChildState, IllegalTransition
from openclaw.supervisor.policy import CrashPolicy, Verdict
from openclaw.supervisor.reload_plan import plan_reload
from openclaw.supervisor.reload_rules import Effect, classify
from openclaw.supervisor.specs import AGENT, derive_specs

S, E = ChildState, ChildEvent


# --------------------------------------------------------------------------- child table


def test_every_state_can_stop_and_fatal_only_leaves_by_retry_or_stop() -> None:
    for state in ChildState:
        assert (state, E.STOP) in TRANSITIONS, state
    assert {e for (s, e) in TRANSITIONS if s is S.FATAL} == {E.RETRY, E.STOP}


@pytest.mark.parametrize(
    "events, final",
    [
        ([E.START, E.READY], S.RUNNING),
        ([E.START, E.READY, E.CRASHED, E.RESPAWN, E.READY], S.RUNNING),
        ([E.START, E.GAVE_UP, E.RETRY, E.RESPAWN], S.STARTING),
        ([E.START, E.READY, E.REPLACE, E.REPLACED], S.RUNNING),
        ([E.START, E.READY, E.REPLACE, E.REPLACE_FAILED], S.RUNNING),
        ([E.START, E.READY, E.REPLACE, E.CRASHED, E.READY], S.RUNNING),  # the old died: the successor carries on
        ([E.START, E.READY, E.STOP, E.EXITED], S.STOPPED),
        ([E.START, E.CRASHED, E.STOP], S.STOPPED),
    ],
)
def test_child_lifecycles(events: list[ChildEvent], final: ChildState) -> None:
    c = Child(AGENT)
    for e in events:
        c.fire(e)
    assert c.state is final


def test_illegal_transitions_raise_and_timers_go_stale() -> None:
    c = Child(AGENT)
    with pytest.raises(IllegalTransition):
        c.fire(E.READY)
    token = c.timer_token
    c.fire(E.START)
    assert c.timer_token != token  # a respawn timer scheduled before is ignored


# --------------------------------------------------------------------------- crash policy


def test_backoff_schedule_then_fatal_after_more_than_five_exits_in_30s() -> None:
    p = CrashPolicy(rng=random.Random(7))
    now, delays = 0.0, []
    for _ in range(5):
        p.record_spawn(now)
        d = p.on_exit(now, uptime_s=0.1, exit_code=1)
        assert d.verdict is Verdict.RESTART
        delays.append(d.delay_s)
        now += d.delay_s
    for got, want in zip(delays, [0.5, 1, 2, 4, 8]):
        assert want * 0.8 <= got <= want * 1.2
    d = p.on_exit(now, uptime_s=0.1, exit_code=1)
    assert d.verdict is Verdict.FATAL and "6 exits within 30s" in d.reason


def test_exits_spread_out_never_go_fatal_and_stable_runs_reset_the_backoff() -> None:
    p = CrashPolicy(rng=random.Random(1))
    now = 0.0
    for _ in range(20):
        now += 61.0
        d = p.on_exit(now, uptime_s=61.0, exit_code=1)  # ran a minute each time
        assert d.verdict is Verdict.RESTART and d.delay_s <= 0.6


def test_exit_78_is_fatal_at_once() -> None:
    d = CrashPolicy().on_exit(0.0, uptime_s=0.0, exit_code=78)
    assert d.verdict is Verdict.FATAL and "exit 78" in d.reason


def test_no_more_than_12_spawns_a_minute() -> None:
    p = CrashPolicy()
    for i in range(12):
        p.record_spawn(float(i))  # twelve starts in twelve seconds
    assert p.earliest_spawn(12.0) == 60.0  # the 13th waits until the first is a minute old
    assert p.earliest_spawn(61.0) == 61.0


def test_reset_forgets_crashes() -> None:
    p = CrashPolicy()
    for t in range(6):
        p.on_exit(float(t), 0.1, 1)
    p.reset()
    assert p.on_exit(7.0, 0.1, 1).verdict is Verdict.RESTART


# --------------------------------------------------------------------------- reload rules and planner


@pytest.mark.parametrize(
    "path, effect",
    [
        ("gateway.port", Effect.RESTART_FRONTEND),
        ("gateway.tls.certPath", Effect.RESTART_FRONTEND),
        ("gateway.auth.mode", Effect.RESTART_FRONTEND),
        ("gateway.auth.token", Effect.ROTATE_SECRET),
        ("gateway.auth.rateLimit.maxAttempts", Effect.HOT_FRONTEND),
        ("gateway.http.endpoints.responses.enabled", Effect.HOT_FRONTEND),
        ("gateway.controlUi.allowedOrigins", Effect.HOT_FRONTEND),
        ("gateway.reload.mode", Effect.SUPERVISOR),
        ("gateway.nodes.pairing", Effect.REPLACE_NODE),
        ("logging.level", Effect.HOT_ALL),
        ("hooks.token", Effect.HOT_FRONTEND),
        ("agents.defaults.model", Effect.HOT_AGENT),
        ("models.providers.x.baseUrl", Effect.HOT_AGENT),
        ("memory.search.model", Effect.REPLACE_AGENT),
        ("memory.citations", Effect.HOT_AGENT),
        ("channels.telegram.botToken", Effect.CHANNEL),
        ("meta.lastTouchedAt", Effect.NONE),
        ("somethingNew.x", Effect.NONE),
    ],
)
def test_classification_longest_prefix_wins(path: str, effect: Effect) -> None:
    assert classify(path) is effect


def gw(**kw) -> ResolvedGateway:
    base = dict(
        profile=None, state_dir="/s", config_path="/s/c.json", config_exists=True, config_hash="h", port=18789,
        port_source="config", bind_mode="loopback", bind_hosts=["127.0.0.1"], auth_mode="token", token="t" * 32,
        log_file="/l",
    )
    base.update(kw)
    return ResolvedGateway(**base)


def plan(old: dict, new: dict, mode: str = "hybrid", old_gw: ResolvedGateway | None = None, new_gw: ResolvedGateway | None = None):
    no_canvas = {"OPENCLAW_SKIP_CANVAS_HOST": "1"}  # tests/unit/test_canvas_parts.py plans the canvas host
    return plan_reload(old, new, derive_specs(old, no_canvas), derive_specs(new, no_canvas), old_gw or gw(), new_gw or gw(), mode)


def test_plan_channels_added_changed_removed_and_disabled() -> None:
    old = {"channels": {"telegram": {"botToken": "a"}, "slack": {}, "discord": {"enabled": False}}}
    new = {"channels": {"telegram": {"botToken": "b"}, "irc": {}, "discord": {"enabled": False, "x": 1}}}
    p = plan(old, new)
    assert p.replace == {"channel:telegram": ["channels.telegram.botToken"]}
    assert p.start == {"channel:irc": ["channels.irc"]}
    assert p.stop == {"channel:slack": ["channels.slack"]}
    assert p.ignored == ["channels.discord.x"]  # a disabled channel has no process
    assert not p.restart_frontend and not p.hot


def test_plan_channel_accounts_restart_only_when_their_effective_section_changes() -> None:
    tg = {"botToken": "a", "dmPolicy": "open", "allowFrom": ["*"],
          "accounts": {"work": {"botToken": "w"}, "home": {"botToken": "h", "dmPolicy": "pairing"}}}
    old = {"channels": {"telegram": tg, "webhook": {"crm": {"secret": "s"}, "ops": {"secret": "t"}}}}
    assert set(derive_specs(old, {})) >= {"channel:telegram", "channel:telegram:work", "channel:telegram:home",
                                          "channel:webhook:crm", "channel:webhook:ops"}
    new = {"channels": {"telegram": {**tg, "accounts": {"work": {"botToken": "w2"}, "home": tg["accounts"]["home"]}},
                        "webhook": {"crm": {"secret": "s2"}, "ops": {"secret": "t"}}}}
    p = plan(old, new)
    assert p.replace == {"channel:telegram:work": ["channels.telegram.accounts.work.botToken"],
                         "channel:webhook:crm": ["channels.webhook.crm.secret"]}
    # a shared top-level key: every account that inherits it, not the one that overrides it
    new = {"channels": {"telegram": {**tg, "dmPolicy": "allowlist"}, "webhook": old["channels"]["webhook"]}}
    p = plan(old, new)
    assert p.replace == {n: ["channels.telegram.dmPolicy"] for n in ("channel:telegram", "channel:telegram:work")}
    # one account disabled: only it stops
    new = {"channels": {"telegram": {**tg, "accounts": {**tg["accounts"], "home": {"enabled": False}}},
                        "webhook": old["channels"]["webhook"]}}
    p = plan(old, new)
    assert list(p.stop) == ["channel:telegram:home"] and not p.replace and not p.start


def test_plan_port_change_is_moot_when_a_flag_overrides_it() -> None:
    p = plan({"gateway": {"port": 1}}, {"gateway": {"port": 2}})  # effective port unchanged (e.g. --port)
    assert p.restart_frontend == [] and p.ignored == ["gateway.port"]
    p = plan({"gateway": {"port": 1}}, {"gateway": {"port": 2}}, new_gw=gw(port=2))
    assert p.restart_frontend == ["gateway.port"] and p.rebind


def test_plan_portals_is_not_the_port() -> None:
    p = plan({"gateway": {"portals": {"a": 1}}}, {"gateway": {"portals": {"a": 2}}})  # same effective listener
    assert p.restart_frontend == ["gateway.portals.a"]  # not mistaken for a moot gateway.port edit


def test_plan_token_rotation_is_hot_unless_the_mode_changes_too() -> None:
    p = plan({"gateway": {"auth": {"token": "a"}}}, {"gateway": {"auth": {"token": "b"}}}, new_gw=gw(token="u" * 32))
    assert p.rotate_credentials and p.hot == {"frontend": ["gateway.auth.token"]}
    p = plan(
        {"gateway": {"auth": {"token": "a"}}}, {"gateway": {"auth": {"mode": "password", "password": "p"}}},
        new_gw=gw(auth_mode="password", token=None, password="p" * 30),
    )
    assert p.restart_frontend and not p.rotate_credentials and "frontend" not in p.hot


@pytest.mark.parametrize("mode", ["off", "hot", "restart", "hybrid"])
def test_plan_modes(mode: str) -> None:
    old = {"logging": {"level": "info"}, "memory": {"search": {"a": 1}}, "gateway": {"port": 1}}
    new = {"logging": {"level": "debug"}, "memory": {"search": {"a": 2}}, "gateway": {"port": 2}}
    p = plan(old, new, mode, new_gw=gw(port=2))
    if mode == "off":
        assert p.pending == ["gateway.port", "logging.level", "memory.search.a"] and not (p.hot or p.replace or p.restart_frontend)
    elif mode == "hot":
        assert set(p.hot) == {"frontend", "agent", "node"} and p.pending == ["gateway.port", "memory.search.a"]
    elif mode == "restart":
        assert not p.hot and set(p.replace) == {"agent", "node"} and "logging.level" in p.restart_frontend
    else:
        assert set(p.hot) == {"agent", "node"}
        assert p.restart_frontend == ["gateway.port"] and "frontend" not in p.hot  # the new front-end reads it all
        assert p.replace["agent"] == ["memory.search.a"] and p.hot["agent"] == ["logging.level"]
    assert p.describe()  # every plan says what it does


def test_workers_never_receive_the_gateway_secrets() -> None:
    import msgspec

    from openclaw.supervisor.child_config import for_child

    secret, remote = "s" * 40, "r" * 40
    config = {"gateway": {"auth": {"mode": "token", "token": secret, "password": secret},
                          "remote": {"token": remote}}, "channels": {"telegram": {"botToken": "bot-own"}}}
    raw = msgspec.json.encode(config)
    front_gw, front_json = for_child("frontend", gw(token=secret), raw)
    assert front_gw.token == secret and front_json == raw
    worker_gw, worker_json = for_child("worker", gw(token=secret, password=secret), raw)
    assert worker_gw.token is None and worker_gw.password is None
    assert secret.encode() not in worker_json and remote.encode() not in worker_json
    assert b"bot-own" in worker_json  # a channel's own credentials are its worker's business
