"""Servers and stores on simulated hosts (network namespaces), through the lab's scenarios 8-11.

They need root (CAP_NET_ADMIN): they skip on a laptop without it and fail with CI=true.
"""

import json
import signal
import subprocess

import pytest

from shop.core.profiles import profile
from tools.client import Shopper, products_for_sale
from tools.stack.children import free_ports, port_is_free, wait_until
from tools.stack.services import RedisSentinel

pytestmark = pytest.mark.stack


@pytest.mark.parametrize(
    "stack", [{"profile": "file", "hosts": True}, {"profile": "db", "hosts": True}], indirect=True
)
def test_file_sessions_are_lost_across_hosts_and_db_sessions_are_kept(run, stack):
    outcome = run("hosts", stack)
    [(kept, total)] = outcome.counts
    assert {probe.host for probe in outcome.details["probes"]} == {"host1", "host2", "host3"}
    if not profile(stack.profile).across_hosts:
        assert kept < total / 2, "each host has its own session folder"
    else:
        assert kept == total


# Private, as every test below that cuts a host or a route off or kills a store.
@pytest.mark.parametrize("stack", [{"profile": "db", "hosts": True, "private": True}], indirect=True)
def test_a_partitioned_server_host_costs_no_failed_get(run, stack):
    (answered, gets), (kept, probes) = run("host_cut", stack).counts
    assert answered == gets and kept == probes


@pytest.mark.parametrize(
    "stack", [{"profile": "cache", "hosts": True, "workers": 1, "private": True}], indirect=True
)
def test_a_server_cut_off_redis_leaves_the_rotation(run, stack):
    outcome = run("store_cut", stack)
    victim = outcome.details["victim"]
    answers = outcome.details["probes"]
    # Its shoppers' requests fail only until runstack's readiness check takes it out of rotation.
    assert [server for t, status, server in answers if t > 5] and victim not in {
        s for t, _, s in answers if t > 5
    }
    assert outcome.details["after_heal"].kept == outcome.details["after_heal"].total


@pytest.mark.parametrize(
    "stack",
    [{"profile": "cache", "hosts": True, "redis": "sentinel", "workers": 1, "private": True}],
    indirect=True,
)
def test_a_killed_redis_primary_is_replaced_and_the_shopper_keeps_login_and_cart(stack):
    shopper = Shopper(stack.url, "failover").sign_up()
    shopper.add(products_for_sale(shopper.browser)[0], 2)
    roles = {part["name"]: part["role"] for part in stack.status()["parts"]}
    primary = next(name for name, role in roles.items() if role == "redis-primary")
    next(store for store in stack.stores if store.name == primary).child.signal(signal.SIGKILL)
    seconds = wait_until(lambda: shopper.probe().status == 200, 30, "waiting for Sentinel's failover")
    probes = shopper.probes(4)
    assert shopper.tally(probes).kept == 4, probes
    new_roles = {part["name"]: part["role"] for part in stack.status()["parts"]}
    assert new_roles[primary] == "redis-replica" and list(new_roles.values()).count("redis-primary") == 1
    # Back with its old data, it was no candidate for the next failover until it held the new
    # primary's (replica-priority 0 until then), and is one again now.
    revived = next(store for store in stack.stores if store.name == primary)
    promotable = lambda: revived.client().config_get("replica-priority") == {"replica-priority": "100"}  # noqa: E731
    wait_until(promotable, 30, f"waiting for {primary} to be promotable again")
    log = (stack.run_dir / "stack.log").read_text()
    assert f"{primary} holds the primary's data: Sentinel may promote it again" in log
    print(f"\nsessions unavailable for {seconds:.1f} s during the failover")


def kill_the_redis_primary(stack):
    """SIGKILL the group's primary; return once the Sentinels name another one."""
    roles = {part["name"]: part["role"] for part in stack.status()["parts"]}
    primary = next(store for store in stack.stores if roles[store.name] == "redis-primary")
    primary.child.signal(signal.SIGKILL)
    sentinel = next(store for store in stack.stores if roles[store.name] == "sentinel")
    named = lambda: RedisSentinel.ask_primary(sentinel.address, sentinel.port)  # noqa: E731
    wait_until(lambda: named() not in (None, (primary.address, primary.port)), 30, "waiting for a failover")
    # Session writes wait for both replicas: the killed primary, back as a replica, must have synced.
    new_primary = next(s for s in stack.stores if (s.address, s.port) == named())
    wait_until(lambda: new_primary.replicas_online() == 2, 30, "waiting for the old primary to sync")


@pytest.mark.parametrize("hosts", [False, True], ids=["one-host", "hosts"])
def test_a_failover_survives_a_full_stop_and_start_and_the_next_failover(start_stack, tmp_path, hosts):
    """Each start used to make redis1 the primary with its own old data (losing what a failover had
    moved to redis2), and without --hosts a second start found its Sentinels' old ports."""
    shape = {"profile": "cache", "redis": "sentinel", "servers": 1, "workers": 1, "hosts": hosts}
    shape |= {"run_dir": tmp_path, "port": free_ports(1)[0]}  # the shopper's cookies stay valid
    stack = start_stack(**shape)
    shopper = Shopper(stack.url, "restart-failover").sign_up()
    products = products_for_sale(shopper.browser, 3)

    def keeps_every_acknowledged_line():
        signed_in = shopper.probe().username == shopper.username
        return signed_in and set(shopper.lines) <= set(shopper.cart_lines())

    for lines, product in enumerate(products, start=1):  # before a failover, after it, after both
        if lines > 1:
            kill_the_redis_primary(stack)
            wait_until(lambda: shopper.probe().status == 200, 30, "waiting for the shop after the failover")
        # A write no replica confirms in WAIT's time (a loaded machine) is a 503, not acknowledged.
        wait_until(lambda p=product: shopper.add(p, 1, required=False), 30, "waiting for an acknowledged add")
        assert len(shopper.lines) == lines and keeps_every_acknowledged_line()
        if lines == 2:
            stack.stop()
            stack = start_stack(**shape)
            assert keeps_every_acknowledged_line(), "the restart lost what the failover kept"
    stack.stop()


# The scenario starts a stack of its own (hosts, Sentinel, the WAIT setting); this one only names
# the profile.
@pytest.mark.parametrize("stack", ["cache"], indirect=True)
def test_the_failover_scenario_loses_nothing_acknowledged_with_wait(run, stack):
    [result] = run("failover", stack).details["runs"]
    assert result["ack"] == 2 and result["new_primary"] != result["killed"]
    assert result["logins_lost"] == result["lines_lost"] == 0 and result["acknowledged"] > 0


def network_left(tag):
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [line for line in (links + namespaces).splitlines() if tag in line]


def test_stop_leaves_no_namespace_link_process_or_port(start_stack):
    stack = start_stack("cache", servers=2, workers=1, hosts=True)
    tag, status = stack.network.tag, stack.status()
    assert network_left(tag) and json.loads((stack.run_dir / "status.json").read_text()) == status
    pids = [pid for group in stack.pids().values() for pid in group]
    stack.stop()
    assert network_left(tag) == []
    assert not [
        pid for pid in pids if subprocess.run(["kill", "-0", str(pid)], capture_output=True).returncode == 0
    ]
    assert not (stack.run_dir / "status.json").exists() and port_is_free(stack.port)
