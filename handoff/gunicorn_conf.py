"""gunicorn settings for the hub (`gunicorn --config python:handoff.gunicorn_conf`).

One gevent worker holds thousands of open long-polls; `--workers` (HUB_WORKERS) adds
processes, which then share live events through Redis (REDIS_URL).
"""

import resource

worker_class = "handoff.worker.HubWorker"
worker_connections = 4000  # open connections per worker: long-polls of widgets and desks
graceful_timeout = 10  # long-polls answer at once on SIGTERM; this bounds the rest
timeout = 30  # a worker that stops reporting for this long is restarted
keepalive = 5

# Each open connection is a file descriptor: lift the soft limit to the hard one.
_soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if _soft != resource.RLIM_INFINITY and (_hard == resource.RLIM_INFINITY or _soft < _hard):
    resource.setrlimit(resource.RLIMIT_NOFILE, (_hard, _hard))
control_socket_disable = True  # several hubs (tests) on one machine would share its one path


# /metrics with several workers: each keeps its own counters, so a scrape (answered by any
# one of them) would see a part. prometheus_client's multiprocess mode adds them up from
# files in PROMETHEUS_MULTIPROC_DIR, which must be set, and empty, before workers start.
def on_starting(server) -> None:
    import os
    import tempfile
    from pathlib import Path

    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder and server.cfg.workers > 1:
        folder = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="faqbot-metrics-")
        server.faqbot_metrics_dir = folder  # ours: removed on exit
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        for stale in Path(folder).glob("*.db"):  # counts of an earlier run
            stale.unlink()


def child_exit(server, worker) -> None:
    import os

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    import shutil

    folder = getattr(server, "faqbot_metrics_dir", None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
