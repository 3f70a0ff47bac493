"""Stock edited in the admin through the real stack: a change list loaded before a checkout,
saved after it, keeps the stock the checkout took."""

import secrets
from decimal import Decimal

import pytest

from shop.accounts.tests.admin_tools import admin_log_in, make_staff
from shop.core.tests.stack_helpers import checkout, logged_in, new_product, sql, stock
from tools.client import Browser

from .html_form import form_fields

pytestmark = pytest.mark.stack

ADMIN_DESK = "127.0.0.61"


def test_a_change_list_saved_after_a_checkout_keeps_the_stock_it_took(stack):
    tag = secrets.token_hex(4)
    product = new_product(stack, f"admin-stock-{tag}", stock=10)
    admin = Browser(stack.url, source_address=ADMIN_DESK)
    assert admin_log_in(admin, make_staff(stack))[0] == 302
    changelist = f"/admin/catalog/product/?q={tag}"
    page = admin.get(changelist)
    fields = form_fields(page.text, "changelist-form")
    assert (fields["form-0-id"], fields["form-0-stock"]) == (str(product), "10")

    (shopper,) = logged_in(stack, [f"shopper-{tag}"], cart={product: 2})
    _, ordered = checkout(shopper)
    assert ordered.status_code == 302
    assert stock(stack, product) == 8

    saved = admin.post(changelist, data=fields | {"form-0-price": "11.50", "_save": "Save"})
    assert saved.status_code == 302, saved.text[:500]
    ((price, left),) = sql(stack, "SELECT price, stock FROM catalog_product WHERE id = %s", product)
    assert (Decimal(str(price)), left) == (Decimal("11.50"), 8)  # the price changed, the sale stayed
