"""WAIT against real redis-servers: a write no replica holds, or a demoted primary, is a store failure."""

import pytest
import redis

from conftest import require_binary
from shop.core.errors import STORE_DOWN
from shop.core.session_backends.replicas import wait_for_replicas
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
