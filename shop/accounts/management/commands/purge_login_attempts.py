from django.core.management.base import BaseCommand

from shop.accounts.lockout import cool_off_minutes, purge_expired_attempts


class Command(BaseCommand):
    help = (
        "Delete recorded failed logins older than the lockout (AXES_COOLOFF_TIME), which no longer "
        "count. Current ones stay, so no lock is lifted early. Run it from cron, like clearsessions."
    )

    def handle(self, *args, **options):
        deleted = purge_expired_attempts()
        minutes = cool_off_minutes()
        self.stdout.write(f"Deleted {deleted} expired failed-login records (older than {minutes} minutes).")
