"""The stack's configuration, checked without starting it (fast, no stack marker)."""

import re
import runpy
import subprocess
from types import SimpleNamespace

import pytest

from conftest import require_binary
from tools.stack.children import StackError
from tools.stack.nginx import TEMP_PATHS, render_config
from tools.stack.servers import GUNICORN_CONFIG
from tools.stack.stack import Stack

SERVERS = [
    SimpleNamespace(name="server1", address="127.0.0.1", port=40001, ready=True),
    SimpleNamespace(name="server2", address="198.18.7.12", port=8000, ready=False),  # a host, not ready
]


def render(run_dir, balance="round_robin"):
    return render_config(run_dir, 8000, SERVERS, balance).read_text()


def directive(text, name):
    """Values of every ``name ...;`` directive (comments ignored)."""
    text = re.sub(r"#.*", "", text)
    return [
        " ".join(match.split()) for match in re.findall(rf"^[ \t]*{name}[ \t]+([^;{{]+);", text, re.MULTILINE)
    ]


def test_nginx_writes_only_inside_the_run_folder(tmp_path):
    text = render(tmp_path)
    paths = [*directive(text, "pid"), *(directive(text, f"{name}_temp_path")[0] for name in TEMP_PATHS)]
    paths += [value.split()[0] for value in directive(text, "access_log") + directive(text, "error_log")]
    paths = [path.strip('"') for path in paths if path != "stderr"]
    assert len(paths) == 8  # pid, five temp paths, two logs
    assert all(path.startswith(f"{tmp_path}/") for path in paths), paths


def test_upstream_has_every_server_keepalive_and_no_long_blackout(tmp_path):
    text = render(tmp_path)
    assert directive(text, "server") == [
        "127.0.0.1:40001 max_fails=1 fail_timeout=1s",
        "198.18.7.12:8000 max_fails=1 fail_timeout=1s down",
    ]
    assert directive(text, "keepalive") == ["16"]
    assert directive(text, "listen") == ["127.0.0.1:8000"]


def test_gets_are_retried_on_another_server_but_posts_never(tmp_path):
    """nginx passes a non-idempotent request on only if ``non_idempotent`` is listed."""
    text = render(tmp_path)
    assert directive(text, "proxy_next_upstream") == ["error timeout http_502"]
    assert directive(text, "proxy_next_upstream_tries") == ["3"]
    assert "non_idempotent" not in re.sub(r"#.*", "", text)


def test_forwarded_headers_and_request_id(tmp_path):
    headers = dict(value.split(None, 1) for value in directive(render(tmp_path), "proxy_set_header"))
    assert headers["Host"] == headers["X-Forwarded-Host"] == "$http_host"
    assert headers["X-Forwarded-For"] == "$remote_addr"
    assert headers["X-Forwarded-Proto"] == "$scheme"
    assert headers["X-Request-ID"] == "$request_id"
    assert directive(render(tmp_path), "add_header") == [
        "Cache-Control $static_cache_control",  # location /static/: a year for content-hashed names
        "X-Request-ID $request_id always",
    ]


@pytest.mark.parametrize(
    "balance, method",
    [
        ("round_robin", "server 127.0.0.1:40001"),  # nginx's default: no method line
        ("ip_hash", "ip_hash;"),
        ("sticky_cookie", "hash $session_cookie consistent;"),
    ],
)
def test_balance_method_comes_first_in_the_upstream(tmp_path, balance, method):
    """nginx requires the method before ``keepalive``: right after the shared zone."""
    upstream = re.search(r"upstream shop \{(.*?)\n    \}", render(tmp_path, balance), re.DOTALL).group(1)
    lines = [
        line.strip() for line in upstream.splitlines() if line.strip() and not line.strip().startswith("#")
    ]
    assert lines[0] == "zone shop 64k;"
    assert lines[1].startswith(method)
    assert lines[-1] == "keepalive 16;"


def test_rendered_config_is_valid_for_nginx_even_in_a_folder_with_spaces(tmp_path):
    nginx = require_binary("nginx")
    run_dir = tmp_path / "run folder"
    render(run_dir)
    assert_nginx_accepts(nginx, run_dir)


def assert_nginx_accepts(nginx, run_dir):
    """``nginx -t`` on the config rendered into ``run_dir``, as the stack would start it."""
    command = [
        nginx,
        "-t",
        "-p",
        f"{run_dir}/",
        "-c",
        run_dir / "nginx.conf",
        "-e",
        run_dir / "logs/error.log",
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_gunicorn_config_names_the_server_and_request_in_access_logs(monkeypatch):
    monkeypatch.setenv("SHOP_SERVER_NAME", "server7")
    config = runpy.run_path(str(GUNICORN_CONFIG))
    assert config["access_log_format"].startswith("server7 ")
    assert "rid=%({x-request-id}i)s" in config["access_log_format"]
    assert config["forwarded_allow_ips"] == "127.0.0.1"
    assert config["worker_class"] == "sync"
    assert config["control_socket_disable"] is True


@pytest.mark.parametrize(
    "arguments",
    [{"profile": "memcached"}, {"balance": "random"}, {"db": "mysql"}, {"servers": 0}, {"workers": 0}],
)
def test_bad_arguments_are_refused_before_anything_starts(tmp_path, arguments):
    with pytest.raises(StackError):
        Stack(run_dir=tmp_path, **arguments)
    assert list(tmp_path.iterdir()) == []


def test_missing_binary_skips_locally_but_fails_on_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        require_binary("no-such-program-anywhere")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception):
        require_binary("no-such-program-anywhere")
