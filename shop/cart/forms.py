from django import forms

from .cart import MAX_QUANTITY


class CartAddForm(forms.Form):
    quantity = forms.IntegerField(min_value=1, max_value=MAX_QUANTITY, initial=1)
    # Set by the cart page: replace the line's quantity instead of adding to it.
    override = forms.BooleanField(required=False, initial=False, widget=forms.HiddenInput)
