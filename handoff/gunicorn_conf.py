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
