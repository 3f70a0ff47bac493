"""Static files through the real stack: pages link content-hashed names, and nginx lets browsers
keep those for a year without asking again, since a new content is a new name."""

import hashlib
import re

import pytest

from shop.lab.tests.stack_tools import client

pytestmark = pytest.mark.stack

STYLESHEET = re.compile(r'<link rel="stylesheet" href="(/static/css/shop\.([0-9a-f]{12})\.css)">')
A_YEAR = "max-age=31536000"


@pytest.fixture(scope="module")
def stack(start_stack):
    stack = start_stack("db", servers=1, workers=1)
    yield stack
    stack.stop()


def test_pages_link_hashed_static_files_that_nginx_serves_as_immutable_for_a_year(stack):
    browser = client(stack)
    link = STYLESHEET.search(browser.get("/").text)
    assert link, "the page links no content-hashed stylesheet"
    css = browser.get(link[1])
    assert css.status == 200
    assert css.header("Content-Type").startswith("text/css")
    assert css.header("X-Served-By") is None  # nginx itself, not Django
    cache_control = css.header("Cache-Control")
    assert "immutable" in cache_control
    assert A_YEAR in cache_control
    assert hashlib.md5(css.text.encode(), usedforsecurity=False).hexdigest()[:12] == link[2]


def test_unhashed_static_names_are_not_kept_for_a_year(stack):
    """collectstatic also writes the original names, whose content can change under them."""
    plain = client(stack).get("/static/css/shop.css")
    assert plain.status == 200
    assert "immutable" not in (plain.header("Cache-Control") or "")
    assert A_YEAR not in (plain.header("Cache-Control") or "")
