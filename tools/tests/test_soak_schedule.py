"""The soak's seeded fault schedule, and which fault kinds a stack of each shape can take."""

import pytest
from django.core.management import CommandError, call_command

from tools.soak.faults import KINDS, left_out, partner, supported
from tools.soak.run import Options
from tools.soak.schedule import parse_every, plan

SERVER_KINDS = [
    "kill_server",
    "pause_server",
    "reload_nginx",
    "rolling_restart",
    "switch_profile",
    "rotate_key",
]
REDIS_KINDS = ["kill_redis_primary", "kill_redis_replica", "restart_redis"]


def planned(seed, kinds=("kill_server", "reload_nginx", "rotate_key"), duration=60, every=(5, 9)):
    targets = {kind: ["server1", "server2"] if kind == "kill_server" else [None] for kind in kinds}
    return plan(seed, list(kinds), targets, duration, every)


def test_the_same_seed_plans_the_same_faults_and_another_seed_others():
    assert planned(7) == planned(7)
    assert planned(7) != planned(8)


def test_every_kind_comes_once_before_any_comes_again_and_at_least_once():
    kinds = ("kill_server", "reload_nginx", "rotate_key")
    faults = planned(3, kinds, duration=60, every=(5, 9))
    assert sorted(f.kind for f in faults[:3]) == sorted(kinds)
    assert all(5 <= f.gap <= 9 for f in faults)
    assert sum(f.gap for f in faults) < 60 and len(faults) >= 60 // 9
    assert sorted(f.kind for f in planned(3, kinds, duration=1)) == sorted(kinds)
    assert all(2 <= f.hold <= 4 for f in faults)
    assert {f.target for f in faults if f.kind == "kill_server"} <= {"server1", "server2"}


def test_every_is_min_dash_max_seconds():
    assert parse_every("5-9") == (5.0, 9.0)
    assert parse_every("3") == (3.0, 3.0)
    for wrong in ("9-5", "0-1", "x"):
        with pytest.raises(ValueError):
            parse_every(wrong)


def test_the_fault_kinds_each_stack_supports():
    assert supported(Options(profile="db")) == [*SERVER_KINDS, "stop_start"]
    assert supported(Options(profile="cache", redis="sentinel")) == [
        "kill_server",
        "pause_server",
        *REDIS_KINDS,
        *SERVER_KINDS[2:],
        "stop_start",
    ]
    assert supported(Options(profile="cache")) == [
        "kill_server",
        "pause_server",
        "restart_redis",
        *SERVER_KINDS[2:],
        "stop_start",
    ]
    assert {"partition_server", "partition_store"} <= set(supported(Options(profile="cached_db", hosts=True)))
    assert "partition_store" not in supported(Options(profile="db", hosts=True))  # SQLite is a file
    assert "partition_store" in supported(Options(profile="db", hosts=True, db="postgres"))
    assert "switch_profile" not in supported(Options(profile="locmem"))
    postgres = left_out(Options(profile="db", db="postgres"))
    assert "kill_postgres" in supported(Options(profile="db", db="postgres")) and "kill_postgres" in left_out(
        Options()
    )
    assert "deleted at stop" in postgres["stop_start"]
    assert all(KINDS[name].title for name in KINDS)


def test_a_live_switch_goes_to_a_profile_like_this_one_and_comes_back():
    assert partner("db", Options()).name == "file"
    assert partner("file", Options()).name == "db"
    assert partner("cache", Options()).name == "cached_db"
    # File sessions stay on one host; a cookie profile locks in the database too, and starts no store.
    assert partner("db", Options(hosts=True)).name == "signed_cookies"


def test_the_command_refuses_faults_the_stack_cannot_take_and_says_why():
    with pytest.raises(CommandError, match="unknown fault kind"):
        call_command("soak", "--faults", "kill_server,flood")
    with pytest.raises(CommandError, match="kill_redis_primary: this profile keeps no sessions in Redis"):
        call_command("soak", "--profile", "db", "--faults", "kill_redis_primary")
    with pytest.raises(CommandError, match="stop_start: the throwaway PostgreSQL cluster is deleted"):
        call_command("soak", "--profile", "db", "--db", "postgres", "--faults", "stop_start")
