from django.core.management.base import BaseCommand

from shop.accounts.models import User

# For a local demo only: these passwords are public, in the README.
DEMO_USERS = [("shopper", "shop-demo-2026", False), ("admin", "admin-demo-2026", True)]


class Command(BaseCommand):
    help = (
        "Create (or reset) the demo logins: 'shopper' for the shop and 'admin' for /admin/. "
        "The passwords are printed and public: never run this on a real deployment."
    )

    def handle(self, *args, **options):
        for username, password, staff in DEMO_USERS:
            user, _ = User.objects.get_or_create(username=username)
            user.is_staff = user.is_superuser = staff
            user.set_password(password)
            user.save()
            where = "/admin/ and the shop" if staff else "the shop"
            self.stdout.write(f"Demo login for {where}: {username} / {password}")
