from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class CatalogConfig(AppConfig):
    name = "shop.catalog"

    def ready(self):
        from . import version
        from .models import Category, Product

        # Every save and delete, from the admin or anywhere else, gives the catalog a new version.
        for model in (Category, Product):
            for signal in (post_save, post_delete):
                uid = f"catalog-version-{model.__name__}"
                signal.connect(version.bump_on_change, sender=model, dispatch_uid=uid)
