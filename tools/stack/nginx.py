"""The load balancer: nginx rendered from ``nginx/shop.conf.template`` and run in the foreground."""

import os
import signal
import subprocess

from django.conf import settings
from django.template import Context, Engine

from shop.catalog import csrf_slot

from .children import Child, StackError, find_binary

TEMPLATES = settings.BASE_DIR / "nginx"
# What render_config writes, from which template; nginx.conf includes catalog_cache.conf next to it.
RENDERED = {"catalog_cache.conf": "catalog_cache.conf.template", "nginx.conf": "shop.conf.template"}
BALANCES = ("round_robin", "ip_hash", "sticky_cookie")
TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def render_config(run_dir, port, servers, balance, tls=None, status=None):
    """Write ``<run_dir>/nginx.conf`` for ``servers`` (the name, address, port, draining, ready of each).

    ``tls`` is a (certificate, key) pair: nginx then serves HTTPS only, and the servers run in
    hardened mode, whose session cookie is ``__Host-`` prefixed. ``status``: an (address, port) where
    nginx serves its stub_status to the exporter (runstack --metrics).
    """
    for folder in ("logs", *(f"tmp/{name}" for name in TEMP_PATHS)):
        (run_dir / folder).mkdir(parents=True, exist_ok=True)
    values = {
        "run_dir": run_dir,
        "static_root": run_dir / "static",
        "port": port,
        "servers": servers,
        "balance": balance,
        "session_cookie": session_cookie(secure=bool(tls)),
        "csrf_slot": csrf_slot.SLOT,
        "csrf_slot_header": csrf_slot.HEADER,
        "tls": {"certificate": tls[0], "key": tls[1]} if tls else None,
        "user": "root" if os.geteuid() == 0 else None,
        "status": {"address": status[0], "port": status[1]} if status else None,
    }
    engine = Engine(autoescape=False)  # a config file is not HTML: nothing may be escaped
    for name, template in RENDERED.items():
        text = engine.from_string((TEMPLATES / template).read_text()).render(Context(values))
        (run_dir / name).write_text(text)
    return run_dir / "nginx.conf"


def session_cookie(secure):
    """The servers' session cookie name: hardened mode (SHOP_SECURE) adds the ``__Host-`` prefix."""
    name = settings.SESSION_COOKIE_NAME.removeprefix("__Host-")
    return f"__Host-{name}" if secure else name


def self_signed_certificate(folder):
    """(certificate, key) for 127.0.0.1 and localhost, made with openssl once and kept in ``folder``."""
    certificate, key = folder / "cert.pem", folder / "key.pem"
    if certificate.exists() and key.exists():
        return certificate, key
    folder.mkdir(parents=True, exist_ok=True)
    openssl = find_binary("openssl", needed="for --tls (Debian package openssl)")
    request = "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825"
    names = ["-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"]
    argv = [openssl, *request.split(), *names, "-keyout", key, "-out", certificate]
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode:
        raise StackError(f"openssl could not make a certificate ({result.returncode}):\n{result.stderr}")
    key.chmod(0o600)
    return certificate, key


def nginx_child(run_dir, console):
    config = run_dir / "nginx.conf"
    # -e: errors before the config is read would otherwise go to /var/log/nginx.
    argv = [find_binary("nginx", needed="as the load balancer"), "-p", f"{run_dir}/", "-c", config]
    argv += ["-e", run_dir / "logs" / "error.log", "-g", "daemon off;"]
    # SIGQUIT is nginx's graceful shutdown: requests in flight are finished first.
    return Child("nginx", argv, console, stop_signal=signal.SIGQUIT)
