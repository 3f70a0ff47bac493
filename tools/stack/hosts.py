"""Simulated hosts for ``runstack --hosts``: Linux network namespaces on a bridge the stack makes.

Every host is a network namespace with its own address, one veth link into the stack's bridge
and its own folder (``<run dir>/hosts/<name>``) for what a host keeps on its own disk. nginx
stays on the machine's loopback and reaches the hosts through the bridge, whose address is the
balancer's address as the hosts see it. Cutting a host's link (``partition``) takes it off the
network; ``heal`` puts it back.

Every name is derived from the run folder, so a stack that crashed leaves nothing that the next
start from the same folder does not find and remove first.
"""

import contextlib
import hashlib
import ipaddress
import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .children import StackError, find_binary

# RFC 2544's benchmarking range: no real network uses it, so traffic to it stays on this machine.
# The one place the stack's addresses come from; each stack takes one /24 of it.
NETWORK = ipaddress.ip_network("198.18.0.0/15")
CAP_NET_ADMIN = 12


def can_make_hosts():
    """Root, or a process with CAP_NET_ADMIN (namespaces, links and addresses need it)."""
    if os.geteuid() == 0:
        return True
    status = Path("/proc/self/status").read_text()
    effective = next(line.split()[1] for line in status.splitlines() if line.startswith("CapEff:"))
    return bool(int(effective, 16) >> CAP_NET_ADMIN & 1)


def ip(*args, check=True):
    result = subprocess.run([find_binary("ip") or "ip", *args], capture_output=True, text=True)
    if check and result.returncode:
        raise StackError(f"ip {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


@dataclass
class Host:
    name: str
    address: str
    namespace: str
    link: str  # the veth end on the bridge: down means cut off
    folder: str

    def run(self, argv):
        """``argv`` run inside this host's network namespace (it execs: the pid stays argv's)."""
        return [find_binary("ip") or "ip", "netns", "exec", self.namespace, *argv]


class Network:
    """The bridge and the hosts of one stack (one run folder)."""

    def __init__(self, run_dir):
        self.run_dir = Path(run_dir)
        self.tag = hashlib.sha256(str(self.run_dir.resolve()).encode()).hexdigest()[:6]
        self.bridge = f"sb{self.tag}"
        self.subnet = None
        self.hosts = {}

    @property
    def balancer_address(self):
        """The bridge's own address: where nginx's (and every tool's) connections come from."""
        return str(self.subnet.network_address + 1)

    def create(self):
        if not can_make_hosts():
            raise StackError("--hosts needs root or CAP_NET_ADMIN (network namespaces); run it as root")
        self.remove()  # what a crashed stack of this run folder left
        self.subnet = self._free_subnet()
        ip("link", "add", self.bridge, "type", "bridge")
        ip("addr", "add", f"{self.balancer_address}/{self.subnet.prefixlen}", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")

    def _free_subnet(self):
        """A /24 of NETWORK that no interface of this machine uses, starting at this stack's own."""
        used = ip("-o", "-4", "addr", "show")
        subnets = list(NETWORK.subnets(new_prefix=24))
        start = int(self.tag, 16) % len(subnets)
        for subnet in subnets[start:] + subnets[:start]:
            if f" {subnet.network_address + 1}/" not in used:
                return subnet
        raise StackError(f"every /24 of {NETWORK} is in use on this machine")

    def add_host(self, name):
        number = len(self.hosts) + 1
        host = Host(
            name=name,
            address=str(self.subnet.network_address + 10 + number),
            namespace=f"shop-{self.tag}-{name}",
            link=f"sv{self.tag}{number}",
            folder=str(self.run_dir / "hosts" / name),
        )
        Path(host.folder).mkdir(parents=True, exist_ok=True)
        ip("netns", "add", host.namespace)
        ip("link", "add", host.link, "type", "veth", "peer", "name", "eth0", "netns", host.namespace)
        ip("link", "set", host.link, "master", self.bridge, "up")
        ip("-n", host.namespace, "addr", "add", f"{host.address}/{self.subnet.prefixlen}", "dev", "eth0")
        ip("-n", host.namespace, "link", "set", "eth0", "up")
        ip("-n", host.namespace, "link", "set", "lo", "up")
        self.hosts[name] = host
        return host

    def remove(self):
        """Kill whatever still runs in this stack's namespaces, delete them, their links and the bridge."""
        prefix = f"shop-{self.tag}-"
        namespaces = [line.split()[0] for line in ip("netns", "list").splitlines() if line.startswith(prefix)]
        for namespace in namespaces:
            for pid in ip("netns", "pids", namespace, check=False).split():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
            ip("netns", "del", namespace, check=False)
        # A namespace goes (with its end of the veth pair) only once the kernel has cleaned it up:
        # delete the links and the bridge now rather than leave that to chance.
        for line in ip("-o", "link", "show", check=False).splitlines():
            name = line.split(":")[1].strip().split("@")[0]
            if name == self.bridge or name.startswith(f"sv{self.tag}"):
                ip("link", "del", name, check=False)
        self.hosts = {}


def set_link(host, up):
    """Partition ``host`` from the network (``up=False``) or heal it."""
    ip("link", "set", host.link, "up" if up else "down")


def set_route(host, address, up):
    """Cut ``host`` off from ``address`` alone (``up=False``: a silent blackhole), or restore it."""
    ip("-n", host.namespace, "route", "del" if up else "add", "blackhole", f"{address}/32")
