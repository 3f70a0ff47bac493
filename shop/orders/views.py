from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from shop.cart.cart import Cart

from .forms import CheckoutForm
from .models import Order
from .services import CheckoutError, place_order


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def checkout(request):
    cart = Cart(request.session)
    if request.method != "POST":
        if not list(cart):
            messages.info(request, "Your cart is empty: add something before checking out.")
            return redirect("cart:detail")
        form = CheckoutForm.for_user(request.user)
        return render(request, "orders/checkout.html", {"cart": cart, "form": form})

    form = CheckoutForm(request.POST)
    if form.is_valid():
        try:
            order = place_order(request.user, cart, form.shipping(), form.cleaned_data["checkout_token"])
        except CheckoutError as error:
            messages.error(request, str(error))
            status = 409
        else:
            # If saving the session fails after this (its store is down), the error page must
            # still say that this order exists: shop.core.errors reads it from here.
            request.placed_order = order
            messages.success(request, f"Thank you! Order {order.pk} is placed.")
            return redirect(order)
    else:
        status = 400
    return render(request, "orders/checkout.html", {"cart": cart, "form": form}, status=status)


@login_required
@require_safe
def order_detail(request, order_id):
    order = get_object_or_404(Order.objects.prefetch_related("items"), pk=order_id, user=request.user)
    return render(request, "orders/detail.html", {"order": order})
