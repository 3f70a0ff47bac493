"""The remembered ``reverse()`` and the templates' ``url()`` answer as Django's, under any script prefix."""

import pytest
from django.template import engines
from django.urls import NoReverseMatch, clear_script_prefix, set_script_prefix
from django.urls import reverse as django_reverse

from shop.core.cached_urls import reverse

CASES = [
    ("catalog:product_list", (), {}),
    ("cart:add", (5,), {}),
    ("catalog:product_detail", (), {"slug": "kettle"}),
]


@pytest.fixture(params=["/", "/shop/"])
def prefix(request):
    """A shop served under a path (SCRIPT_NAME), as Django's handler sets it per request."""
    set_script_prefix(request.param)
    yield request.param
    clear_script_prefix()


@pytest.mark.parametrize(("name", "args", "kwargs"), CASES)
def test_the_same_url_as_djangos_under_each_prefix(prefix, name, args, kwargs):
    for _ in range(2):  # computed, then remembered
        assert reverse(name, args, kwargs) == django_reverse(name, args=args, kwargs=kwargs)
        assert reverse(name, args, kwargs).startswith(prefix)


def test_no_such_url_is_djangos_error_each_time():
    for _ in range(2):
        with pytest.raises(NoReverseMatch):
            reverse("cart:add", ["not-a-number"])


def test_the_templates_url_takes_args_and_keywords():
    source = "{{ url('cart:add', 7) }}|{{ url('catalog:product_detail', slug=s) }}"
    template = engines["jinja2"].from_string(source)
    assert template.render({"s": "copper-kettle"}) == "/cart/add/7/|/p/copper-kettle/"
