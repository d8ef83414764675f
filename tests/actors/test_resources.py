"""Resources: parsing, printing, JSON and plain-data forms, algebra and role filters."""

from __future__ import annotations

import json

import msgpack
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from actors.resources import Reservation, Resources

STACKS = [
    [],
    [["STATIC", "eng", None]],
    [["STATIC", "eng/web", None]],
    [["DYNAMIC", "eng", "alice"]],
    [["STATIC", "eng", None], ["DYNAMIC", "eng/web", "bob"]],
    [["STATIC", "ops", None]],
]

scalar_entry = st.tuples(
    st.sampled_from(["cpus", "mem", "disk", "gpus"]),
    st.sampled_from(STACKS),
    st.just("SCALAR"),
    st.integers(min_value=1, max_value=10**9),
)
range_pair = st.tuples(st.integers(0, 70000), st.integers(0, 500)).map(
    lambda t: [t[0], t[0] + t[1]]
)
ranges_entry = st.tuples(
    st.just("ports"),
    st.sampled_from(STACKS),
    st.just("RANGES"),
    st.lists(range_pair, min_size=1, max_size=4),
)
set_entry = st.tuples(
    st.just("zones"),
    st.sampled_from(STACKS),
    st.just("SET"),
    st.lists(st.sampled_from(["a", "b", "c", "rack-1", "x_y"]), min_size=1, max_size=4),
)
resources = st.lists(st.one_of(scalar_entry, ranges_entry, set_entry), max_size=6).map(
    lambda entries: Resources.from_data([list(e) for e in entries])
)


def disjoint(a: Resources, b: Resources) -> bool:
    """Ranges and sets are unions, not multisets: (a + b) - b == a needs no overlap."""
    overlap = any(lo <= y and x <= hi for lo, hi in a.ranges("ports") for x, y in b.ranges("ports"))
    return not overlap and not (a.items_of("zones") & b.items_of("zones"))


@given(resources, resources)
def test_adding_then_subtracting_gives_back_the_original(a: Resources, b: Resources) -> None:
    assume(disjoint(a, b))
    assert (a + b) - b == a


@given(resources, resources)
def test_a_sum_contains_both_parts(a: Resources, b: Resources) -> None:
    total = a + b
    assert total.contains(a) and total.contains(b)
    assert a in total and b <= total


@given(resources, resources, resources)
def test_addition_is_commutative_and_associative(a: Resources, b: Resources, c: Resources) -> None:
    assert a + b == b + a
    assert hash(a + b) == hash(b + a)
    assert (a + b) + c == a + (b + c)


@given(resources)
def test_flag_text_round_trips(a: Resources) -> None:
    assert Resources.parse(str(a)) == a


@given(resources)
def test_mesos_json_round_trips(a: Resources) -> None:
    assert Resources.from_json(json.dumps(a.to_json())) == a


@given(resources)
def test_plain_data_survives_msgpack(a: Resources) -> None:
    wire = msgpack.packb(a.to_data())
    assert Resources.from_data(msgpack.unpackb(wire)) == a


@given(resources, resources)
def test_subtracting_what_is_not_contained_raises(a: Resources, b: Resources) -> None:
    if a.contains(b):
        assert (a - b) + b == a
    else:
        with pytest.raises(ValueError, match="cannot subtract"):
            a - b


def test_agent_flag_syntax_parses_scalars_ranges_and_sets() -> None:
    res = Resources.parse("cpus:4;mem:4096;disk:10000;ports:[31000-32000];zones:{a,b}")
    assert res.scalars() == {"cpus": 4.0, "mem": 4096.0, "disk": 10000.0}
    assert res.get("cpus") == 4.0 and res.get("gpus") == 0.0
    assert res.ranges("ports") == ((31000, 32000),)
    assert res.items_of("zones") == frozenset({"a", "b"})
    assert str(res) == "cpus:4;disk:10000;mem:4096;ports:[31000-32000];zones:{a,b}"


def test_ranges_coalesce_and_subtract_into_holes() -> None:
    ports = Resources.parse("ports:[1-3,5-9,4-4]")
    assert str(ports) == "ports:[1-9]"
    assert str(ports - Resources.parse("ports:[4-5]")) == "ports:[1-3,6-9]"
    with pytest.raises(ValueError):
        ports - Resources.parse("ports:[8-10]")


def test_scalars_keep_three_decimal_digits_exactly() -> None:
    total = Resources.parse("cpus:0.1") + Resources.parse("cpus:0.2")
    assert total == Resources.parse("cpus:0.3")
    assert Resources.parse("cpus:0.0004") == Resources()  # rounds to zero: empty
    assert str(Resources.parse("cpus:1.23456")) == "cpus:1.235"
    assert (total - Resources.parse("cpus:0.3")).empty


def test_roles_and_reservations() -> None:
    res = Resources.parse(
        "cpus:1;cpus(eng):2;cpus(eng/web):3;"
        "mem(reservations: [(STATIC,eng),(DYNAMIC,eng/web,alice)]):64;cpus(ops):4"
    )
    assert res.unreserved() == Resources.parse("cpus:1")
    assert res.reserved("ops") == Resources.parse("cpus(ops):4")
    assert res.allocatable_to("eng/web").get("cpus") == 6  # *, eng, eng/web
    assert res.allocatable_to("eng").get("cpus") == 3  # not the child's
    assert res.allocatable_to("eng/web").get("mem") == 64
    assert res.allocatable_to("ops").get("cpus") == 5
    assert res.reserved_to_role_subtree("eng").get("cpus") == 5
    assert set(res.reservations()) == {"eng", "eng/web", "ops"}
    entry = next(e for e in res if e.name == "mem")
    assert entry.reservations[-1] == Reservation("DYNAMIC", "eng/web", "alice")
    assert entry.role == "eng/web"


def test_default_role_statically_reserves_everything() -> None:
    assert Resources.parse("cpus:2", default_role="eng") == Resources.parse("cpus(eng):2")


def test_mesos_json_with_legacy_role_field() -> None:
    res = Resources.from_json(
        [
            {"name": "cpus", "type": "SCALAR", "scalar": {"value": 2}, "role": "eng"},
            {
                "name": "ports",
                "type": "RANGES",
                "ranges": {"range": [{"begin": 1, "end": 5}]},
                "role": "eng",
                "reservation": {"principal": "alice"},
            },
            {"name": "zones", "type": "SET", "set": {"item": ["a"]}},
        ]
    )
    assert str(res) == "cpus(eng):2;ports(reservations: [(DYNAMIC,eng,alice)]):[1-5];zones:{a}"
    assert Resources.parse(json.dumps(res.to_json())) == res  # the flag also takes JSON


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("cpus:x", "resource #1 'cpus:x'"),
        ("cpus:1;mem", "resource #2 'mem' at offset 7"),
        ("cpus:-1", "non-negative"),
        ("ports:[5-1]", "bad range 5-1"),
        ("ports:[1-2,x]", "bad range 'x'"),
        ("cpus(eng:1", "mismatched parentheses"),
        ("cpus(a b):1", "invalid role"),
        ("cpus(reservations: [(STATIC,eng),(STATIC,ops)]):1", "not below 'eng'"),
        ("cpus:1;cpus:[1-2]", "both SCALAR and RANGES"),
        ("[{", "JSON"),
    ],
)
def test_bad_syntax_says_what_and_where(text: str, where: str) -> None:
    with pytest.raises(ValueError, match=where.replace("[", r"\[").replace("(", r"\(")):
        Resources.parse(text)


def test_bad_plain_data_is_rejected() -> None:
    for bad in [{"x": 1}, [["cpus", [], "SCALAR", -1]], [["cpus", [], "BOGUS", 1]], [[1, 2]]]:
        with pytest.raises(ValueError):
            Resources.from_data(bad)


def test_resources_are_immutable_values() -> None:
    a = Resources.parse("cpus:1")
    b = a + Resources.parse("cpus:1")
    assert a == Resources.parse("cpus:1") and b.get("cpus") == 2
    assert {a, Resources.parse("cpus:1")} == {a}
    with pytest.raises(AttributeError):
        a.foo = 1  # type: ignore[attr-defined]


def test_find_cuts_a_tasks_scalars_from_an_offer_whatever_its_roles() -> None:
    offer = Resources.parse("cpus(batch):2;cpus:0.5;mem(batch):1024;ports(batch):[31000-31001]")
    found = offer.find(Resources.parse("cpus:1;mem:64"))
    assert found == Resources.parse("cpus:0.5;cpus(batch):0.5;mem(batch):64")
    assert offer.contains(found)
    assert offer.find({"cpus": 2.5, "mem": 1024}) is not None
    assert offer.find({"cpus": 2.6}) is None
    assert offer.find({"gpus": 1}) is None
    assert offer.find({}) == Resources()
