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

WAIT_MILLISECONDS = 500


def wait_for_replicas(client, wanted, milliseconds=WAIT_MILLISECONDS):
    """Return once ``wanted`` replicas hold this connection's writes; a store failure otherwise.

    A primary demoted by a failover between the write and the WAIT answers "WAIT cannot be used
    with replica instances": the store is changing hands, which is a 503 like any outage, never a
    500 (the write itself may be lost with the old primary, so it is not acknowledged).
    """
    try:
        acknowledged = client.wait(wanted, milliseconds)
    except ResponseError as error:
        metrics.replica_wait("demoted")
        raise RedisConnectionError(f"the session write's primary was demoted: {error}") from error
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
            # WAIT counts the writes of its own connection. A sync worker has one thread, and the
            # pool hands out the connection released last: the one the write just used.
            wait_for_replicas(self._cache.client.get_client(write=True), wanted)
