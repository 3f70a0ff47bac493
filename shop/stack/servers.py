"""A gunicorn server of the stack, and the health check that says it serves."""

import http.client
import ssl
import sys

from django.conf import settings

from .children import Child, wait_until

GUNICORN_CONFIG = settings.BASE_DIR / "config" / "gunicorn.conf.py"


def healthz(port, certificate=None):
    """True when whoever listens on ``port`` answers ``GET /healthz`` with 200 ``ok``; over
    HTTPS, trusting ``certificate``, when one is given."""
    if certificate:
        context = ssl.create_default_context(cafile=certificate)
        connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=2, context=context)
    else:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        return response.status == 200 and response.read() == b"ok"
    except OSError:
        return False
    finally:
        connection.close()


class Server:
    """One gunicorn server: a name, a port it keeps across restarts, the process serving it."""

    def __init__(self, name, port, workers, env, console):
        self.name = name
        self.port = port
        argv = [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(GUNICORN_CONFIG),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
        ]
        self.child = Child(name, argv, console, env={**env, "SHOP_SERVER_NAME": name}, cwd=settings.BASE_DIR)
        self.restarting = False  # set by restart(): the monitor leaves the server alone meanwhile
        self.draining = False  # out of nginx's rotation while restart() stops and starts it
        self.serving = False  # answered /healthz since it last started
        self.failed_starts = 0  # exits in a row before it served

    @property
    def pid(self):
        """The gunicorn master's pid; X-Served-By names the worker's."""
        return self.child.pid

    @property
    def worker_pids(self):
        return [pid for pid in self.child.pids() if pid != self.pid]

    def start(self):
        self.serving = False
        self.child.start()

    def wait_serving(self):
        what = f"waiting for {self.name} to answer /healthz on port {self.port}"
        wait_until(lambda: healthz(self.port), 60, f"{what} (is 127.0.0.1 in ALLOWED_HOSTS?)", self.child)
        self.serving = True
