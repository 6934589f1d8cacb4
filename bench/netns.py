"""Network namespaces that stand for hosts in the benches (needs root): n
namespaces, each with a veth to one bridge (the switch) and an address on
10.X.0.0/24; the bridge holds 10.X.0.254, so processes in the root namespace
(mpirun, PMIx) reach them. With `rate` ("1gbit"), each host's link is shaped
both ways with tc tbf. Removed on exit, and before set-up in case an earlier
run left them.

    with Hosts("rmar", 4, 77, rate="1gbit") as hosts:
        hosts.ns, hosts.ips, hosts.subnet
"""
import subprocess


def sh(cmd):
    subprocess.run(cmd, shell=True, check=True)


class Hosts:
    def __init__(self, prefix, n, octet, rate=None):
        assert len(prefix) <= 10, "interface names must stay under 16 characters"
        self.prefix, self.n, self.rate = prefix, n, rate
        self.ns = [f"{prefix}{i}" for i in range(n)]
        self.ips = [f"10.{octet}.0.{i + 1}" for i in range(n)]
        self.subnet = f"10.{octet}.0.0/24"
        self.bridge_ip = f"10.{octet}.0.254"
        self.bridge = f"{prefix}br"

    def _shape(self, dev, ns=None):
        where = f"-n {ns} " if ns else ""
        sh(f"tc {where}qdisc add dev {dev} root tbf rate {self.rate} burst 256kb latency 50ms")

    def __enter__(self):
        self.clean()
        sh(f"ip link add {self.bridge} type bridge && "
           f"ip addr add {self.bridge_ip}/24 dev {self.bridge} && ip link set {self.bridge} up")
        for i, ns in enumerate(self.ns):
            host_end, ns_end = f"{self.prefix}h{i}", f"{self.prefix}v{i}"
            sh(f"ip netns add {ns} && ip link add {host_end} type veth peer name {ns_end}")
            sh(f"ip link set {host_end} master {self.bridge} && ip link set {host_end} up")
            sh(f"ip link set {ns_end} netns {ns} && ip -n {ns} addr add {self.ips[i]}/24 dev {ns_end}")
            sh(f"ip -n {ns} link set {ns_end} up && ip -n {ns} link set lo up")
            if self.rate:
                self._shape(ns_end, ns)  # what the host sends
                self._shape(host_end)  # what it receives
        return self

    def __exit__(self, *exc):
        self.clean()

    def clean(self):
        # Deleting a namespace deletes its veth end, and with it the peer.
        for ns in self.ns:
            subprocess.run(f"ip netns del {ns} 2>/dev/null", shell=True)
        subprocess.run(f"ip link del {self.bridge} 2>/dev/null", shell=True)
