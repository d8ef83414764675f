"""Who this master is: the ``MasterInfo`` it publishes (to frameworks, and in ZooKeeper).

``MasterActor`` builds it once at start; ``leadership`` writes it to the ``json.info_``
znode. ``pid`` is the ZeroMQ PID; ``port`` and ``address`` are the HTTP endpoint
(DESIGN.md, Ports).
"""

from __future__ import annotations

import ipaddress

from actors.master.config import MasterConfig
from actors.messages import Address, MasterInfo, ip_to_uint32
from transport import PID, Node

__all__ = ["VERSION", "master_info"]

VERSION = "0.1.0"


def master_info(master_id: str, pid: PID, node: Node, config: MasterConfig) -> MasterInfo:
    """This master's MasterInfo: ``pid`` is its ZeroMQ PID, ``port``/``address`` its HTTP."""
    http_port = node.http_port if node.http_port is not None else config.effective_http_port
    try:
        ip = ip_to_uint32(node.host)
    except ipaddress.AddressValueError:
        ip = 0
    hostname = config.hostname or node.host
    return MasterInfo(id=master_id, ip=ip, port=http_port, pid=pid, hostname=hostname,
                      version=VERSION, address=Address(port=http_port, hostname=hostname,
                                                       ip=node.host))
