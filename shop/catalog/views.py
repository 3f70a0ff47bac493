from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from shop.cart.forms import CartAddForm

from .models import Category, Product
from .search import search

PRODUCTS_PER_PAGE = 24


@require_safe
def product_list(request, category_slug=None):
    category = get_object_or_404(Category, slug=category_slug) if category_slug else None
    products = Product.objects.active().select_related("category")
    if category:
        products = products.filter(category=category)
    query = request.GET.get("q", "").strip()[:100]
    if query:
        products = search(products, query)
    page = Paginator(products, PRODUCTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "catalog/product_list.html",
        {"category": category, "categories": Category.objects.all(), "query": query, "page": page},
    )


@require_safe
def product_detail(request, slug):
    product = get_object_or_404(Product.objects.active().select_related("category"), slug=slug)
    return render(request, "catalog/product_detail.html", {"product": product, "form": CartAddForm()})
