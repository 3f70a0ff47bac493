"""The micro-cache's nginx configuration, rendered without starting anything (fast).

tools/tests/test_config.py runs ``nginx -t`` on the rendered files, include and all.
"""

import re
from types import SimpleNamespace

import pytest

from shop.catalog.csrf_slot import HEADER, SLOT
from tools.stack.nginx import render_config

SERVERS = [SimpleNamespace(name="server1", port=40001)]


def rendered(run_dir, tls=None):
    """(nginx.conf, catalog_cache.conf), comments removed."""
    main = render_config(run_dir, 8000, SERVERS, "round_robin", tls=tls).read_text()
    include = (run_dir / "catalog_cache.conf").read_text()
    return tuple(re.sub(r"#.*", "", text) for text in (main, include))


def test_nginx_fills_the_slot_django_leaves_when_nginx_says_it_will(tmp_path):
    main, include = rendered(tmp_path)
    assert f'sub_filter "{SLOT}" $csrf_token;' in include
    assert f"proxy_set_header {HEADER} $csrf_slot;" in main
    assert f'include "{tmp_path}/catalog_cache.conf";' in main


@pytest.mark.parametrize(("tls", "cookie"), [(None, "sessionid"), (("c.pem", "k.pem"), "__Host-sessionid")])
def test_a_session_cookie_of_either_name_skips_the_cache(tmp_path, tls, cookie):
    main, _ = rendered(tmp_path, tls)
    assert f"(?:{cookie}|messages)=" in main


def test_the_cache_is_skipped_and_never_filled_for_visitors_with_a_session(tmp_path):
    _, include = rendered(tmp_path)
    assert "proxy_cache_bypass $catalog_cache_skip;" in include
    no_cache = "proxy_no_cache $catalog_cache_skip $upstream_http_set_cookie $upstream_varies_on_cookie;"
    assert no_cache in include
    assert "proxy_cache_valid 200 5s;" in include
    assert "proxy_cache_lock on;" in include and "proxy_cache_use_stale updating;" in include


def test_the_token_subrequest_never_touches_the_pages_cache(tmp_path):
    _, include = rendered(tmp_path)
    token_location = re.search(r"location = /_csrf_token \{(.*?)\n\}", include, re.DOTALL).group(1)
    assert "internal;" in token_location and "proxy_cache off;" in token_location


def test_retries_and_headers_are_set_once_for_every_proxied_location(tmp_path):
    """Shared settings at server level: no proxied location may set its own and drop them.

    nginx's own answers (/static/ with its Cache-Control) are no proxied answers."""
    main, include = rendered(tmp_path)
    both = re.sub(r"if \([^)]*\) \{[^}]*\}", "", main + include)  # an if block's braces end no location
    assert both.count("proxy_next_upstream ") == 1 and "non_idempotent" not in both
    proxied = [loc for loc in re.findall(r"location [^{]*\{(.*?)\}", both, re.DOTALL) if "proxy_pass" in loc]
    assert len(proxied) == 3  # /, /p/ and the token subrequest
    for location in proxied:
        assert "proxy_set_header" not in location and "add_header" not in location
