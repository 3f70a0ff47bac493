from django.core.management.base import BaseCommand

from shop.accounts.models import Device


class Command(BaseCommand):
    help = (
        "Delete the device records of expired sessions (ended ones are deleted when they end). "
        "Run it from cron next to clearsessions."
    )

    def handle(self, **options):
        deleted, _ = Device.objects.expired().delete()
        self.stdout.write(
            f"Deleted {deleted} device record{'s' if deleted != 1 else ''} of expired sessions."
        )
