"""The Jinja2 environment of the shop's templates (``templates/``); the admin keeps Django's.

Why Jinja2: it compiles a template to Python code, where Django's engine walks a tree of nodes
and resolves every variable through its lookup rules at each render. The cart page (three lines)
took 1,450 µs to render in Django's engine and 500 µs in Jinja2, the same HTML, in one process on
this 2-core machine (the context and its processors, 420 µs, apart); docs/BENCHMARKS.md has the
figures through the stack.

What a template sees besides its context: ``url()`` (``shop.core.cached_urls``), ``static()``,
Django's ``date``, ``timesince`` and ``pluralize`` filters, and the context processors of
``TEMPLATES``. Unlike Django's, Jinja2 calls no method by itself: ``order.get_absolute_url()``.
"""

from functools import lru_cache

from django.middleware.csrf import get_token
from django.template import defaultfilters
from django.templatetags.static import static
from django.utils.functional import SimpleLazyObject
from django.utils.html import format_html
from django.utils.timezone import template_localtime
from jinja2 import Environment

from .cached_urls import reverse


def url(viewname, *args, **kwargs):
    """``{{ url("cart:add", product.id) }}``: Django's ``{% url %}``, remembered per process."""
    return reverse(viewname, args, kwargs)


def date(value, arg=None):
    """Django's ``date`` filter, in the current time zone as Django's templates show a datetime."""
    return defaultfilters.date(template_localtime(value), arg)


def page_token(request):
    """The CSRF token of this response, masked once: each of Django's ``get_token()`` masks anew, with
    32 calls to the system's random source (86-97 µs here, timeit at a load of 2), and a signed-in
    product page shows two forms (the product body's, filled in by ``shop.catalog.csrf_slot``, and
    the header's)."""
    try:
        return request.shop_csrf_token
    except AttributeError:
        request.shop_csrf_token = token = get_token(request)
        return token


def csrf(request):
    """A context processor: ``csrf_token`` and ``csrf_input`` made once per page.

    Django's Jinja2 backend masks a new token each time a page shows one; the cart page shows seven.
    Lazy, as Django's own: a page that shows no form (an anonymous catalog page, which nginx caches)
    asks for no token and sets no CSRF cookie.
    """
    token = SimpleLazyObject(lambda: page_token(request))
    field = SimpleLazyObject(
        lambda: format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', token)
    )
    return {"csrf_token": token, "csrf_input": field}


def environment(**options):
    env = Environment(**options)  # noqa: S701 (Django's backend passes autoescape=True)
    # A static file's URL cannot change while a process runs (collectstatic's manifest is read once).
    env.globals.update(url=url, static=lru_cache(maxsize=64)(static))
    env.filters.update(
        date=date, timesince=defaultfilters.timesince_filter, pluralize=defaultfilters.pluralize
    )
    return env
