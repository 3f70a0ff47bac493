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


def test_a_write_held_by_the_replica_is_acknowledged(primary_and_replica):
    primary, _ = primary_and_replica
    primary.set("session", "cart")
    wait_for_replicas(primary, 1, milliseconds=10_000)  # a loaded CI machine may take over 500 ms


def test_more_replicas_than_there_are_is_a_store_failure(primary_and_replica):
    primary, _ = primary_and_replica
    primary.set("session", "cart")
    with pytest.raises(STORE_DOWN, match="reached 1 of 2 replicas"):
        wait_for_replicas(primary, 2)


def test_a_demoted_primary_is_a_store_failure_not_a_500(primary_and_replica):
    """What a failover between the write and the WAIT looks like: the connection is a replica's."""
    _, replica = primary_and_replica
    with pytest.raises(STORE_DOWN, match="demoted"):
        wait_for_replicas(replica, 1)
