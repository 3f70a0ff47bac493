from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import router, transaction
from django.db.models import F

from .models import Category, Product


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}


class ProductAdminForm(forms.ModelForm):
    """Stock is changed by what the staff member changed on the page, never set to the number.

    Checkouts take stock while the page is open; saving the number it showed would give back
    what they took. The page carries the stock it showed (a hidden ``initial-`` input), and the
    save adds the difference to whatever the stock is by then.
    """

    stock_change = 0

    class Meta:
        model = Product
        fields = ["category", "name", "slug", "description", "price", "stock", "is_active"]
        help_texts = {
            "stock": "Your change is applied to the stock as it is when you save: "
            "units sold since this page was loaded stay sold.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "stock" in self.fields:
            self.fields["stock"].show_hidden_initial = True

    def clean_stock(self):
        stock = self.cleaned_data["stock"]
        if self.instance._state.adding:
            return stock
        field = self.fields["stock"]
        try:
            shown = field.clean(self.data.get(self["stock"].html_initial_name))
        except ValidationError:
            raise ValidationError("This page is out of date: reload it and make the change again.") from None
        # Locked until the save: no checkout can take stock between this check and the update.
        now = Product.objects.select_for_update().values_list("stock", flat=True).get(pk=self.instance.pk)
        if now + stock - shown < 0:
            raise ValidationError(
                f"Only {now} left now, not the {shown} this page showed (checkouts took some): "
                f"the stock can go down by {now} at most."
            )
        self.stock_change = stock - shown
        return stock


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    form = ProductAdminForm
    list_display = ["name", "category", "price", "stock", "is_active", "updated"]
    list_editable = ["price", "stock", "is_active"]
    list_filter = ["is_active", "category"]
    list_select_related = ["category"]
    search_fields = ["name", "description"]
    prepopulated_fields = {"slug": ["name"]}
    list_per_page = 50
    # The changelist's full-table COUNT is slow on a big catalog; the exact number is not needed.
    show_full_result_count = False

    def get_changelist_form(self, request, **kwargs):
        kwargs.setdefault("form", ProductAdminForm)
        return super().get_changelist_form(request, **kwargs)

    def changelist_view(self, request, extra_context=None):
        if request.method != "POST" or "_save" not in request.POST:
            return super().changelist_view(request, extra_context)
        # Django validates the list's forms outside the transaction that saves them; the stock
        # check must see what the save will change, as on the change form. The posted rows are
        # locked in id order, the order checkouts take them in, so neither waits on the other
        # in a circle (PostgreSQL; SQLite's IMMEDIATE transactions take the whole database).
        with transaction.atomic(using=router.db_for_write(self.model)):
            ids = [
                value
                for key, value in request.POST.items()
                if key.startswith("form-") and key.endswith("-id") and value.isdigit()
            ]
            list(Product.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk"))
            return super().changelist_view(request, extra_context)

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
            return
        obj.save(update_fields=[f.name for f in obj._meta.concrete_fields if f.name not in ("id", "stock")])
        if form.stock_change:
            Product.objects.filter(pk=obj.pk).update(stock=F("stock") + form.stock_change)
        obj.refresh_from_db(fields=["stock"])
