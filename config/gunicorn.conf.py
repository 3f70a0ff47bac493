"""gunicorn settings for every shop server (runstack passes --bind and --workers).

By hand: ``SHOP_SERVER_NAME=server1 gunicorn -c config/gunicorn.conf.py --bind 127.0.0.1:8001``.
Anything here can be overridden per run with GUNICORN_CMD_ARGS, e.g. ``-k gthread --threads 4``.
"""

import gc
import os

server_name = os.environ.get("SHOP_SERVER_NAME", "local")

wsgi_app = "config.wsgi:application"

# Sync workers: one request per process at a time, and a fresh connection per request (they
# answer "Connection: close"), so consecutive requests reach different workers of a server.
# That is what the locmem profile needs to show sessions lost between workers, not only
# between servers. nginx in front buffers slow clients, which sync workers cannot afford.
# gthread with 2 threads and nginx's keep-alive measured faster (docs/BENCHMARKS.md, "Worker
# class"), but replicas.py's WAIT and locmem rely on one request per process at a time.
worker_class = "sync"
# Django is imported once per server, before forking: workers start (and restart) fast and
# share memory. A code change therefore needs a full server restart (runstack restarts the
# whole process), not a HUP.
preload_app = True
timeout = 30
# Stop and restart wait this long for requests in flight before killing workers.
graceful_timeout = 10
# Longer than nginx's upstream keepalive_timeout (60 s), so nginx closes idle connections
# first and never sends a request on one gunicorn is closing. Only worker classes that keep
# connections open (gthread) use it.
keepalive = 75
# The heartbeat file on tmpfs: a worker never blocks on a slow disk just to say it is alive.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 (not a temp file)

# Whose X-Forwarded-Proto may set wsgi.url_scheme, and whose header names with underscores reach
# the environment: nginx (127.0.0.1, or the bridge's address with runstack --hosts). It filters
# nothing else: X-Forwarded-For and -Host reach Django from any peer, and only the bind (loopback,
# or a host address only the bridge reaches) and nginx overwriting them make them trustworthy.
forwarded_allow_ips = os.environ.get("SHOP_BALANCER_ADDRESS", "127.0.0.1")

# gunicorn >= 25 opens a control socket in ~/.gunicorn by default: outside the run folder and
# one path for every server. runstack controls servers with signals instead.
control_socket_disable = True

# LOGGING: to stdout/stderr, which runstack prefixes with the server name.
accesslog = "-"
errorlog = "-"
# Who answered (server, and the worker pid that X-Served-By shows), for whom, and the request
# id nginx generated, which nginx's access log carries too.
access_log_format = (
    f'{server_name} %({{x-forwarded-for}}i)s "%(r)s" %(s)s %(b)sB %(M)sms rid=%({{x-request-id}}i)s'
)


def child_exit(server, worker):
    """A worker that exits leaves its metrics files behind (prometheus_client's multiprocess mode):
    its counters still count in the server's sums; its live gauges must not."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def quiet_readiness_checks():
    """runstack asks every server's /readyz each second, Prometheus its /metrics: not worth a line each."""
    return lambda record: not any(f'"GET {path} ' in record.getMessage() for path in ("/readyz", "/metrics"))


logconfig_dict = {
    "root": {"level": "WARNING", "handlers": []},
    "loggers": {
        # propagate=False: Django's own root handler would print every line a second time.
        "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["access_console"], "propagate": False},
    },
    "handlers": {
        "error_console": {
            "class": "logging.StreamHandler",
            "formatter": "error",
            "stream": "ext://sys.stderr",
        },
        "access_console": {
            "class": "logging.StreamHandler",
            "formatter": "access",
            "filters": ["readiness"],
            "stream": "ext://sys.stdout",
        },
    },
    "filters": {"readiness": {"()": quiet_readiness_checks}},
    "formatters": {
        "error": {"format": "%(asctime)s [%(process)d] %(levelname)s %(message)s", "datefmt": "%H:%M:%S"},
        "access": {"format": "%(asctime)s [%(process)d] %(message)s", "datefmt": "%H:%M:%S"},
    },
}


def when_ready(server):
    """Before the first worker forks: the preloaded shop's objects are frozen (``gc.freeze``), so no
    worker's garbage collection touches them. The workers keep sharing those pages with the master
    (copy-on-write), and a worker exits in 0.03 s instead of 0.19 s, which a rolling restart waits
    for once per server (measured on this project's 2-core machine)."""
    gc.freeze()
