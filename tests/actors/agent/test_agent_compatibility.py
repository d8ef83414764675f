"""``--reconfiguration_policy``: which agent info changes a restarted agent may keep its
id through (``actors.agent.compatibility``; Mesos' ``SlaveCompatibilityTest``). Pure."""

from __future__ import annotations

import dataclasses

import pytest

from actors.agent import compatibility
from actors.agent.compatibility import additive, check, equal
from actors.messages.info import AgentInfo, DomainInfo, parse_attributes
from actors.resources import Resources

BASE = AgentInfo(hostname="host1", port=5051,
                 resources=Resources.parse("cpus:4;mem:4096;ports:[31000-32000];gpus:1"),
                 attributes=parse_attributes("rack:r1;level:3;zones:[1-5];os:{linux}"),
                 id="M-S1", http_port=5151)


def info(resources: str | None = None, attributes: str | None = None,
         **changes: object) -> AgentInfo:
    if resources is not None:
        changes["resources"] = Resources.parse(resources)
    if attributes is not None:
        changes["attributes"] = parse_attributes(attributes)
    return dataclasses.replace(BASE, **changes)  # type: ignore[arg-type]


# --- equal ------------------------------------------------------------------------------


def test_equal_accepts_an_identical_info_whatever_its_id_and_http_port() -> None:
    assert equal(BASE, BASE) is None
    assert equal(BASE, info(id="", http_port=40123)) is None


@pytest.mark.parametrize(("changed", "named"), [
    (info(hostname="host2"), "hostname changed from host1 to host2"),
    (info(port=6000), "port changed from 5051 to 6000"),
    (info("cpus:8;mem:4096;ports:[31000-32000];gpus:1"), "resources changed from 'cpus:4"),
    (info(attributes="rack:r1;level:3;zones:[1-5];os:{linux};dc:east"), "attributes changed"),
    (info(domain=DomainInfo(region="eu", zone="a")), "domain changed from none to region eu"),
])
def test_equal_refuses_any_change_and_names_it(changed: AgentInfo, named: str) -> None:
    problem = equal(BASE, changed)
    assert problem is not None
    assert problem.startswith("Incompatible agent info detected")
    assert named in problem
    assert "Old agent info:" in problem and "New agent info:" in problem


def test_equal_names_every_field_that_changed() -> None:
    problem = equal(BASE, info("cpus:1", hostname="other"))
    assert problem is not None
    first = problem.splitlines()[0]
    assert "hostname changed" in first and "resources changed" in first
    assert "port changed" not in first


# --- additive: what may change ---------------------------------------------------------


def test_additive_accepts_more_cpus() -> None:
    assert additive(BASE, info("cpus:8;mem:4096;ports:[31000-32000];gpus:1")) is None


def test_additive_accepts_new_resources_and_wider_ranges_and_sets() -> None:
    grown = info("cpus:4;mem:4096;ports:[30000-32000,40000-40010];gpus:1;disk:100;"
                 "cpus(eng):2;zone:{a,b}")
    assert additive(BASE, grown) is None
    assert additive(info("cpus:1;zone:{a}"), info("cpus:1;zone:{a,b}")) is None


def test_additive_accepts_a_new_attribute_and_wider_attribute_ranges_and_sets() -> None:
    assert additive(BASE, info(attributes="rack:r1;level:3;zones:[1-5];os:{linux};dc:east")) \
        is None
    assert additive(BASE, info(attributes="rack:r1;level:3;zones:[0-3,4-9];os:{linux,bsd}")) \
        is None


def test_additive_accepts_a_domain_where_there_was_none() -> None:
    assert additive(BASE, info(domain=DomainInfo(region="eu", zone="a"))) is None


# --- additive: what may not ------------------------------------------------------------


@pytest.mark.parametrize(("changed", "named"), [
    (info("cpus:4;mem:2048;ports:[31000-32000];gpus:1"),
     "Value of scalar resource 'mem' decreased from 4096 to 2048"),
    (info("cpus:4;mem:4096;gpus:1"), "Resource not found: ports:[31000-32000]"),
    (info("cpus:4;mem:4096;ports:[31000-31500];gpus:1"),
     "Previous value of ranges resource 'ports' ([31000-32000]) not included in current "
     "[31000-31500]"),
    (info("cpus(eng):4;mem:4096;ports:[31000-32000];gpus:1"), "Resource not found: cpus:4"),
    (info("cpus:4;mem:4096;ports:[31000-32000];gpus:{a}"),
     "Type of resource 'gpus' changed from SCALAR to SET"),
])
def test_additive_refuses_fewer_or_other_resources(changed: AgentInfo, named: str) -> None:
    problem = additive(BASE, changed)
    assert problem is not None
    assert problem.startswith("Configuration change not permitted under 'additive' policy")
    assert named in problem


def test_additive_keeps_a_reservation_apart_from_the_unreserved_pool() -> None:
    old = info("cpus(eng):2;cpus:2")
    assert additive(old, info("cpus(eng):3;cpus:2")) is None
    problem = additive(old, info("cpus(eng):1;cpus:6"))
    assert problem is not None and "'cpus(eng)' decreased from 2 to 1" in problem


@pytest.mark.parametrize(("attributes", "named"), [
    ("rack:r2;level:3;zones:[1-5];os:{linux}",
     "Value of text attribute 'rack' changed from r1 to r2"),
    ("rack:r1;level:4;zones:[1-5];os:{linux}",
     "Value of scalar attribute 'level' changed from 3 to 4"),
    ("rack:r1;level:3;zones:[1-4];os:{linux}",
     "Previous value of ranges attribute 'zones' ([1-5]) not included in current [1-4]"),
    ("rack:r1;level:3;zones:[1-5];os:{bsd}", "set attribute 'os'"),
    ("rack:7;level:3;zones:[1-5];os:{linux}",
     "Type of attribute 'rack' changed from TEXT to SCALAR"),
    ("level:3;zones:[1-5];os:{linux}", "Couldn't find attribute rack:r1"),
])
def test_additive_refuses_a_changed_or_removed_attribute(attributes: str, named: str) -> None:
    problem = additive(BASE, info(attributes=attributes))
    assert problem is not None and named in problem


def test_additive_refuses_a_changed_hostname_port_or_domain() -> None:
    assert additive(BASE, info(hostname="host2")) == (
        "Configuration change not permitted under 'additive' policy: Hostname changed "
        "from host1 to host2")
    problem = additive(BASE, info(port=5052))
    assert problem is not None and "Port changed from 5051 to 5052" in problem
    placed = info(domain=DomainInfo(region="eu", zone="a"))
    problem = additive(placed, info(domain=DomainInfo(region="eu", zone="b")))
    assert problem is not None and "Domain changed" in problem
    problem = additive(placed, BASE)
    assert problem is not None and "Domain changed" in problem


# --- the policy by name ----------------------------------------------------------------


def test_check_applies_the_named_policy_and_refuses_an_unknown_one() -> None:
    grown = info("cpus:8;mem:4096;ports:[31000-32000];gpus:1")
    assert check("additive", BASE, grown) is None
    assert check("equal", BASE, grown) is not None
    assert set(compatibility.POLICIES) == {"equal", "additive"}
    with pytest.raises(ValueError, match="equal or additive"):
        check("any", BASE, grown)
