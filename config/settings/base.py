"""Settings common to every session profile.

A profile module (``config.settings.<profile>``) imports everything from here and changes
only where the session lives. Values that differ between machines come from the
environment, read once below, with defaults that are safe on a developer's laptop.
"""

from pathlib import Path

import environ
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parents[2]
env = environ.Env()

# GENERAL
# ------------------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=False)
# Every server behind the balancer must share this key: it signs session data, the
# auth hash and signed-cookie sessions. runstack generates one per run folder.
SECRET_KEY = env("SECRET_KEY", default="django-insecure-local-development-key-only")
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The name this server answers with in X-Served-By; runstack sets server1, server2, ...
SHOP_SERVER_NAME = env("SHOP_SERVER_NAME", default="local")

# DATABASES
# ------------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
# Reopening the connection per request reruns the PRAGMAs below and halves db-session
# throughput; health checks make the persistent connection safe after a DB restart.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=600)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several gunicorn workers write to one file: WAL lets readers run beside the one
    # writer, IMMEDIATE takes the write lock up front instead of failing mid-transaction
    # with "database is locked", and the timeout makes writers queue instead of failing.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }

# CACHES
# ------------------------------------------------------------------------------
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    # Rendered catalog fragments (shop/catalog/fragments.py), in each worker's own memory: cheap
    # to rebuild, so never worth a round trip to a shared store. The catalog version in the
    # database says when they are stale; TIMEOUT only bounds how long a change made behind the
    # app's back (raw SQL) stays unseen. About 15 KB a page: MAX_ENTRIES bounds the memory.
    "catalog": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "catalog",
        "TIMEOUT": 300,
        "OPTIONS": {"MAX_ENTRIES": 500},
    },
}
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
REDIS_CACHE = {
    "BACKEND": "django_redis.cache.RedisCache",
    "LOCATION": REDIS_URL,
    "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2},
}

# APPS
# ------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "shop.accounts",
    "shop.catalog",
    "shop.cart",
    "shop.orders",
    "shop.lab",
    "shop.stack",
]

# AUTHENTICATION
# ------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "catalog:product_list"
LOGOUT_REDIRECT_URL = "catalog:product_list"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# MIDDLEWARE
# ------------------------------------------------------------------------------
MIDDLEWARE = [
    # Outermost, so that every response, errors included, names the server.
    "shop.lab.middleware.served_by",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # No session cookie, no session to read: an anonymous user (lets catalog pages be shared).
    "shop.accounts.middleware.anonymous_without_session",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# STATIC
# ------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# collectstatic gathers here; nginx serves it in the stack.
STATIC_ROOT = env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))

# TEMPLATES
# ------------------------------------------------------------------------------
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "shop.cart.context_processors.cart",
                "shop.lab.context_processors.served_by",
            ],
        },
    },
]

# SECURITY
# ------------------------------------------------------------------------------
# nginx is the only client of gunicorn and sets these headers; gunicorn trusts
# X-Forwarded-* only from 127.0.0.1 (forwarded_allow_ips), so Django can too.
USE_X_FORWARDED_HOST = True
# Whose X-Forwarded-For the login throttle believes: nginx, on this host.
SHOP_TRUSTED_PROXIES = env.list("SHOP_TRUSTED_PROXIES", default=["127.0.0.1", "::1"])
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Everything the pages load is our own and no page has inline script, so this is strict.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
# Session lifetime: absolute (SESSION_COOKIE_AGE) and, with SESSION_SAVE_EVERY_REQUEST,
# an idle timeout. Saving on every request costs a session write per request for the
# server-side engines (and a new Set-Cookie for signed cookies), so it is off by default.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 24 * 14)
SESSION_SAVE_EVERY_REQUEST = env.bool("SESSION_IDLE_TIMEOUT", default=False)

# Hardened mode (SHOP_SECURE=1): HTTPS only, behind nginx terminating TLS (runstack --tls).
SHOP_SECURE = env.bool("SHOP_SECURE", default=False)
if SHOP_SECURE:
    DEBUG = False
    SECRET_KEY = env("SECRET_KEY")  # required: the development default is refused here
    SECURE_SSL_REDIRECT = True
    # The balancer's health checks reach the servers over plain HTTP, behind the TLS it terminates.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    # __Host- cookies are only accepted over HTTPS, for this exact host, path /.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    CSRF_COOKIE_HTTPONLY = True

# LOGGING
# ------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "shop.lab.request_id.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(levelname)s %(name)s rid=%(request_id)s: %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="WARNING")},
}
