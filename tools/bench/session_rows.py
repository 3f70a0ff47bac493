"""How the ``db`` session engine scales with the size of its table.

Run in a child process against a throwaway database (``DATABASE_URL``); prints one JSON
object. It times the real ``SessionStore.load()`` for live sessions with 1,000 rows in the
table, again after 1,000,000 expired rows were bulk-inserted with one SQL statement, and
then the real ``clearsessions`` deleting those expired rows.

    DATABASE_URL=sqlite:////tmp/rows.sqlite3 python -m tools.bench.session_rows 1000000
"""

import json
import random
import statistics
import sys
import time
from datetime import timedelta

LIVE = 1000
LOOKUPS = 2000
WARMUP = 200


def bulk_insert_expired(connection, count, data):
    """``count`` expired rows in one statement: the database generates them, Python does not."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "INSERT INTO django_session (session_key, session_data, expire_date) "
                "SELECT 'expired' || lpad(n::text, 33, '0'), %s, now() - interval '1 day' "
                "FROM generate_series(1, %s) AS n",
                [data, count],
            )
        else:
            cursor.execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %s) "
                "INSERT INTO django_session (session_key, session_data, expire_date) "
                "SELECT 'expired' || printf('%%033d', i), %s, datetime('now', '-1 day') FROM n",
                [count, data],
            )


def time_lookups(store_class, keys):
    """Microseconds per ``load()`` of a live session (index lookup plus decoding), once warm."""
    for key in keys[:WARMUP]:
        store_class(session_key=key).load()
    timings = []
    for key in random.Random(1).choices(keys, k=LOOKUPS):
        started = time.perf_counter_ns()
        data = store_class(session_key=key).load()
        timings.append((time.perf_counter_ns() - started) / 1000)
        assert data, f"session {key} did not load"
    timings.sort()
    return {
        "lookups": len(timings),
        "mean_us": round(statistics.mean(timings), 1),
        "p50_us": round(timings[len(timings) // 2], 1),
        "p99_us": round(timings[int(len(timings) * 0.99)], 1),
    }


def query_plan(connection, key):
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("EXPLAIN SELECT * FROM django_session WHERE session_key = %s", [key])
        else:
            cursor.execute("EXPLAIN QUERY PLAN SELECT * FROM django_session WHERE session_key = %s", [key])
        # The access path, without PostgreSQL's cost estimates.
        return str(cursor.fetchall()[0][-1]).split("  (cost=")[0]


def seconds(action):
    started = time.perf_counter()
    action()
    return round(time.perf_counter() - started, 2)


def measure(expired):
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    call_command("migrate", "sessions", verbosity=0)
    # What a logged-in shopper with three cart lines stores.
    login = {"_auth_user_id": "12345", "_auth_user_backend": "django.contrib.auth.backends.ModelBackend"}
    data = SessionStore().encode({**login, "_auth_user_hash": "0" * 64, "cart": {"17": 1, "42": 2, "99": 1}})
    expires = timezone.now() + timedelta(days=14)
    keys = [f"live{k:032d}" for k in range(LIVE)]
    Session.objects.bulk_create(
        Session(session_key=key, session_data=data, expire_date=expires) for key in keys
    )
    result = {
        "vendor": connection.vendor,
        "live_rows": LIVE,
        "expired_rows": expired,
        "data_bytes": len(data),
    }
    result["plan"] = query_plan(connection, keys[0])
    result["small"] = time_lookups(SessionStore, keys)
    result["insert_seconds"] = seconds(lambda: bulk_insert_expired(connection, expired, data))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE django_session")
    result["rows_before_clear"] = Session.objects.count()
    result["large"] = time_lookups(SessionStore, keys)
    result["clearsessions_seconds"] = seconds(lambda: call_command("clearsessions"))
    result["rows_after_clear"] = Session.objects.count()
    result["after_clear"] = time_lookups(SessionStore, keys)
    return result


if __name__ == "__main__":
    import django

    django.setup()
    print(json.dumps(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)))
