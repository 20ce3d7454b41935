"""The network agent as a background service: `nimbus serve network-agent`, or a task of
`nimbus up` when the machine can run the dataplane (root, ip, dnsmasq, iptables, nft,
conntrack)."""

from __future__ import annotations

from nimbus.cmd.runtime import RestClients
from nimbus.core.config import Settings
from nimbus.core.periodic import Periodic
from nimbus.core.service import ServiceIdentity, ServiceRunner
from nimbus.network.agent.agent import BINARY, NetworkAgent

# Polling, as the agent reads the network service over REST: a port made for a server is
# filtered and in dnsmasq's hosts within this long, well before its guest asks for a lease.
SYNC_INTERVAL = 2.0


def agent_runner(settings: Settings, clients: RestClients) -> tuple[NetworkAgent, ServiceRunner]:
    """The agent and its runner; the first sync (start-up reconciliation) runs at once."""
    agent = NetworkAgent(settings.state_dir, clients.network, clients.tokens.token)
    runner = ServiceRunner(ServiceIdentity(BINARY, settings.host_name, "network-agent"),
                           periodic=[Periodic("dataplane-sync", agent.sync, SYNC_INTERVAL,
                                              run_immediately=True)])
    return agent, runner
