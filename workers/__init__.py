"""openclaw.workers: one sub-package per worker kind; `runtime.py` is what they share."""
