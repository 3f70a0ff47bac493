"""Rendered catalog fragments, cached in each worker process and checked against the catalog version.

What a catalog page shows of the catalog (the product grid and its pagination, the category
list, a product's body) is the same for every shopper, so it is rendered once per worker
and catalog version, not once per request; only the header (who is signed in, the cart
count, a CSRF token) is rendered per request.

The fragments live in ``CACHES["catalog"]``, a per-process LocMemCache: a hit costs
no round trip to a shared store, and a worker that has not rendered a page yet renders it
itself. Whether a fragment is still current is decided by the version every server shares
(shop/catalog/version.py): a hit costs that one primary-key read. A miss costs no extra
query at all, because ``build`` reads the version in the same statement as its first
catalog rows (``version.in_query()``), before the rows it renders: a fragment can be newer
than its version, never older.
"""

import hashlib
import json

from django.conf import settings
from django.core.cache import caches

from . import version

CACHE = "catalog"


def cached(kind, params, build):
    """The fragment ``kind`` for ``params`` (JSON-able); ``build()`` returns (version, value).

    ``build`` may raise (Http404): nothing is cached then. A value built without a version
    (no version row) is returned but not cached.
    """
    # Hashed: search text may hold spaces and characters that a cache key may not.
    key = f"{kind}:{hashlib.sha256(json.dumps(params).encode()).hexdigest()}"
    # A configuration that names no catalog cache (an older one, a test's) uses the default.
    fragments = caches[CACHE if CACHE in settings.CACHES else "default"]
    entry = fragments.get(key)
    if entry is not None and entry[0] == version.current():
        return entry[1]
    built_at, value = build()
    if built_at is not None:
        fragments.set(key, (built_at, value))
    return value
