from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.messages.views import SuccessMessageMixin
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_POST, require_safe
from django.views.generic import CreateView

from shop.orders.models import Order

from .devices import DEVICE_SESSION_KEY, end_other_devices
from .forms import SignupForm
from .models import Device


class SignupView(auth_views.RedirectURLMixin, CreateView):
    """Create an account and sign in; a same-site ``next`` is honoured, like login's."""

    form_class = SignupForm
    template_name = "accounts/signup.html"
    next_page = settings.LOGIN_REDIRECT_URL

    def form_valid(self, form):
        # login() keeps the anonymous session's data, so the cart comes along.
        login(self.request, form.save(), backend="django.contrib.auth.backends.ModelBackend")
        messages.success(self.request, f"Welcome, {self.request.user.username}! You are signed in.")
        return HttpResponseRedirect(self.get_success_url())


class LoginView(auth_views.LoginView):
    # Throttled like every authenticate() call: see lockout.py.
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class PasswordChangeView(SuccessMessageMixin, auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("catalog:product_list")
    success_message = "Your password was changed; every other device was logged out."

    def form_valid(self, form):
        # Every session ends; this one then gets the new hash (password and epoch), no other does.
        form.user.end_all_sessions()
        end_other_devices(self.request, form.user)
        return super().form_valid(form)


@login_required
@require_safe
def order_history(request):
    orders = Order.objects.filter(user=request.user)
    return render(request, "accounts/orders.html", {"orders": orders})


@login_required
@require_POST
def logout_everywhere(request):
    """Log out this session and every other one, copied signed cookies included."""
    request.user.end_all_sessions()
    Device.objects.filter(user=request.user).delete()
    logout(request)
    messages.success(request, "You are logged out on every device.")
    return redirect(settings.LOGOUT_REDIRECT_URL)


@login_required
@require_safe
def session_list(request):
    """Every signed-in session of this user: the current one first, then the most recently seen."""
    current = request.session.get(DEVICE_SESSION_KEY)
    devices = Device.objects.live().filter(user=request.user).order_by("-last_seen", "-pk")
    devices = sorted(devices, key=lambda device: device.public_id != current)
    return render(request, "accounts/sessions.html", {"devices": devices, "current": current})


@login_required
@require_POST
def end_session(request, device_id):
    """End one session of this user; its next request, on any server, is signed out."""
    if device_id == request.session.get(DEVICE_SESSION_KEY):
        logout(request)
        messages.success(request, "You are logged out.")
        return redirect(settings.LOGOUT_REDIRECT_URL)
    ended, _ = Device.objects.filter(public_id=device_id, user=request.user).delete()
    if not ended:  # a forged id, another user's, or one already ended: nothing changed
        raise Http404("You have no such session.")
    messages.success(request, "That session is signed out: its next request will not be signed in.")
    return redirect("accounts:sessions")
