from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe

from shop.cart.forms import CartAddForm

from . import csrf_slot, fragments, version
from .models import Category, Product
from .search import search

PRODUCTS_PER_PAGE = 24


@require_safe
def product_list(request, category_slug=None):
    query = request.GET.get("q", "").strip()[:100]
    page_number = request.GET.get("page")
    category_name, catalog = fragments.cached(
        "list", [category_slug, query, page_number], lambda: render_catalog(category_slug, query, page_number)
    )
    context = {"category_name": category_name, "query": query, "catalog": catalog}
    return render(request, "catalog/product_list.html", context)


def render_catalog(category_slug, query, page_number):
    """(version, (category name, the page's catalog HTML)): the part every visitor sees alike.

    Rendered without the request, so nothing of the visitor's can end up in it.
    """
    # First, and with the version: the sidebar's categories, the page's category among them.
    categories = list(Category.objects.annotate(catalog_version=version.in_query()))
    category = None
    if category_slug:
        category = next((c for c in categories if c.slug == category_slug), None)
        if category is None:
            raise Http404("No such category.")
    products = Product.objects.active().select_related("category")
    if category:
        products = products.filter(category=category)
    if query:
        products = search(products, query)
    page = Paginator(products, PRODUCTS_PER_PAGE).get_page(page_number)
    context = {"category": category, "categories": categories, "query": query, "page": page}
    html = rendered("catalog/_catalog.html", context)
    return (categories[0].catalog_version if categories else None), (category and category.name, html)


@require_safe
def product_detail(request, slug):
    name, body = fragments.cached("product", [slug], lambda: render_product(slug))
    context = {"product_name": name, "body": csrf_slot.fill(body, request)}
    return render(request, "catalog/product_detail.html", context)


def render_product(slug):
    """(version, (name, body HTML with a CSRF token slot)); 404 for an unknown or withdrawn product."""
    product = (
        Product.objects.active()
        .select_related("category")
        .annotate(catalog_version=version.in_query())
        .filter(slug=slug)
        .first()
    )
    if product is None:
        raise Http404("No such product.")
    context = {"product": product, "form": CartAddForm(), "csrf_token": csrf_slot.SLOT}
    return product.catalog_version, (product.name, rendered("catalog/_product.html", context))


def rendered(template_name, context):
    """A fragment's HTML, to be shown as it is: Jinja2 returns a plain ``str``, which a page would escape."""
    return mark_safe(render_to_string(template_name, context))  # noqa: S308 (escaped as it was rendered)
