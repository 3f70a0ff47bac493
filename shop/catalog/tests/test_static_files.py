"""Static files through the real stack: pages link content-hashed names, and nginx lets browsers
keep those for a year without asking again, since a new content is a new name."""

import hashlib
import re

import pytest

from tools.client import Browser

pytestmark = pytest.mark.stack

STYLESHEET = re.compile(r'<link rel="stylesheet" href="(/static/css/shop\.([0-9a-f]{12})\.css)">')
A_YEAR = "max-age=31536000"


def test_pages_link_hashed_static_files_that_nginx_serves_as_immutable_for_a_year(stack):
    browser = Browser(stack.url)
    link = STYLESHEET.search(browser.get("/").text)
    assert link, "the page links no content-hashed stylesheet"
    css = browser.get(link[1])
    assert css.status_code == 200
    assert css.headers.get("Content-Type").startswith("text/css")
    assert css.headers.get("X-Served-By") is None  # nginx itself, not Django
    cache_control = css.headers.get("Cache-Control")
    assert "immutable" in cache_control
    assert A_YEAR in cache_control
    assert hashlib.md5(css.text.encode(), usedforsecurity=False).hexdigest()[:12] == link[2]


def test_unhashed_static_names_are_not_kept_for_a_year(stack):
    """collectstatic also writes the original names, whose content can change under them."""
    plain = Browser(stack.url).get("/static/css/shop.css")
    assert plain.status_code == 200
    assert "immutable" not in (plain.headers.get("Cache-Control") or "")
    assert A_YEAR not in (plain.headers.get("Cache-Control") or "")
