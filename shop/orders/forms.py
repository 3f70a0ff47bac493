import uuid

from django import forms

from .models import Order


class CheckoutForm(forms.ModelForm):
    # Optional so that scripts can post just the address; the page always sends one.
    checkout_token = forms.UUIDField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = Order
        fields = ["full_name", "address", "city", "postal_code"]

    @classmethod
    def for_user(cls, user):
        return cls(initial={"full_name": user.get_full_name(), "checkout_token": uuid.uuid4()})

    def shipping(self):
        return {field: self.cleaned_data[field] for field in self.Meta.fields}
