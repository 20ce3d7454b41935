"""Subnet address arithmetic: default gateways and pools, pool checks, free addresses, EUI-64."""

from __future__ import annotations

import itertools

import pytest

from nimbus.network import errors
from nimbus.network.service import cidrs


def test_default_pools_skip_network_broadcast_and_gateway() -> None:
    net = cidrs.network("10.0.0.0/25")

    pools = cidrs.default_pools(net, cidrs.default_gateway(net))

    assert cidrs.default_gateway(net) == "10.0.0.1"
    assert pools == [{"start": "10.0.0.2", "end": "10.0.0.126"}]
    assert cidrs.pool_size(pools) == 125


def test_default_pools_of_ipv6_keep_the_last_address() -> None:
    net = cidrs.network("2001:db8::/126")

    assert cidrs.default_pools(net, "2001:db8::1") == [{"start": "2001:db8::2",
                                                        "end": "2001:db8::3"}]


def test_default_pools_without_gateway_and_tiny_subnets() -> None:
    assert cidrs.default_pools(cidrs.network("10.0.0.0/30"), None) == [
        {"start": "10.0.0.1", "end": "10.0.0.2"}]
    assert cidrs.default_pools(cidrs.network("10.0.0.4/32"), None) == [
        {"start": "10.0.0.4", "end": "10.0.0.4"}]


@pytest.mark.parametrize(("pools", "error"), [
    ([{"start": "10.0.0.9", "end": "10.0.0.2"}], errors.InvalidAllocationPool),
    ([{"start": "10.0.0.0", "end": "10.0.0.9"}], errors.OutOfBoundsAllocationPool),
    ([{"start": "10.0.0.2", "end": "10.0.0.255"}], errors.OutOfBoundsAllocationPool),
    ([{"start": "10.0.0.2", "end": "10.0.0.9"}, {"start": "10.0.0.9", "end": "10.0.0.20"}],
     errors.OverlappingAllocationPools),
    ([{"start": "2001:db8::2", "end": "2001:db8::9"}], errors.InvalidAllocationPool),
])
def test_check_pools_refuses_bad_pools(pools: list[dict[str, str]],
                                       error: type[Exception]) -> None:
    with pytest.raises(error):
        cidrs.check_pools(cidrs.network("10.0.0.0/24"), pools, "10.0.0.0/24")


def test_check_pools_sorts_and_keeps_good_pools() -> None:
    pools = [{"start": "10.0.0.50", "end": "10.0.0.60"}, {"start": "10.0.0.2", "end": "10.0.0.9"}]

    assert cidrs.check_pools(cidrs.network("10.0.0.0/24"), pools, "10.0.0.0/24") == [
        pools[1], pools[0]]


def test_gateway_checks() -> None:
    net = cidrs.network("10.0.0.0/24")
    cidrs.check_gateway(net, "10.0.0.254")
    cidrs.check_gateway(cidrs.network("2001:db8::/64"), "fe80::1")
    for outside in ("10.0.1.1", "10.0.0.0", "10.0.0.255", "2001:db8::1"):
        with pytest.raises(errors.InvalidInput):
            cidrs.check_gateway(net, outside)
    with pytest.raises(errors.GatewayConflictWithAllocationPools):
        cidrs.check_gateway_outside_pools("10.0.0.5", [{"start": "10.0.0.2",
                                                        "end": "10.0.0.9"}])


def test_free_addresses_skip_used_lazily_even_on_a_slash_64() -> None:
    pools = [{"start": "2001:db8::2", "end": "2001:db8::ffff:ffff:ffff:ffff"}]

    first = list(itertools.islice(cidrs.free_addresses(pools, {"2001:db8::3"}), 3))

    assert first == ["2001:db8::2", "2001:db8::4", "2001:db8::5"]


def test_eui64_from_mac() -> None:
    assert cidrs.eui64(cidrs.network("2001:db8::/64"), "fa:16:3e:11:22:33") == \
        "2001:db8::f816:3eff:fe11:2233"
