"""The local stack's own tooling: scripts/inotify-room.sh, which `make dev` and `make test` run before
`cargo lambda watch` (a function whose inotify watcher cannot be opened never starts, and its
requests wait forever with nothing logged)."""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ROOM = ROOT / "scripts/inotify-room.sh"


def room(need, limit_file, *prefix):
    env = {**os.environ, "INOTIFY_LIMIT_FILE": str(limit_file)}
    return subprocess.run([*prefix, "bash", str(ROOM), str(need)], env=env, capture_output=True, text=True)


def test_enough_room_changes_nothing(tmp_path):
    limit = tmp_path / "max_user_instances"
    limit.write_text("100000\n")
    r = room(1, limit)
    assert r.returncode == 0, r.stderr
    assert limit.read_text() == "100000\n"
    assert r.stdout == ""


@pytest.mark.skipif(os.geteuid() != 0, reason="raising the limit takes root")
def test_root_raises_a_limit_that_leaves_too_little_room(tmp_path):
    limit = tmp_path / "max_user_instances"
    limit.write_text("2\n")
    r = room(4, limit)
    assert r.returncode == 0, r.stderr
    assert int(limit.read_text()) >= 1024
    assert "raised fs.inotify.max_user_instances from 2 to" in r.stdout


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")
def test_anyone_else_is_told_the_sysctl_instead_of_a_hang():
    # A folder the other user can read (pytest's tmp_path sits in one only root can).
    folder = Path(tempfile.mkdtemp())
    folder.chmod(0o755)
    limit = folder / "max_user_instances"
    limit.write_text("2\n")
    limit.chmod(0o644)
    r = room(1, limit, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")
    assert r.returncode == 1
    assert "sudo sysctl fs.inotify.max_user_instances=" in r.stderr
    assert limit.read_text() == "2\n"
    shutil.rmtree(folder)
