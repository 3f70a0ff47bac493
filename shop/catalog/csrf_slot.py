"""The CSRF token's slot in a product page's cached body.

The add-to-cart form needs the visitor's own CSRF token, but the body around it is the same
for everyone and is cached (shop/catalog/fragments.py). So the body is rendered with
``SLOT`` where the token goes, and each response fills the slot with its visitor's token.

Django fills it, except when nginx says it will (the ``X-CSRF-Slot: balancer`` request
header, sent only for a visitor without a session cookie): then the page leaves Django with
the slot still in it, sets no cookie and does not vary on Cookie, so nginx may cache it, and
nginx fills the slot in every answer, cached or not, with a token Django issued for that
visitor (nginx/catalog_cache.conf.template; docs/SECURITY.md, "CSRF on cached pages").
"""

from django.utils.safestring import mark_safe

from shop.core.jinja import page_token

# Cannot come from the catalog's own text: product names and descriptions are HTML-escaped.
SLOT = mark_safe("<csrf-token>")
HEADER = "X-CSRF-Slot"


def left_to_the_balancer(request):
    return request.headers.get(HEADER) == "balancer" and request.session.session_key is None


def fill(html, request):
    """``html`` with the visitor's CSRF token in the slot, unless nginx fills it."""
    if SLOT not in html or left_to_the_balancer(request):
        return html
    return mark_safe(html.replace(SLOT, page_token(request)))  # noqa: S308 (the token is [a-zA-Z0-9])
