from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.core.exceptions import ValidationError

from .models import User
from .throttle import LOCKOUT, forget_failures, is_locked_out, record_failure, throttle_keys


class SignupForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        model = User
        fields = ["username"]


class ThrottledAuthenticationForm(AuthenticationForm):
    """Django's login form, refusing attempts once a username or address is locked out."""

    def clean(self):
        keys = throttle_keys(self.request, self.data.get("username", ""))
        if is_locked_out(keys):
            minutes = int(LOCKOUT.total_seconds() // 60)
            raise ValidationError(
                f"Too many failed logins. Please wait {minutes} minutes and try again.", code="throttled"
            )
        try:
            cleaned = super().clean()
        except ValidationError:
            record_failure(keys)
            raise
        forget_failures(keys[:1])  # the user's own count; the address keeps its history
        return cleaned
