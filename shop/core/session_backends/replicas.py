"""Session writes that a Redis failover cannot lose: WAIT for replicas before answering.

Redis replicates asynchronously: a primary that dies right after a write may take the write
with it, and the replica Sentinel promotes answers with the session as it was before. With
``SESSION_REDIS_REPLICAS_ACK = n`` every session save waits (Redis's WAIT) until n replicas
hold it; fewer in time is a store failure, answered with the 503 page, never a false success.
"""

from django.conf import settings
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from shop.core import metrics
from shop.core.errors import too_few_replicas

WAIT_MILLISECONDS = 500


def wait_for_replicas(client, wanted, write, milliseconds=WAIT_MILLISECONDS):
    """Send ``write(pipeline)`` and a WAIT for ``wanted`` replicas together, on one connection of
    ``client``; return once the replicas hold the write, a store failure otherwise.

    Together, because WAIT counts the writes of its own connection, and redis-py sends a command
    whose connection broke again on a new one (and its pool reconnects a connection the server
    closed before handing it out). Sent on their own, a WAIT after the primary died with the write
    went to the new primary on a connection that wrote nothing, and answered at once that every
    replica had it: the write was lost and acknowledged (a soak killing the primary every 6-10 s
    lost 13 acknowledged cart changes so). A pipeline is sent again whole: the write as well.

    A primary demoted by a failover answers the write or the WAIT with an error (READONLY, "WAIT
    cannot be used with replica instances"), and a group's primary with a replica out of sync
    refuses the write (NOREPLICAS: ``min-replicas-to-write``, tools/stack/services.py): the store
    is changing hands, which is a 503 like any outage, never a 500 (the write may be lost with the
    old primary, so it is not acknowledged).
    """
    pipeline = client.pipeline(transaction=False)
    write(pipeline)
    pipeline.wait(wanted, milliseconds)
    try:
        *_, acknowledged = pipeline.execute()
    except ResponseError as error:
        refused = too_few_replicas(error)
        metrics.replica_wait("too_few_replicas" if refused else "demoted")
        reason = "had too few replicas in sync" if refused else "was demoted"
        raise RedisConnectionError(f"the session write's primary {reason}: {error}") from error
    metrics.replica_wait("acknowledged" if acknowledged >= wanted else "timeout")
    if acknowledged < wanted:
        raise RedisConnectionError(
            f"the session write reached {acknowledged} of {wanted} replicas in {milliseconds} ms"
        )


class WaitForReplicas:
    """A mixin for the Redis session engines; ``self._cache`` is a django-redis cache."""

    def save(self, must_create=False):
        super().save(must_create)
        wanted = settings.SESSION_REDIS_REPLICAS_ACK
        if wanted:
            # The engine's own save (Django's: existence checks, the database first for cached_db)
            # wrote on whichever connection; the session goes out once more with its WAIT.
            cache = self._cache.client
            session, age = self._get_session(), self.get_expiry_age()
            wait_for_replicas(
                cache.get_client(write=True),
                wanted,
                lambda pipe: cache.set(self.cache_key, session, age, client=pipe),
            )
