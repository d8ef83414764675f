"""``zk://host:port[,host:port]/path``: the ``--zk`` flag of masters, agents and drivers.

``parse_zk_url`` splits it into the ``hosts`` string kazoo takes (``"h1:2181,h2:2181"``)
and the znode ``path`` under which masters contend (``/mesos``). Credentials
(``zk://user:pass@...``) are not supported.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ZkUrl", "parse_zk_url"]

_SCHEME = "zk://"


@dataclass(frozen=True, slots=True)
class ZkUrl:
    """A parsed ``zk://`` URL."""

    servers: tuple[tuple[str, int], ...]
    """Each ZooKeeper server as ``(host, port)``, in the order given."""
    path: str
    """The znode path, absolute, without a trailing slash (``/mesos``)."""

    @property
    def hosts(self) -> str:
        """The servers as kazoo's ``hosts`` string: ``"h1:2181,h2:2181"``."""
        return ",".join(f"{host}:{port}" for host, port in self.servers)

    def __str__(self) -> str:
        return f"{_SCHEME}{self.hosts}{self.path}"


def parse_zk_url(url: str) -> ZkUrl:
    """Parse ``zk://host:port[,host:port]/path``; raise ``ValueError`` saying what is wrong."""
    if not isinstance(url, str):
        raise ValueError(f"a ZooKeeper URL must be a string, not {type(url).__name__}")
    if not url.startswith(_SCHEME):
        raise ValueError(f"bad ZooKeeper URL {url!r}: expected zk://host:port[,host:port]/path")
    rest = url[len(_SCHEME):]
    servers_text, slash, path = rest.partition("/")
    if not slash or not path.strip("/"):
        raise ValueError(f"bad ZooKeeper URL {url!r}: a znode path is required, e.g. /mesos")
    if "@" in servers_text:
        raise ValueError(f"bad ZooKeeper URL {url!r}: credentials are not supported")
    if not servers_text:
        raise ValueError(f"bad ZooKeeper URL {url!r}: no server given")
    servers = tuple(_parse_server(url, text) for text in servers_text.split(","))
    path = "/" + path.rstrip("/")
    if "//" in path:
        raise ValueError(f"bad ZooKeeper URL {url!r}: empty znode name in {path!r}")
    return ZkUrl(servers, path)


def _parse_server(url: str, text: str) -> tuple[str, int]:
    host, colon, port_text = text.rpartition(":")
    if not colon or not host:
        raise ValueError(f"bad ZooKeeper URL {url!r}: server {text!r} must be host:port")
    if not (port_text.isascii() and port_text.isdigit()) or not 0 < int(port_text) < 65536:
        raise ValueError(f"bad ZooKeeper URL {url!r}: port of {text!r} must be 1-65535")
    return host, int(port_text)
