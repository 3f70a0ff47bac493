"""The stack's stores, started on demand: Redis (one server, or a Sentinel group) and PostgreSQL."""

from shop.core.profiles import needing_redis

from .children import wait_until
from .services import PostgresCluster, RedisSentinel, RedisServer

PRIMARY_FILE = "primary"  # in RUN_DIR/redis: the Redis group member that was the primary last


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

        names = [f"redis{k}" for k in (1, 2, 3)]
        # An acknowledged session write is on every replica, so whichever one Sentinel promotes
        # holds it. With one of two, Sentinel may promote the other (it ranks replicas by the
        # offsets it last heard, up to a second old), and the write is gone when the one that held
        # it resyncs from the new primary. The cost: while a replica is down, writes answer 503.
        wanted = int(self.base_env.get("SESSION_REDIS_REPLICAS_ACK", len(names) - 1))

        def member(kind, name, port, primary_at=None, **options):
            """A replica (or Sentinel) follows the primary at ``primary_at``: (address, port)."""
            return kind(folder / name, port, self.console, self._host(name), name, primary_at, **options)

        def server(name, primary_at=None):
            """As the primary, it takes a write only while the replicas a write waits for are in sync."""
            return member(RedisServer, name, ports[names.index(name)], primary_at, min_replicas=wanted)

        # The primary of the last run (after a failover, not redis1) holds every write the shop
        # acknowledged: it starts as the primary with its data, and the others sync from it.
        first = self._last_primary() or names[0]
        primary = server(first)
        self._start_store(primary)
        primary_at = (primary.address, primary.port)
        replicas = [server(name, primary_at) for name in names if name != first]
        for replica in replicas:
            self._start_store(replica)
        sentinels = [member(RedisSentinel, f"sentinel{k}", ports[2 + k], primary_at) for k in (1, 2, 3)]
        wait_until(lambda: primary.replicas_online() == len(replicas), 30, "waiting for the replicas to sync")
        for sentinel in sentinels:
            self._start_store(sentinel)
        return {
            "REDIS_URL": f"redis://{RedisSentinel.SERVICE}/0",
            "REDIS_SENTINELS": ",".join(f"{s.address}:{s.port}" for s in sentinels),
            "SESSION_REDIS_REPLICAS_ACK": str(wanted),
        }

    def _last_primary(self):
        try:
            return (self.run_dir / "redis" / PRIMARY_FILE).read_text().strip() or None
        except FileNotFoundError:
            return None

    def remember_redis_primary(self):
        """Write down which member of the Redis group is the primary now, as its Sentinels say, for
        the next start from this run folder; a stack with no group has nothing to remember."""
        sentinels = [s for s in self.stores if isinstance(s, RedisSentinel)]
        named = next(filter(None, (RedisSentinel.ask_primary(s.address, s.port) for s in sentinels)), None)
        for store in self.stores:
            if isinstance(store, RedisServer) and (store.address, store.port) == named:
                (self.run_dir / "redis" / PRIMARY_FILE).write_text(f"{store.name}\n")

    def _start_store(self, store):
        self.stores.append(store)
        store.start()
        self.say(f"{store.name} ({store.role}) started on {store.address}:{store.port}")
