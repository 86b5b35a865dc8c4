"""The canvas host: a supervised HTTP file server for node web views (ipc/canvas_config.py for its settings)."""
