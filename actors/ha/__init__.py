"""High availability: masters contend for leadership in ZooKeeper, everyone detects it.

- ``zk_url``: the ``--zk zk://host:port[,host:port]/path`` flag value.
- ``master_info``: ``MasterInfo`` <-> the JSON Mesos keeps in ``json.info_`` znodes.
- ``contender``: ``MasterContender``, a master's candidacy (elected / lost callbacks).
- ``detector``: ``MasterDetector``, follows the leader (``on_change(MasterInfo | None)``).

Plain classes with callbacks, no actors: callers (the master, agents, drivers) tell their
actor from the callbacks. This package is the only one that imports kazoo.
"""

from actors.ha.contender import LABEL, MasterContender
from actors.ha.detector import MasterDetector
from actors.ha.master_info import master_info_from_json, master_info_to_json
from actors.ha.zk_url import ZkUrl, parse_zk_url

__all__ = [
    "LABEL",
    "MasterContender",
    "MasterDetector",
    "ZkUrl",
    "master_info_from_json",
    "master_info_to_json",
    "parse_zk_url",
]
