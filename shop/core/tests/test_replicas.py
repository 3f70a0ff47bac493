"""WAIT against real redis-servers: a write no replica holds, or a demoted primary, is a store failure;
and the options a Sentinel group's members run with (tools/stack/services.py) keep the primary from
writing what its replicas do not get, and a replica from serving what its primary no longer holds."""

import pytest
import redis
from django.test import Client

from conftest import require_binary
from shop.core.errors import STORE_DOWN
from shop.core.profiles import profile
from shop.core.session_backends.replicas import wait_for_replicas
from shop.core.session_lock import STORES, lock_name
from tools.stack.children import wait_until
from tools.stack.services import RedisServer


@pytest.fixture(scope="module")
def primary_and_replica(tmp_path_factory):
    require_binary("redis-server")
    with (
        RedisServer(tmp_path_factory.mktemp("primary")) as primary,
        RedisServer(
            tmp_path_factory.mktemp("replica"), replica_of=(primary.address, primary.port)
        ) as replica,
    ):
        wait_until(lambda: primary.replicas_online() == 1, 10, "waiting for the replica to sync")
        yield redis.Redis.from_url(primary.url), redis.Redis.from_url(replica.url)


def write(value):
    return lambda pipeline: pipeline.set("session", value)


def test_a_write_held_by_the_replica_is_acknowledged(primary_and_replica):
    primary, replica = primary_and_replica
    wait_for_replicas(primary, 1, write("cart"), milliseconds=10_000)  # a loaded CI machine: > 500 ms
    assert replica.get("session") == b"cart"


def test_more_replicas_than_there_are_is_a_store_failure(primary_and_replica):
    primary, _ = primary_and_replica
    with pytest.raises(STORE_DOWN, match="reached 1 of 2 replicas"):
        wait_for_replicas(primary, 2, write("cart"))


def test_a_demoted_primary_is_a_store_failure_not_a_500(primary_and_replica):
    """What a failover between the write and the WAIT looks like: the connection is a replica's."""
    _, replica = primary_and_replica
    with pytest.raises(STORE_DOWN, match="demoted"):
        wait_for_replicas(replica, 1, write("cart"))


def test_a_write_whose_connection_broke_is_sent_again_with_its_wait(primary_and_replica):
    """The primary killed between a session's write and its WAIT takes the connection that wrote
    with it; redis-py then sends the next command on a new connection, where WAIT alone (nothing
    written on it) would acknowledge at once. The write and its WAIT go together: here the server
    drops the connection first, and what WAIT acknowledges is on the replica."""
    primary, replica = primary_and_replica
    connection_id = primary.client_id()  # the connection the pool hands out next
    address = primary.connection_pool.connection_kwargs
    with redis.Redis(host=address["host"], port=address["port"]) as other:
        other.client_kill_filter(_id=connection_id)
    wait_for_replicas(primary, 1, write("after the break"), milliseconds=10_000)
    assert replica.get("session") == b"after the break"


@pytest.fixture
def primary_missing_a_replica(tmp_path, settings):
    """A group's primary (as runstack --redis sentinel starts it: it takes a write only while two
    replicas are in sync) with one replica; the shop's session locks in it."""
    require_binary("redis-server")
    with (
        RedisServer(tmp_path / "primary", min_replicas=2) as primary,
        RedisServer(
            tmp_path / "replica", replica_of=(primary.address, primary.port), min_replicas=2
        ) as replica,
    ):
        wait_until(lambda: primary.replicas_online() == 1, 10, "waiting for the replica to sync")
        # A replica writing its first append-only file after the sync refuses to stop meanwhile.
        wait_until(lambda: aof_written(replica), 10, "waiting for the replica's append-only file")
        settings.CACHES = {**settings.CACHES, "default": {**settings.REDIS_CACHE, "LOCATION": primary.url}}
        yield primary, replica


def aof_written(server):
    with server.client() as client:
        info = client.info("persistence")
    return not (info["aof_rewrite_in_progress"] or info["aof_rewrite_scheduled"])


def test_a_primary_without_every_replica_refuses_the_write_itself(primary_missing_a_replica):
    """Not only unacknowledged: not written, so no read shows a change a failover could take back."""
    primary, _ = primary_missing_a_replica
    client = primary.client()
    with pytest.raises(STORE_DOWN, match="too few replicas in sync"):
        wait_for_replicas(client, 2, write("cart"))
    assert client.get("session") is None


def test_a_session_lock_the_primary_refuses_is_a_store_failure_not_a_500(primary_missing_a_replica):
    with pytest.raises(STORE_DOWN, match="refused the write"):
        STORES["redis"]().acquire(lock_name("a-session-cookie"), ttl=10, wait=0)


def test_a_sign_in_the_primary_refuses_is_the_503_page_not_a_500(primary_missing_a_replica, settings, user):
    """django-redis raises Redis's own error, NOREPLICAS, from the session's save in login()."""
    settings.SESSION_ENGINE, settings.SHOP_SESSION_LOCK_STORE = profile("cache").engine, "redis"
    client = Client(raise_request_exception=False)
    response = client.post(
        "/accounts/login/", {"username": user.username, "password": "correct-horse-battery"}
    )
    assert response.status_code == 503 and response["Retry-After"] == "5"


def test_a_replica_that_lost_its_primary_serves_no_stale_reads(primary_missing_a_replica):
    """And it counts as up: restarted while its primary is down (restart_redis), it comes back."""
    primary, replica = primary_missing_a_replica
    primary.stop()
    with replica.client() as client, pytest.raises(redis.ResponseError, match="Link with MASTER is down"):
        client.get("session")
    replica.child.stop()
    replica.start()  # waits until it answers
