"""Catalog search: case-insensitive substring match over name and description."""

from django.db import connections
from django.db.models import Q
from django.db.models.expressions import RawSQL

# The trigram index (migration 0002) only knows strings of three characters or more.
TRIGRAM = 3


def search(products, text):
    """``products`` whose name or description contains ``text``, from the index where there is one."""
    if connections[products.db].vendor == "sqlite" and len(text) >= TRIGRAM:
        phrase = '"' + text.replace('"', '""') + '"'  # one quoted FTS5 phrase: a substring, no syntax
        matches = RawSQL("SELECT rowid FROM catalog_product_fts WHERE catalog_product_fts MATCH %s", [phrase])
        return products.filter(pk__in=matches)
    return products.filter(Q(name__icontains=text) | Q(description__icontains=text))
