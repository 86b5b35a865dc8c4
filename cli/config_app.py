"""`openclaw config ...`: the sub-app (cheap to import; the work is in config_cmd.py)."""

from __future__ import annotations

import typer

from . import options as gc

config_app = typer.Typer(help="Read, change and check the config file.", no_args_is_help=True, pretty_exceptions_enable=False)

RevealOpt = typer.Option(False, "--reveal", help="Show secrets instead of __OPENCLAW_REDACTED__.")


@config_app.command("file")
def config_file(json_: bool = gc.JsonOpt) -> None:
    """Print the path of the active config file."""
    from .config_cmd import file_cmd

    file_cmd(json_)


@config_app.command("get")
def config_get(
    path: str = typer.Argument(..., help="Key path, e.g. gateway.port"), json_: bool = gc.JsonOpt, reveal: bool = RevealOpt,
) -> None:
    """Print one value (secrets redacted unless --reveal)."""
    from .config_cmd import get_cmd

    get_cmd(path, json_, reveal)


@config_app.command("set", context_settings={"ignore_unknown_options": True})  # `set gateway.port -1`
def config_set(
    path: str = typer.Argument(..., help="Key path, e.g. channels.telegram.enabled"),
    value: str = typer.Argument(..., help="JSON5 value (true, 18789, {a: 1}); anything else is a string."),
    json_: bool = gc.JsonOpt,
) -> None:
    """Set a value (validated, written atomically); a running gateway applies it by itself."""
    from .config_cmd import set_cmd

    set_cmd(path, value, json_)


@config_app.command("unset")
def config_unset(path: str = typer.Argument(..., help="Key path to remove."), json_: bool = gc.JsonOpt) -> None:
    """Remove a value (validated, written atomically); a running gateway applies it by itself."""
    from .config_cmd import unset_cmd

    unset_cmd(path, json_)


@config_app.command("validate")
def config_validate(json_: bool = gc.JsonOpt) -> None:
    """Check the config file against the schema; exit 1 when it is invalid."""
    from .config_cmd import validate_cmd

    validate_cmd(json_)
