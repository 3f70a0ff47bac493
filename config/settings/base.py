"""Settings common to every session profile.

A profile module (``config.settings.<profile>``) imports everything from here and changes
only where the session lives. Values that differ between machines come from the
environment, read once below, with defaults that are safe on a developer's laptop.
"""

import socket
from datetime import timedelta
from pathlib import Path

import environ
from django.utils.csp import CSP

from shop.core.profiles import profile

BASE_DIR = Path(__file__).resolve().parents[2]
env = environ.Env()

# GENERAL
# ------------------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=False)
# Every server behind the balancer must share this key: it signs session data, the
# auth hash and signed-cookie sessions. runstack generates one per run folder.
SECRET_KEY = env("SECRET_KEY", default="django-insecure-local-development-key-only")
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
# A public name for SECRET_KEY (/lab/probe's key_id): random, made with the key and kept beside it
# by runstack. Nothing computed from the key, which would let anyone who sees it test guesses.
SHOP_SECRET_KEY_ID = env("SHOP_SECRET_KEY_ID", default="")
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
# Where `manage.py sessionlab` writes its reports; /lab/report/ serves the latest one from here.
SHOP_LAB_RESULTS_DIR = Path(env("SHOP_LAB_RESULTS_DIR", default=str(BASE_DIR / "results")))
# The host it runs on: runstack --hosts sets host1, host2, ...; otherwise the machine's name.
SHOP_HOST_NAME = env("SHOP_HOST_NAME", default=socket.gethostname())

# DATABASES
# ------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
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
# A Redis group behind Sentinel ("host:port,..."; runstack --redis sentinel): REDIS_URL then names
# the group (redis://shop/0) and every command goes to whichever server is its primary now.
REDIS_SENTINELS = [
    (host, int(port)) for host, port in (s.rsplit(":", 1) for s in env.list("REDIS_SENTINELS", default=[]))
]
if REDIS_SENTINELS:
    REDIS_CACHE["OPTIONS"] |= {
        "CONNECTION_FACTORY": "django_redis.pool.SentinelConnectionFactory",
        "SENTINELS": REDIS_SENTINELS,
        "SENTINEL_KWARGS": {"socket_timeout": 1},
    }
# Replicas that must hold a session write before the request is answered (Redis's WAIT): with a
# replica, a failover cannot lose what a shopper was told was saved. 0: asynchronous replication.
SESSION_REDIS_REPLICAS_ACK = env.int("SESSION_REDIS_REPLICAS_ACK", default=0)

# APPS
# ------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "shop.core",
    "shop.accounts",
    "shop.catalog",
    "shop.cart",
    "shop.orders",
    # The lab is an add-on: the shop runs without it (shop/core/tests/test_without_lab.py).
    "shop.lab",
]

# AUTHENTICATION
# ------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
# The login throttle first: it refuses a locked-out username or address before any password
# is checked, for every authenticate() call with a request (the shop's login, the admin's).
AUTHENTICATION_BACKENDS = [
    "shop.accounts.lockout.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
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
    "shop.core.middleware.served_by",
    # Counts and times every request; answers /metrics for the scraper before any other middleware
    # (no HTTPS redirect, host check or session for it: shop/core/metrics.py).
    "shop.core.metrics.request_metrics",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # Around the session's load and save: one request at a time may change a session.
    "shop.core.session_lock.session_lock",
    # Django's, with the engine's loads and saves timed and sized (shop/core/metrics.py).
    "shop.core.metrics.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Django's, keeping a session's key through a SECRET_KEY rotation (two tabs, one session).
    "shop.accounts.middleware.Authentication",
    # No session cookie, no session to read: an anonymous user (lets catalog pages be shared).
    "shop.accounts.middleware.anonymous_without_session",
    "django.contrib.messages.middleware.MessageMiddleware",
    # A session signed in SHOP_SESSION_MAX_AGE seconds ago is signed out, however busy.
    "shop.accounts.middleware.session_max_age",
    # A signed-in session must name a live Device record: how one session alone can be ended.
    "shop.accounts.devices.device_check",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Turns a login the throttle refused into its 429 page (AXES_LOCKOUT_CALLABLE).
    "axes.middleware.AxesMiddleware",
]

# LOGIN THROTTLING (django-axes, https://django-axes.readthedocs.io/)
# ------------------------------------------------------------------------------
# Failures are rows in the database every server and worker shares, whatever the session
# profile: a counter in a per-process cache (locmem) would allow five tries per worker.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = 5
# A lock ends this long after the last failure; `manage.py purge_login_attempts` deletes
# the failures older than this, which no longer count.
AXES_COOLOFF_TIME = timedelta(minutes=15)
# Two separate counts: five failures for one username, or from one address, lock it.
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_USERNAME_CALLABLE = "shop.accounts.lockout.login_name"
# nginx's view of the client, believed only from SHOP_TRUSTED_PROXIES (not django-ipware).
AXES_CLIENT_IP_CALLABLE = "shop.accounts.lockout.client_address"
AXES_LOCKOUT_CALLABLE = "shop.accounts.lockout.locked_out"
# Attempts while locked out are refused without being recorded, so hammering a locked
# username does not keep it locked.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# A success clears the username's failures only (lockout.forget_the_users_failures): axes'
# reset would clear the address's count as well.
AXES_RESET_ON_SUCCESS = False
# No row per successful login (AccessLog): nothing would ever delete them.
AXES_DISABLE_ACCESS_LOG = True
# Masked in axes' log lines and in the form data it keeps with a failure.
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "csrfmiddlewaretoken"]


# SESSION PROFILES (shop/core/profiles.py)
# ------------------------------------------------------------------------------
def profile_settings(name):
    """What a server of profile ``name`` sets on top of this module: a profile module applies it.

    SHOP_SESSION_LOCK_STORE: where the per-session locks live, "redis" or "database", a store every
    server shares that the profile runs anyway; None where there is nothing to lock.
    """
    chosen = profile(name)
    values = {
        "SHOP_PROFILE": chosen.name,
        "SESSION_ENGINE": chosen.engine,
        "SHOP_SESSION_LOCK_STORE": chosen.lock_store,
    }
    if chosen.needs_redis:
        values["CACHES"] = {**CACHES, "default": REDIS_CACHE}
    if chosen.on_host_disk:
        # The folder must exist; unset, Django uses the system's temporary folder. runstack sets
        # <run folder>/sessions (with --hosts, each host's own folder) and creates it.
        values["SESSION_FILE_PATH"] = env("SESSION_FILE_PATH", default=None)
    return values


# SESSION LOCKS (shop/core/session_lock.py)
# ------------------------------------------------------------------------------
# SHOP_SESSION_LOCKS=0 switches them off: to measure what they cost, or if a store misbehaves.
SHOP_SESSION_LOCKS = env.bool("SHOP_SESSION_LOCKS", default=True)
# A lock outlives a normal write (tens of ms) many times over and a dead worker by at most this:
# a third of gunicorn's 30 s timeout. A request still running when it expires only loses the
# protection (today's last write wins), nothing else.
SHOP_SESSION_LOCK_TTL = env.float("SHOP_SESSION_LOCK_TTL", default=10)
# Longer than the TTL, so a lock a killed worker left behind delays the next write instead of
# refusing it; shorter than gunicorn's timeout with room for the request itself. Then 409.
SHOP_SESSION_LOCK_WAIT = env.float("SHOP_SESSION_LOCK_WAIT", default=15)

# SHOP_DEVICE_CHECKS=0 skips the Device check per signed-in request (shop/accounts/devices.py), for
# the benchmark to measure what it costs; ended sessions then stay signed in.
SHOP_DEVICE_CHECKS = env.bool("SHOP_DEVICE_CHECKS", default=True)

# METRICS (shop/core/metrics.py)
# ------------------------------------------------------------------------------
# SHOP_METRICS=0 switches Prometheus metrics off: for the benchmark to measure what they cost.
SHOP_METRICS = env.bool("SHOP_METRICS", default=True)
# Prometheus's HTTP API, for the lab's graphs (runstack --metrics sets it); unset: no graphs.
SHOP_PROMETHEUS_URL = env("SHOP_PROMETHEUS_URL", default="")

# STATIC
# ------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# collectstatic gathers here; nginx serves it in the stack.
STATIC_ROOT = env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Content-hashed names (css/shop.3b5c0e1f2a4d.css), looked up in the manifest collectstatic
    # writes: a new content is a new name, so nginx lets browsers keep each file for a year.
    # Without a manifest entry (a file collectstatic did not see) {% static %} raises.
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
}

# TEMPLATES
# ------------------------------------------------------------------------------
# The shop's own templates (templates/) are Jinja2's (shop/core/jinja.py says why); the admin's
# are Django's, found in the apps. The Jinja2 engine comes first: Django's error views find 404.html
# and the others there.
CONTEXT_PROCESSORS = [
    "django.contrib.auth.context_processors.auth",
    "django.contrib.messages.context_processors.messages",
    "shop.cart.context_processors.cart",
    "shop.core.context_processors.served_by",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": False,
        "OPTIONS": {
            "environment": "shop.core.jinja.environment",
            "context_processors": [*CONTEXT_PROCESSORS, "shop.core.jinja.csrf"],
        },
    },
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": ["django.template.context_processors.request", *CONTEXT_PROCESSORS],
        },
    },
]

# SECURITY
# ------------------------------------------------------------------------------
# Django believes X-Forwarded-Host and -Proto, and the login throttle X-Forwarded-For, because
# only nginx can send them: gunicorn listens on a loopback address that only nginx (and other
# processes on this machine) can reach - with runstack --hosts, on a host address that only the
# stack's bridge reaches - and nginx overwrites all three on every request.
# gunicorn passes them on from any peer: its forwarded_allow_ips (gunicorn 27) only decides
# whose X-Forwarded-Proto may set wsgi.url_scheme and whose header names with underscores
# reach the environment.
USE_X_FORWARDED_HOST = True
# Whose X-Forwarded-For the login throttle believes: nginx (runstack --hosts sets the bridge's address).
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
# Session lifetime (README, "Two timeouts"): SESSION_COOKIE_AGE counts from the last save, so with
# SESSION_SAVE_EVERY_REQUEST it is an idle timeout. Saving on every request costs a session write
# per request for the server-side engines (and a new Set-Cookie for signed cookies): off by default.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 24 * 14)
SESSION_SAVE_EVERY_REQUEST = env.bool("SESSION_SAVE_EVERY_REQUEST", default=False)
# The absolute lifetime: seconds after sign-in when a signed-in session is signed out at its next
# request, however busy, keeping its cart (shop/accounts/lifetime.py). Unset: no such limit.
SHOP_SESSION_MAX_AGE = env.int("SHOP_SESSION_MAX_AGE", default=None)

# Hardened mode (SHOP_SECURE=1): HTTPS only, behind nginx terminating TLS (runstack --tls).
SHOP_SECURE = env.bool("SHOP_SECURE", default=False)
if not SHOP_SECURE:
    # runstack, sessionlab, bench: tools for a developer's machine, not part of a hardened server.
    INSTALLED_APPS.append("tools")
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

# PBKDF2 at Django's 1.5 million iterations costs about 0.9 s of CPU a hash on this small machine,
# on purpose. The test suite's stacks sign up and log in hundreds of throwaway shoppers: with
# SHOP_FAST_PASSWORD_HASHING=1 (set by conftest.py) new passwords are hashed with MD5, and PBKDF2
# hashes still verify. Hardened mode ignores it: a real server always hashes at full strength.
if env.bool("SHOP_FAST_PASSWORD_HASHING", default=False) and not SHOP_SECURE:
    PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]

# LOGGING
# ------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "shop.core.request_id.RequestIdFilter"}},
    "formatters": {"plain": {"format": "%(levelname)s %(name)s rid=%(request_id)s: %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["request_id"]}
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="WARNING")},
}
