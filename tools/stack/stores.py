"""The stack's stores, started on demand: Redis (one server, or a Sentinel group) and PostgreSQL."""

from shop.core.profiles import needing_redis

from .children import wait_until
from .services import PostgresCluster, RedisSentinel, RedisServer


class Stores:
    """Mixed into ``Stack``: start the stores its profiles and ``--db`` need, each on a host of its
    own with ``--hosts``; ``self.stores`` lists them in the order they started."""

    def _start_stores(self, env, ports):
        """Redis when a session profile in use needs it (unless REDIS_URL names one), PostgreSQL with
        --db postgres; each on a host of its own with --hosts. ``ports``: 3 for Redis, 3 for
        Sentinels, 1 for PostgreSQL."""
        if needing_redis([self.profile, *self.fallback_profiles()]) and not env.get("REDIS_URL"):
            env |= self._start_redis(ports)
        if self.db == "postgres":
            if env.get("DATABASE_URL"):
                self.say("--db postgres: the servers use the throwaway cluster, not DATABASE_URL")
            postgres = PostgresCluster(ports[6], self.console, self._host("postgres"))
            self._start_store(postgres)
            env["DATABASE_URL"] = postgres.url()
        return env

    def _start_redis(self, ports):
        """The Redis of the Redis profiles (one server, or a Sentinel group); the variables that
        reach it. Data in RUN_DIR/redis, so that sessions survive a full stop and start."""
        folder = self.run_dir / "redis"
        if self.redis == "single":
            redis = RedisServer(folder, ports[0], self.console, self._host("redis"))
            self._start_store(redis)
            return {"REDIS_URL": redis.url}

        def member(kind, name, port, primary_at=None):
            """A replica (or Sentinel) follows the primary at ``primary_at``: (address, port)."""
            return kind(folder / name, port, self.console, self._host(name), name, primary_at)

        primary = member(RedisServer, "redis1", ports[0])
        self._start_store(primary)
        primary_at = (primary.address, primary.port)
        for k in (2, 3):
            self._start_store(member(RedisServer, f"redis{k}", ports[k - 1], primary_at))
        sentinels = [member(RedisSentinel, f"sentinel{k}", ports[2 + k], primary_at) for k in (1, 2, 3)]
        wait_until(lambda: primary.replicas_online() == 2, 30, "waiting for the replicas to sync")
        for sentinel in sentinels:
            self._start_store(sentinel)
        return {
            "REDIS_URL": f"redis://{RedisSentinel.SERVICE}/0",
            "REDIS_SENTINELS": ",".join(f"{s.address}:{s.port}" for s in sentinels),
            # An acknowledged session write is on a replica too, so a failover cannot lose it.
            "SESSION_REDIS_REPLICAS_ACK": self.base_env.get("SESSION_REDIS_REPLICAS_ACK", "1"),
        }

    def _start_store(self, store):
        self.stores.append(store)
        store.start()
        self.say(f"{store.name} ({store.role}) started on {store.address}:{store.port}")
