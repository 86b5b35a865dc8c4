from openclaw.workers.runtime import run_worker

from .host import CanvasHost

run_worker(CanvasHost)
