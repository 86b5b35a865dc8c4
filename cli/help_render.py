"""`--help` shows a boolean flag as `--dev`, not `--dev <bool>`.

Typer's rich help panel prints every option's type, flags included (its plain formatter already
skips them). One patch of the option's type column covers every command, `--help` itself and the
commands other modules add. tests/process/test_newcomer.py walks every command's help.
"""

from __future__ import annotations

from typing import Any


def install() -> None:
    from typer.core import TyperOption

    original = TyperOption.display_type_rich
    if getattr(original, "_openclaw_flags", False):
        return

    def display_type_rich(self: Any, ctx: Any) -> str | None:
        if getattr(self, "is_flag", False) or getattr(self, "count", False):
            return None  # a flag takes no value: nothing to show
        return original(self, ctx)

    display_type_rich._openclaw_flags = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]
