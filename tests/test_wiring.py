"""The wiring checks are written once: the scenario validator and the master say the same sentence about
the same mistake, each with its own way of pointing at it (file:line and key, or the connection)."""

from __future__ import annotations

import re
import textwrap

import pytest
from cosim_units import ClockWithInput, Gain, Integrator

from cosim import scenario
from cosim.connection import Connection
from cosim.errors import ScenarioError
from cosim.master import Master
from cosim.sources import Constant

SCENARIO = """\
experiment: {duration: 10}
units:
  w: {type: constant, settings: {value: 1.0, unit: W}}
  w2: {type: constant, settings: {value: 2.0, unit: W}}
  g: {type: "cosim_units:Gain", settings: {unit: K}}
  i: {type: "cosim_units:Integrator"}
  clock: {type: "cosim_units:ClockWithInput"}
connections:
  - {from: w.value, to: i.uu}
  - {from: i.x, to: w.value}
  - {from: w.value, to: g.u}
  - {from: w.value, to: i.u}
  - {from: w2.value, to: i.u}
  - {from: w.value, to: clock.u}
  - {from: nope.y, to: g.u}
"""


def _units():
    return {
        "w": Constant(value=1.0, unit="W"),
        "w2": Constant(value=2.0, unit="W"),
        "g": Gain(unit="K"),
        "i": Integrator(),
        "clock": ClockWithInput(),
    }


def _connections():
    return [
        Connection(f, t)
        for f, t in re.findall(r"\{from: (\S+), to: (\S+)\}", SCENARIO.split("connections:")[1])
    ]


def _validator_problems(tmp_path, text) -> list[str]:
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        scenario.check(path)
    return info.value.problems


def test_validator_and_master_say_the_same_about_each_connection(tmp_path):
    located = _validator_problems(tmp_path, SCENARIO)
    with pytest.raises(ScenarioError) as info:
        Master(_units(), _connections())
    from_master = info.value.problems

    # Strip each one's pointer: "s.yaml:9 connections[0].to: " and "connection w.value -> i.uu: ".
    said_by_validator = [re.sub(r"^s\.yaml:\d+ connections\[\d+\](\.from|\.to)?: ", "", p) for p in located]
    said_by_master = [re.sub(r"^connection \S+ -> \S+: ", "", p) for p in from_master]
    assert said_by_validator == said_by_master
    assert said_by_master == [
        "'i.uu' is not a port of unit 'i'; did you mean 'i.u'?",
        "'w.value' is an output, expected an input as the connection's target",
        "'w.value' [W] cannot feed 'g.u' [K]: cannot convert 'W' (kg.m2.s-3) to 'K' (K): "
        "different quantities",
        "'i.u' is already fed by 'w.value' (connections[3]); an input takes one connection",
        "unit 'clock' is a time source and takes no connected inputs",
        "no unit named 'nope'; units: w, w2, g, i, clock",
    ]
    # Each points at the end at fault, or at the connection as a whole.
    assert [p.split(": ", 1)[0] for p in located] == [
        "s.yaml:9 connections[0].to",
        "s.yaml:10 connections[1].to",
        "s.yaml:11 connections[2]",
        "s.yaml:13 connections[4].to",
        "s.yaml:14 connections[5].to",
        "s.yaml:15 connections[6].from",
    ]


def test_validator_and_master_name_an_algebraic_loop_alike(tmp_path):
    text = """\
    experiment: {duration: 10}
    units:
      a: {type: "cosim_units:Gain", settings: {k: 0.5}}
      b: {type: "cosim_units:Gain", settings: {c: 1.0}}
    connections:
      - {from: a.y, to: b.u}
      - {from: b.y, to: a.u}
    """
    (located,) = _validator_problems(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        Master({"a": Gain(k=0.5), "b": Gain(c=1.0)}, [Connection("a.y", "b.u"), Connection("b.y", "a.u")])
    (from_master,) = info.value.problems
    assert located == "s.yaml:6 connections[0]: " + from_master
    assert from_master.startswith("algebraic loop a -> b -> a: ")


def test_validator_and_master_keep_time_sources_at_every_step(tmp_path):
    text = SCENARIO.split("connections:")[0].replace(
        '"cosim_units:ClockWithInput"}', '"cosim_units:ClockWithInput", every: 2}'
    )
    assert _validator_problems(tmp_path, text) == [
        "s.yaml:7 units.clock.every: a time source steps at every macro step"
    ]
    with pytest.raises(ScenarioError) as info:
        Master(_units(), [], every={"clock": 2})
    assert info.value.problems == ["every: clock: a time source steps at every macro step"]


def test_master_refuses_an_object_that_is_not_a_unit():
    class Duck:
        def ports(self):
            return ()

    with pytest.raises(ScenarioError) as info:
        Master({"d": Duck(), "i": Integrator()}, [])
    assert info.value.problems == ["unit 'd' is a Duck, not a cosim.unit.Unit: subclass Unit (or PythonUnit)"]


def test_validator_refuses_a_type_that_makes_no_unit(tmp_path):
    text = 'experiment: {duration: 10}\nunits:\n  d: {type: "cosim_units:NotAUnit"}\n'
    assert _validator_problems(tmp_path, text) == [
        "s.yaml:3 units.d.type: unit type 'cosim_units:NotAUnit' makes an object that is a NotAUnit, "
        "not a cosim.unit.Unit: subclass Unit (or PythonUnit)"
    ]
