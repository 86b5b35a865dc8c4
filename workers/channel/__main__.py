from openclaw.workers.runtime import run_worker

from .handler import make_worker

run_worker(make_worker)
