"""Through the real nginx: balancing, static files, request ids, a crash and a restart."""

import contextlib
import threading

import pytest

from tools.client import Browser
from tools.stack.children import wait_until

pytestmark = pytest.mark.stack

SERVERS = {"server1", "server2", "server3"}


STACK = {"profile": "db", "servers": 3, "workers": 2}


def served_by(response):
    name, pid = response.headers.get("X-Served-By").split(":")
    return name, int(pid)


def test_requests_spread_over_every_server_and_their_workers(stack):
    browser = Browser(stack.url)
    answers = [browser.get("/healthz") for _ in range(12)]
    assert [answer.status_code for answer in answers] == [200] * 12
    names = {served_by(answer)[0] for answer in answers}
    assert names == SERVERS
    for answer in answers:
        name, pid = served_by(answer)
        assert pid in stack.server(name).worker_pids


def test_static_files_are_served_by_nginx_with_cache_headers(stack):
    browser = Browser(stack.url)
    css = browser.get("/static/admin/css/base.css")
    assert css.status_code == 200
    assert css.headers.get("Content-Type") == "text/css"
    assert css.headers.get("X-Served-By") is None  # Django never saw the request
    assert css.headers.get("Cache-Control") == "public, max-age=3600"  # an unhashed name: an hour
    missing = browser.get("/static/no-such-file.css")
    assert missing.status_code == 404
    assert missing.headers.get("X-Served-By") is None


def test_nginx_answers_its_ping_alone(stack):
    ping = Browser(stack.url).get("/nginx/ping")
    assert (ping.status_code, ping.text) == (200, "pong\n")
    assert ping.headers.get("X-Served-By") is None


def test_one_request_id_in_the_response_nginx_log_and_gunicorn_log(stack):
    response = Browser(stack.url).get("/healthz")
    request_id = response.headers.get("X-Request-ID")
    name, pid = served_by(response)
    assert len(request_id) == 32

    def logged(path, *words):
        return any(all(word in line for word in words) for line in path.read_text().splitlines())

    gunicorn_line = (
        f"[{name}]",
        f"[{pid}] {name} 127.0.0.1",
        '"GET /healthz HTTP/1.1" 200',
        f"rid={request_id}",
    )
    wait_until(lambda: logged(stack.run_dir / "stack.log", *gunicorn_line), 5, "waiting for the log line")
    server_port = stack.server(name).port
    upstream = f"upstream=127.0.0.1:{server_port}"
    wait_until(
        lambda: logged(stack.run_dir / "logs/access.log", upstream, request_id), 5, "waiting for nginx's log"
    )


@contextlib.contextmanager
def asking(stack):
    """A client asking /lab/probe over and over in a thread of its own: the statuses, as they come."""
    statuses, done = [], threading.Event()

    def keep_asking():
        browser = Browser(stack.url)
        while not done.is_set():
            statuses.append(browser.get("/lab/probe").status_code)

    asker = threading.Thread(target=keep_asking)
    asker.start()
    try:
        yield statuses
    finally:
        done.set()
        asker.join()


def test_restarting_a_server_while_nginx_keeps_serving(stack):
    server = stack.server("server1")
    old_pid = server.pid
    with asking(stack) as statuses:
        stack.restart("server1")  # here, in the main thread, which outlives the server
    assert server.pid != old_pid
    assert len(statuses) > 10
    assert set(statuses) == {200}


@pytest.mark.parametrize(
    "stack", [{"profile": "db", "servers": 2, "workers": 1, "private": True}], indirect=True
)
def test_a_restart_waits_for_the_other_server_before_draining_one(stack):
    """Issue 19: server1 is killed, and a restart of server2 is asked for a moment later (a rolling
    restart meeting a crash). Draining server2 while server1 was still starting left nginx no live
    server: every request answered 502 for a second or two. The restart waits for server1 instead."""
    with asking(stack) as statuses:
        wait_until(lambda: len(statuses) > 5, 30, "waiting for the first answers")
        stack.kill("server1")
        stack.restart("server2")
        asked = len(statuses)
        wait_until(lambda: len(statuses) > asked + 5, 30, "waiting for answers after the restart")
    assert set(statuses) == {200}, sorted(set(statuses))
