"""Options given before the noun (`openclaw --profile x ...`), shared by every command."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass
class GlobalOptions:
    profile: str | None = None
    dev: bool = False
    color: bool = True

    @property
    def effective_profile(self) -> str | None:
        if self.profile:
            return self.profile
        if self.dev:
            return "dev"
        return os.environ.get("OPENCLAW_PROFILE") or None


OPTIONS = GlobalOptions()
