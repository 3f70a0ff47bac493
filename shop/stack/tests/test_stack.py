"""Through the real nginx: balancing, static files, request ids, a crash and a restart."""

import threading
import time

import pytest

from shop.stack.client import Browser

pytestmark = pytest.mark.stack

SERVERS = {"server1", "server2", "server3"}


@pytest.fixture(scope="module")
def stack(start_stack):
    stack = start_stack("db", servers=3, workers=2)
    yield stack
    stack.stop()


def served_by(response):
    name, pid = response.header("X-Served-By").split(":")
    return name, int(pid)


def wait_for(condition, timeout=30):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_requests_spread_over_every_server_and_their_workers(stack):
    browser = Browser(stack.url)
    answers = [browser.get("/healthz") for _ in range(12)]
    assert [answer.status for answer in answers] == [200] * 12
    names = {served_by(answer)[0] for answer in answers}
    assert names == SERVERS
    for answer in answers:
        name, pid = served_by(answer)
        assert pid in stack.server(name).worker_pids


def test_static_files_are_served_by_nginx_with_cache_headers(stack):
    browser = Browser(stack.url)
    css = browser.get("/static/admin/css/base.css")
    assert css.status == 200
    assert css.header("Content-Type") == "text/css"
    assert css.header("X-Served-By") is None  # Django never saw the request
    assert css.header("Cache-Control") == "max-age=3600"
    assert css.header("Expires")
    missing = browser.get("/static/no-such-file.css")
    assert missing.status == 404
    assert missing.header("X-Served-By") is None


def test_nginx_answers_its_ping_alone(stack):
    ping = Browser(stack.url).get("/nginx/ping")
    assert (ping.status, ping.text) == (200, "pong\n")
    assert ping.header("X-Served-By") is None


def test_one_request_id_in_the_response_nginx_log_and_gunicorn_log(stack):
    response = Browser(stack.url).get("/healthz")
    request_id = response.header("X-Request-ID")
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
    wait_for(lambda: logged(stack.run_dir / "stack.log", *gunicorn_line), timeout=5)
    server_port = stack.server(name).port
    wait_for(
        lambda: logged(stack.run_dir / "logs/access.log", f"upstream=127.0.0.1:{server_port}", request_id), 5
    )


def test_gets_keep_succeeding_while_a_killed_server_comes_back(stack):
    browser = Browser(stack.url)
    victim = stack.server("server2")
    old_pids = {victim.pid, *victim.worker_pids}
    stack.kill("server2")
    answers = [browser.get("/healthz") for _ in range(15)]
    assert [answer.status for answer in answers] == [200] * 15
    wait_for(lambda: victim.serving and victim.pid not in old_pids)
    assert not old_pids & {victim.pid, *victim.worker_pids}
    # Back in nginx's rotation within seconds (fail_timeout=1s), not nginx's default ten.
    back = time.monotonic()
    while served_by(browser.get("/healthz"))[0] != "server2":
        assert time.monotonic() - back < 3, "server2 serves again but nginx does not send it requests"


def test_restarting_a_server_while_nginx_keeps_serving(stack):
    server = stack.server("server1")
    old_pid = server.pid
    statuses, done = [], threading.Event()

    def keep_asking():
        browser = Browser(stack.url)
        while not done.is_set():
            statuses.append(browser.get("/lab/probe").status)

    asker = threading.Thread(target=keep_asking)
    asker.start()
    try:
        stack.restart("server1")  # here, in the main thread, which outlives the server
    finally:
        done.set()
        asker.join()
    assert server.pid != old_pid
    assert len(statuses) > 10
    assert set(statuses) == {200}
