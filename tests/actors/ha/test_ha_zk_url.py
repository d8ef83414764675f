"""``--zk`` URLs: servers and znode path, and what is refused."""

from __future__ import annotations

import pytest

from actors.ha import ZkUrl, parse_zk_url


def test_a_single_server_url_gives_hosts_and_path() -> None:
    url = parse_zk_url("zk://127.0.0.1:2181/mesos")
    assert url == ZkUrl(servers=(("127.0.0.1", 2181),), path="/mesos")
    assert url.hosts == "127.0.0.1:2181"


def test_several_servers_keep_their_order_and_nested_paths_their_slashes() -> None:
    url = parse_zk_url("zk://zk1:2181,zk2.example.com:2182,10.0.0.3:2183/meseta/prod/")
    assert url.hosts == "zk1:2181,zk2.example.com:2182,10.0.0.3:2183"
    assert url.path == "/meseta/prod"
    assert str(url) == "zk://zk1:2181,zk2.example.com:2182,10.0.0.3:2183/meseta/prod"


@pytest.mark.parametrize(("text", "complaint"), [
    ("127.0.0.1:2181/mesos", "zk://"),
    ("http://127.0.0.1:2181/mesos", "zk://"),
    ("zk://127.0.0.1:2181", "path"),
    ("zk://127.0.0.1:2181/", "path"),
    ("zk:///mesos", "no server"),
    ("zk://127.0.0.1/mesos", "host:port"),
    ("zk://:2181/mesos", "host:port"),
    ("zk://h:0/mesos", "1-65535"),
    ("zk://h:99999/mesos", "1-65535"),
    ("zk://h:port/mesos", "1-65535"),
    ("zk://h:2181,/mesos", "host:port"),
    ("zk://user:pass@h:2181/mesos", "credentials"),
    ("zk://h:2181/a//b", "empty znode"),
])
def test_bad_urls_are_refused_saying_why(text: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        parse_zk_url(text)
