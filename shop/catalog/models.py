from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models

from shop.core.cached_urls import reverse  # a URL is fixed while the process runs


class Category(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("catalog:category", args=[self.slug])


class ProductQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


class Product(models.Model):
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    price = models.DecimalField(
        max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0.00"))]
    )
    # PositiveIntegerField adds a CHECK (stock >= 0): the database itself refuses
    # negative stock, whatever the code above it does.
    stock = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["is_active", "name", "id"])]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("catalog:product_detail", args=[self.slug])


class CatalogVersion(models.Model):
    """One row whose ``number`` changes whenever anything a catalog page shows changes.

    Rendered catalog fragments are cached per worker process and stamped with the number
    they were rendered at (shop/catalog/fragments.py). The row lives in the database because
    that is the one store every server of every profile shares. See shop/catalog/version.py.
    """

    number = models.PositiveBigIntegerField()

    def __str__(self):
        return f"catalog version {self.number}"
