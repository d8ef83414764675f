"""Pure rules of the sandboxes: URI naming, archive member safety, the GC schedule and the
disk headroom, and how the file API resolves paths (on temporary directories)."""

from __future__ import annotations

import io
import json
import os
import tarfile
import zipfile
from pathlib import Path

import pytest

from actors.agent.archives import ArchiveError, extract, is_archive, unsafe_member
from actors.agent.config import AgentConfig, flags, from_flags
from actors.agent.fetcher import FetchError, fetch_all, uri_filename
from actors.agent.files import read, resolve
from actors.agent.gc import GcSchedule, max_allowed_age, unknown_dirs
from actors.messages.tasks import URI
from transport.flags import FlagError
from transport.http import HttpResponse

WEEK = 7 * 86400.0


@pytest.mark.parametrize(("uri", "name"), [
    (URI(value="/opt/pkgs/app.tar.gz"), "app.tar.gz"),
    (URI(value="file:///opt/pkgs/run%20me.sh"), "run me.sh"),
    (URI(value="http://127.0.0.1:8000/dist/app.zip?token=x"), "app.zip"),
    (URI(value="https://example.org/a/b/"), "b"),
    (URI(value="http://127.0.0.1/x", output_file="bin/tool"), "bin/tool"),
])
def test_a_uri_is_fetched_to_its_basename_or_output_file(uri: URI, name: str) -> None:
    assert uri_filename(uri) == name


@pytest.mark.parametrize("uri", [
    URI(value="relative/path.tar"), URI(value="hdfs://nn/x.tar"),
    URI(value="http://127.0.0.1:8000/"), URI(value="/x", output_file="../escape"),
    URI(value="/x", output_file="/etc/passwd"), URI(value="file://otherhost/x"),
])
def test_a_uri_without_a_usable_name_or_scheme_is_refused(uri: URI) -> None:
    with pytest.raises(FetchError):
        uri_filename(uri)


def test_uri_defaults_are_mesos_extract_true_executable_false() -> None:
    uri = URI(value="/x")
    assert (uri.extract, uri.executable, uri.cache, uri.output_file) == (True, False, False, "")


def test_archive_suffixes() -> None:
    assert all(is_archive(n) for n in ("a.tar", "a.tar.gz", "a.tgz", "a.tar.bz2",
                                       "a.tar.xz", "a.zip", "a.gz", "A.TGZ"))
    assert not any(is_archive(n) for n in ("a.txt", "tar", "a.gzip", "a.sh"))


def test_unsafe_members_are_named(tmp_path: Path) -> None:
    dest = os.path.realpath(tmp_path)
    (tmp_path / "out").symlink_to("/etc")
    assert unsafe_member("dir/file", dest) is None
    assert unsafe_member("dir/link", dest, link="../dir/file") is None
    assert "absolute" in (unsafe_member("/etc/passwd", dest) or "")
    assert "'..'" in (unsafe_member("a/../../x", dest) or "")
    assert "outside" in (unsafe_member("out/passwd", dest) or "")  # through a link
    assert "absolute" in (unsafe_member("l", dest, link="/etc/passwd") or "")
    assert "outside" in (unsafe_member("d/l", dest, link="../../x") or "")
    assert "outside" in (unsafe_member("h", dest, link="../x", hard=True) or "")


def _tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes]]) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data else None)


def _symlink(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.SYMTYPE, target
    return info


def test_a_tar_with_a_link_out_then_a_write_through_it_is_refused(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    archive = tmp_path / "evil.tar.gz"
    _tar(archive, [(tarfile.TarInfo("ok.txt"), b"fine"),
                   (_symlink("escape", str(victim)), b""),
                   (tarfile.TarInfo("escape/pwned"), b"bad")])
    with pytest.raises(ArchiveError, match="escape"):
        extract(str(archive), str(sandbox))
    assert (sandbox / "ok.txt").read_bytes() == b"fine"
    assert list(victim.iterdir()) == []
    assert not (sandbox / "escape").exists()


def test_a_zip_member_with_dotdot_is_refused_and_a_good_zip_keeps_modes(
        tmp_path: Path) -> None:
    bad, good = tmp_path / "bad.zip", tmp_path / "good.zip"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("../../outside.txt", "x")
    with pytest.raises(ArchiveError, match=r"'\.\.'"):
        extract(str(bad), str(tmp_path / "s1"))
    with zipfile.ZipFile(good, "w") as z:
        info = zipfile.ZipInfo("bin/run.sh")
        info.external_attr = 0o100755 << 16
        z.writestr(info, "#!/bin/sh\necho hi\n")
    (tmp_path / "s2").mkdir()
    assert extract(str(good), str(tmp_path / "s2")) == ["bin/run.sh"]
    assert os.access(tmp_path / "s2" / "bin" / "run.sh", os.X_OK)


def test_fetch_all_reports_the_first_failure_and_logs_to_stderr(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("A")
    stderr = tmp_path / "stderr"
    (tmp_path / "box").mkdir()
    error = fetch_all([URI(value=str(tmp_path / "a.txt")),
                       URI(value=str(tmp_path / "missing.txt"))], str(tmp_path / "box"),
                      str(stderr))
    assert error is not None and "missing.txt" in error
    assert (tmp_path / "box" / "a.txt").read_text() == "A"
    log = stderr.read_text()
    assert "Fetching URI" in log and "Failed to fetch" in log


# --- garbage collection --------------------------------------------------------------


def test_max_allowed_age_follows_mesos_formula() -> None:
    assert max_allowed_age(WEEK, 0.1, 0.0) == pytest.approx(0.9 * WEEK)
    assert max_allowed_age(WEEK, 0.1, 0.5) == pytest.approx(0.4 * WEEK)
    assert max_allowed_age(WEEK, 0.1, 0.95) == 0.0  # past the headroom: everything goes
    assert max_allowed_age(WEEK, 1.0, 0.0) == 0.0


def test_schedule_removes_paths_when_due_oldest_first() -> None:
    gc = GcSchedule()
    gc.schedule("/w/b", now=1000.0, delay=10.0)
    gc.schedule("/w/a", now=1005.0, delay=10.0)
    assert gc.next_removal() == 1010.0
    assert gc.due(1009.9) == []
    assert gc.due(1010.0) == ["/w/b"]
    assert gc.due(2000.0) == ["/w/a"]
    assert len(gc) == 0 and gc.next_removal() is None


def test_unschedule_and_reschedule() -> None:
    gc = GcSchedule()
    gc.schedule("/w/a", now=0.0, delay=10.0)
    assert gc.unschedule("/w/a") and not gc.unschedule("/w/a")
    gc.schedule("/w/a", now=0.0, delay=10.0)
    gc.schedule("/w/a", now=50.0, delay=10.0)  # rescheduled: the later time counts
    assert gc.due(20.0) == [] and gc.due(60.0) == ["/w/a"]


def test_prune_takes_what_is_older_than_the_allowed_age() -> None:
    """With the disk 50% full and 10% headroom a sandbox may be 0.4 weeks old."""
    gc = GcSchedule()
    day = 86400.0
    for age_days in (0, 1, 2, 3, 4, 5):
        gc.schedule(f"/w/{age_days}d", now=10 * day - age_days * day, delay=WEEK)
    age = max_allowed_age(WEEK, 0.1, 0.5)  # 2.8 days
    assert gc.prune(10 * day, age) == ["/w/5d", "/w/4d", "/w/3d"]
    assert sorted(gc.removals) == ["/w/0d", "/w/1d", "/w/2d"]
    assert gc.prune(10 * day, max_allowed_age(WEEK, 0.1, 0.99)) == ["/w/2d", "/w/1d", "/w/0d"]


# --- the file API's path resolution ---------------------------------------------------


def test_resolve_confines_paths_to_the_sandboxes(tmp_path: Path) -> None:
    box = tmp_path / "runs" / "r1"
    box.mkdir(parents=True)
    (box / "stdout").write_text("0123456789")
    (tmp_path / "secret").write_text("no")
    (box / "leak").symlink_to(tmp_path / "secret")
    (box / "inner").symlink_to("stdout")
    roots = {str(box): str(box), "/frameworks/F/executors/E/runs/latest": str(box)}
    assert resolve(f"{box}/stdout", roots) == os.path.realpath(box / "stdout")
    assert resolve("/frameworks/F/executors/E/runs/latest/inner", roots) == \
        os.path.realpath(box / "stdout")

    def status(path: str) -> int:
        found = resolve(path, roots)
        return found.status if isinstance(found, HttpResponse) else 200

    assert status(f"{box}/../../secret") == 403
    assert status(f"{box}/leak") == 403
    assert status(str(tmp_path / "secret")) == 404
    assert status(f"{box}/nope") == 404
    assert status("") == 400


def test_read_offset_and_length_semantics(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("0123456789")
    roots = {str(tmp_path): str(tmp_path)}
    path = str(tmp_path / "f")

    def body(**query: str) -> object:
        return json.loads(read({"path": path, **query}, roots).body)

    assert body(offset="2", length="3") == {"data": "234", "offset": 2}
    assert body(offset="-1") == {"data": "", "offset": 10}
    assert body() == {"data": "", "offset": 10}
    assert body(offset="4", length="-1") == {"data": "456789", "offset": 4}
    assert body(offset="40") == {"data": "", "offset": 10}
    assert read({"path": path, "offset": "x"}, roots).status == 400
    assert read({"path": path, "offset": "-2"}, roots).status == 400
    assert read({"path": str(tmp_path)}, roots).status == 400


def test_unknown_dirs_are_the_largest_subtrees_without_a_known_run(tmp_path: Path) -> None:
    agents = tmp_path / "agents"
    for run in ("OLD/frameworks/f/executors/e/runs/r0", "A1/frameworks/gone/executors/e/runs/r",
                "A1/frameworks/f/executors/done/runs/r", "A1/frameworks/f/executors/e/runs/old",
                "A1/frameworks/f/executors/e/runs/live"):
        (agents / run).mkdir(parents=True)
    (agents / "A1/frameworks/f/executors/e/runs/latest").symlink_to("live")
    live = str(agents / "A1/frameworks/f/executors/e/runs/live")
    found = unknown_dirs((str(agents), str(tmp_path / "meta" / "agents")), "A1", {live})
    assert sorted(found) == sorted(str(agents / p) for p in (
        "OLD", "A1/frameworks/gone", "A1/frameworks/f/executors/done",
        "A1/frameworks/f/executors/e/runs/old"))


def test_gc_flags_have_mesos_defaults_and_are_checked() -> None:
    def parse(*argv: str) -> AgentConfig:
        return from_flags(flags().parse(["--master=127.0.0.1:5050", *argv], env={},
                                        exit_on_error=False))

    default = parse()
    assert (default.gc_delay, default.disk_watch_interval, default.gc_disk_headroom) == \
        (WEEK, 60.0, 0.1)
    assert default.to_flags()["gc_delay"] == f"{WEEK}secs"
    custom = parse("--gc_delay=2days", "--disk_watch_interval=5secs", "--gc_disk_headroom=0.3")
    assert (custom.gc_delay, custom.disk_watch_interval, custom.gc_disk_headroom) == \
        (2 * 86400.0, 5.0, 0.3)
    for bad in ("--gc_disk_headroom=1.5", "--disk_watch_interval=0secs", "--gc_delay=-1secs"):
        with pytest.raises(FlagError):
            parse(bad)
