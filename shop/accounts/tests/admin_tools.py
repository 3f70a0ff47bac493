"""Staff logins for tests through the real stack: made with the servers' settings, used through nginx."""

import secrets

from tools.client import served_by

PASSWORD = "a-long-password-for-tests-7"


def make_staff(stack):
    """A superuser with a real (PBKDF2) password, made with the servers' settings; its name."""
    username = f"staff-{secrets.token_hex(4)}"
    stack.manage(
        "shell",
        "--no-imports",
        "-c",
        (
            "from django.contrib.auth import get_user_model; "
            f"get_user_model().objects.create_superuser({username!r}, password={PASSWORD!r})"
        ),
    )
    return username


def admin_log_in(browser, username, password=PASSWORD):
    """Post the admin's login form as a browser does: (status, server that answered, page)."""
    fields = {"username": username, "password": password}
    response = browser.submit("/admin/login/", "/admin/login/?next=/admin/", fields)
    return response.status_code, served_by(response), response.text
