"""The load balancer: nginx rendered from ``nginx/shop.conf.template`` and run in the foreground."""

import os
import pwd
import signal

from django.conf import settings
from django.template import Context, Engine

from .children import Child
from .services import binary

TEMPLATE = settings.BASE_DIR / "nginx" / "shop.conf.template"
BALANCES = ("round_robin", "ip_hash", "sticky_cookie")
TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def render_config(run_dir, port, servers, balance):
    """Write ``<run_dir>/nginx.conf`` for these servers (objects with ``name`` and ``port``)."""
    for folder in ("logs", *(f"tmp/{name}" for name in TEMP_PATHS)):
        (run_dir / folder).mkdir(parents=True, exist_ok=True)
    # A config file is not HTML: nothing may be escaped.
    template = Engine(autoescape=False).from_string(TEMPLATE.read_text())
    text = template.render(
        Context(
            {
                "run_dir": run_dir,
                "static_root": run_dir / "static",
                "port": port,
                "servers": servers,
                "balance": balance,
                "session_cookie": settings.SESSION_COOKIE_NAME,
                "user": pwd.getpwuid(os.geteuid()).pw_name if os.geteuid() == 0 else None,
            }
        )
    )
    path = run_dir / "nginx.conf"
    path.write_text(text)
    return path


def nginx_child(run_dir, console):
    config = run_dir / "nginx.conf"
    argv = [
        binary("nginx", "as the load balancer"),
        "-p", f"{run_dir}/",
        "-c", str(config),
        # Errors before the config is read would otherwise go to /var/log/nginx.
        "-e", str(run_dir / "logs" / "error.log"),
        "-g", "daemon off;",
    ]  # fmt: skip
    # SIGQUIT is nginx's graceful shutdown: requests in flight are finished first.
    return Child("nginx", argv, console, stop_signal=signal.SIGQUIT)
