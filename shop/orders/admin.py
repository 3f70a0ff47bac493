from django.contrib import admin

from .models import Order, OrderItem


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    fields = ["product", "product_name", "unit_price", "quantity", "line_total"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "full_name", "city", "total", "created"]
    list_filter = ["created"]
    list_select_related = ["user"]
    search_fields = ["id", "full_name", "user__username"]
    readonly_fields = ["user", "total", "created"]
    inlines = [OrderItemInline]
    date_hierarchy = "created"
