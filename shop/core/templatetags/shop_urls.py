"""``{% url %}`` through ``shop.core.cached_urls``: ``{% load shop_urls %}`` in a template that wants it."""

from django import template

from shop.core.cached_urls import reverse

register = template.Library()


@register.simple_tag
def url(viewname, *args, **kwargs):
    return reverse(viewname, args, kwargs)
