"""A newcomer's first commands, as real processes.

After ``make setup``, ``python manage.py runserver`` serves every page with its CSS, under the
default profile and under a Redis one (README, "Session profiles"). A gunicorn started by hand
before ``collectstatic`` says in one line what to run and exits, instead of answering 500 on
every page; after ``collectstatic``, as runstack starts its servers, it serves, hardened too.
"""

import os
import re
import subprocess
import sys
from contextlib import contextmanager

import pytest
from django.conf import settings

from conftest import manage
from shop.accounts.management.commands.demo_users import DEMO_USERS
from shop.core.profiles import REGISTRY
from tools.client import PRODUCT_LINK, Browser
from tools.stack.children import free_ports, port_is_listening, wait_until

pytestmark = pytest.mark.server

STATIC_LINK = re.compile(r'(?:href|src)="(/static/[^"]+)"')
HASHED_STYLESHEET = re.compile(r'href="/static/css/shop\.[0-9a-f]{12}\.css"')
SHOPPER, PASSWORD, _ = DEMO_USERS[0]
NOT_COLLECTED = "static files are not collected in {}: run `python manage.py collectstatic --noinput` first"


def newcomer_env(**variables):
    """This process's environment without what a newcomer would not have set."""
    unset = ("DEBUG", "STATIC_ROOT", "DATABASE_URL", "REDIS_URL", "SHOP_SECURE", "DJANGO_SETTINGS_MODULE")
    return {name: value for name, value in os.environ.items() if name not in unset} | variables


@pytest.fixture(scope="module")
def setup_database(tmp_path_factory):
    """What ``make setup`` makes of db.sqlite3 (its ``db.sqlite3.ready`` step), in a fresh file."""
    url = f"sqlite:///{tmp_path_factory.mktemp('newcomer-db') / 'db.sqlite3'}"
    env = newcomer_env(DATABASE_URL=url)
    for command in (["migrate", "--noinput"], ["seed_catalog", "--if-empty"], ["demo_users"]):
        manage(env, *command)
    return url


@pytest.fixture(scope="module")
def collected_static(tmp_path_factory, setup_database):
    """A STATIC_ROOT that ``collectstatic`` filled, as runstack does for its servers."""
    folder = tmp_path_factory.mktemp("collected")
    manage(newcomer_env(STATIC_ROOT=str(folder)), "collectstatic", "--noinput")
    return folder


@contextmanager
def serving(argv, env, port, log):
    """Run ``argv`` until it answers on ``port``; the base URL, then stop it."""
    with open(log, "w") as out:
        process = subprocess.Popen(argv, env=env, cwd=settings.BASE_DIR, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: process.poll() is not None or port_is_listening(port), 60, f"starting {argv}")
        assert process.poll() is None, f"{argv} exited ({process.returncode}):\n{log.read_text()}"
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def assert_static_files_answer(browser, page):
    links = set(STATIC_LINK.findall(page.text))
    assert any(link.endswith(".css") for link in links), f"{page.url} links no stylesheet"
    for link in links:
        response = browser.get(link)
        assert response.status_code == 200, link
        if link.endswith(".css"):
            assert response.headers["Content-Type"].startswith("text/css")


@pytest.mark.parametrize("profile", ["db", "cache"])
def test_runserver_serves_every_page_with_its_css_after_make_setup(
    profile, request, setup_database, tmp_path
):
    """No DEBUG set and nothing collected (STATIC_ROOT is an empty folder): runserver's own default."""
    env = newcomer_env(
        DATABASE_URL=setup_database,
        DJANGO_SETTINGS_MODULE=f"config.settings.{profile}",
        STATIC_ROOT=str(tmp_path / "never-collected"),
    )
    if REGISTRY[profile].needs_redis:
        env["REDIS_URL"] = request.getfixturevalue("redis_url")
    (port,) = free_ports(1)
    argv = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
    with serving(argv, env, port, tmp_path / "runserver.log") as url, Browser(url) as browser:
        product = PRODUCT_LINK.search(browser.get("/").text)[1]
        for path in ["/", f"/p/{product}/", "/cart/", "/accounts/login/", "/lab/"]:
            page = browser.get(path)
            assert page.status_code == 200, path
            assert_static_files_answer(browser, page)
        signed_in = browser.submit(
            "/accounts/login/", "/accounts/login/", {"username": SHOPPER, "password": PASSWORD}
        )
        assert signed_in.status_code == 302
        probe = browser.probe()
        assert (probe["profile"], probe["authenticated"], probe["username"]) == (profile, True, SHOPPER)


@pytest.mark.parametrize("options", [[], ["-c", "config/gunicorn.conf.py"]], ids=["by-hand", "shop-config"])
def test_gunicorn_before_collectstatic_says_what_to_run_in_one_line_and_exits(options, tmp_path):
    empty = tmp_path / "static"
    empty.mkdir()
    (port,) = free_ports(1)
    argv = [sys.executable, "-m", "gunicorn", *options, "--bind", f"127.0.0.1:{port}", "config.wsgi"]
    # HOME: gunicorn started by hand opens its control socket in ~/.gunicorn.
    env = newcomer_env(STATIC_ROOT=str(empty), HOME=str(tmp_path))
    result = subprocess.run(argv, env=env, cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    said = [line for line in (result.stdout + result.stderr).splitlines() if "collectstatic" in line]
    assert said == [NOT_COLLECTED.format(empty)]


@pytest.mark.parametrize(
    "hardened", [{}, {"SHOP_SECURE": "1", "SECRET_KEY": "k" * 50}], ids=["plain", "hardened"]
)
def test_gunicorn_after_collectstatic_serves_pages_linking_hashed_static_names(
    hardened, setup_database, collected_static, tmp_path
):
    """How runstack starts each server: collected static files, the shop's gunicorn config."""
    (port,) = free_ports(1)
    argv = [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "--bind", f"127.0.0.1:{port}"]
    env = newcomer_env(DATABASE_URL=setup_database, STATIC_ROOT=str(collected_static), **hardened)
    with serving(argv, env, port, tmp_path / "gunicorn.log") as url, Browser(url) as browser:
        # Behind nginx terminating TLS, as runstack --tls runs a hardened server.
        page = browser.get("/", headers={"X-Forwarded-Proto": "https"})
        assert page.status_code == 200
        assert HASHED_STYLESHEET.search(page.text)
