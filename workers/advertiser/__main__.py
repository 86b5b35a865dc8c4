from openclaw.workers.runtime import run_worker

from .worker import make_worker

run_worker(make_worker)
