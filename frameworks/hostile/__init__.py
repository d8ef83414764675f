"""Hostile peers for campaigns against live nodes: what a broken or malicious peer sends.

- ``values``: message bodies built from the protocol's schemas, with boundary values, or
  broken so the codec must refuse them;
- ``wire``: the ZeroMQ attacks (``ATTACKS``, by name), dead sender PIDs and a hostile
  scheduler that answers (raw pyzmq sockets: this is a client tool, not an actor);
- ``http_garbage``: raw HTTP garbage (``HTTP_ATTACKS``) and held half-requests;
- ``workload``: the well-behaved framework that must see no failure meanwhile.

``scripts/hostile`` (``scripts/benchmarks/hostile.py``) runs the campaign.
"""

__all__ = ["http_garbage", "values", "wire", "workload"]
