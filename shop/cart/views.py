from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from shop.catalog.models import Product
from shop.core.cached_urls import reverse

from .cart import MAX_QUANTITY, Cart, CartError, products_for_sale
from .forms import CartAddForm


def render_cart(request, cart, status=200):
    context = {"cart": cart, "lines": list(cart), "max_quantity": MAX_QUANTITY}
    return render(request, "cart/detail.html", context, status=status)


@require_safe
def cart_detail(request):
    return render_cart(request, Cart(request.session))


@require_POST
def cart_add(request, product_id):
    product = products_for_sale([product_id]).get(product_id)
    if product is None:
        raise Http404("No such product for sale.")
    cart = Cart(request.session)
    form = CartAddForm(request.POST)
    if form.is_valid():
        try:
            cart.add(product, form.cleaned_data["quantity"], override=form.cleaned_data["override"])
        except CartError as error:
            form.add_error("quantity", str(error))
        else:
            messages.success(request, f"Your cart now holds {cart.lines[str(product.pk)]} × {product.name}.")
            return HttpResponseRedirect(reverse("cart:detail"))
    # Shown where the shopper typed it: the cart page for a changed line, else the product.
    if form.cleaned_data.get("override"):
        for error in form.errors["quantity"]:
            messages.error(request, f"{product.name}: {error}")
        return render_cart(request, cart, status=400)
    return render(request, "catalog/product_detail.html", {"product": product, "form": form}, status=400)


@require_POST
def cart_remove(request, product_id):
    product = get_object_or_404(Product, pk=product_id)
    Cart(request.session).remove(product.pk)
    messages.info(request, f"Removed {product.name} from your cart.")
    return redirect("cart:detail")


@never_cache
@require_safe
def csrf_token(request):
    """The visitor's CSRF token in an ``X-CSRF-Token`` header, and the cookie it belongs to.

    nginx asks for it (auth_request) on every product page it serves to a visitor without a
    session, and puts the token in the add-to-cart form's slot of the page, cached or not
    (shop/catalog/csrf_slot.py). Reads no session, so it costs about what /healthz does.
    """
    response = HttpResponse(status=204)
    response["X-CSRF-Token"] = get_token(request)
    return response
