"""What the checker reads of the database: every order with its lines, and every product's stock.

Taken with the servers' own settings and database (``Stack.python``), so it reads SQLite and
PostgreSQL alike; the checker's ``snapshot`` (see ``checker.py``).
"""

SNAPSHOT = """
import collections, json
from shop.catalog.models import Product
from shop.orders.models import Order
orders = []
for order in Order.objects.select_related("user").prefetch_related("items").order_by("id"):
    items = collections.Counter()
    for item in order.items.all():
        items[str(item.product_id)] += item.quantity
    token = str(order.checkout_token) if order.checkout_token else None
    orders.append({"id": order.pk, "user": order.user.username, "token": token, "items": items})
stock = {str(pk): units for pk, units in Product.objects.values_list("pk", "stock")}
print(json.dumps({"orders": orders, "stock": stock}))
"""


def snapshot(stack):
    return stack.python(SNAPSHOT)
