"""`photoseek index --ray` on a real two-node Ray cluster started on this machine (tests/ray_support).

The cluster is real: a head node and a worker node, each a `ray start` with one CPU, and the real
"conse" embedder loaded once per actor. It is compared with a local index of the same folder, and
then a worker node is killed in the middle of a run. Slow (~1-2 min, mostly starting Ray and
loading the model in each actor) but part of CI.
"""

from __future__ import annotations

import json
import os
import signal

import numpy as np
import pytest

from photoseek import Library
from tests.index_support import colors, make_photo

pytest.importorskip("ray")
pytestmark = pytest.mark.slow

PHOTOS = 24


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ray-photos")
    for i, color in enumerate(colors(PHOTOS)):
        make_photo(folder / f"sub{i % 3}" / f"p{i:02d}.jpg", size=(320 + 8 * i, 240), color=color)
    return folder


@pytest.fixture(scope="module")
def cluster(model_cache):
    import ray

    from tests.ray_support import LocalRayCluster

    with LocalRayCluster(workers=1, cpus=1) as running:
        yield running
        ray.shutdown()  # this process's connection, before the nodes go


@pytest.fixture(scope="module")
def local_library(photos, tmp_path_factory):
    path = tmp_path_factory.mktemp("local-lib")
    with Library(path, llm=None) as lib:
        lib.index([photos], annotate=False)
    return path


def _catalog(path) -> dict:
    """Per display path: metadata, vectors per space, tags; what must not depend on where it ran."""
    with Library(path, llm=None) as lib:
        conn = lib.catalog.conn
        photos = {
            r["id"]: r["display_path"]
            for r in conn.execute("SELECT id, display_path FROM photos")
        }
        out = {
            name: {"meta": tuple(conn.execute(
                "SELECT size, content_hash, width, height, brightness FROM photos WHERE id=?", (pid,)).fetchone()),
                   "vectors": {}, "tags": {}}
            for pid, name in photos.items()
        }  # fmt: skip
        for r in conn.execute("SELECT photo_id, space, model_id, vector FROM embeddings"):
            out[photos[r["photo_id"]]]["vectors"][(r["space"], r["model_id"])] = np.frombuffer(r["vector"], np.float32)
        for r in conn.execute("SELECT photo_id, tag, source, confidence FROM tags"):
            out[photos[r["photo_id"]]]["tags"][(r["source"], r["tag"])] = r["confidence"]
        return out


def _assert_same(local: dict, remote: dict) -> None:
    assert sorted(remote) == sorted(local)
    for name, want in local.items():
        got = remote[name]
        assert got["meta"] == want["meta"], name
        assert sorted(got["vectors"]) == sorted(want["vectors"]), name
        for key, vector in want["vectors"].items():
            np.testing.assert_allclose(got["vectors"][key], vector, atol=1e-5, err_msg=f"{name} {key}")
        assert sorted(got["tags"]) == sorted(want["tags"]), name
        for key, confidence in want["tags"].items():
            assert got["tags"][key] == pytest.approx(confidence, abs=1e-5), (name, key)


def _executor(cluster, batch_size=4):
    from photoseek.ingest.ray_executor import RayExecutor

    return RayExecutor("conse", cluster.address, batch_size=batch_size)


def test_ray_index_matches_local_index(cluster, photos, local_library, tmp_path):
    executor = _executor(cluster)
    with Library(tmp_path / "lib", llm=None) as lib:
        report = lib.index([photos], annotate=False, ray=executor)
    assert report.added == PHOTOS and report.failed == 0
    # both nodes computed: one actor per CPU, and the cluster has one CPU per node
    assert executor.nodes_used == 2
    _assert_same(_catalog(local_library), _catalog(tmp_path / "lib"))
    # a second run, as a user types it, finds nothing to do
    from tests.test_cli import run_cli

    proc = run_cli("index", str(photos), "--ray", cluster.address, "--no-annotate", "--json", library=tmp_path / "lib")
    again = json.loads(proc.stdout)
    assert (again["added"], again["unchanged"], again["failed"]) == (0, PHOTOS, 0)


class _KillEveryActorAfterFirstCommit:
    """Progress that kills every actor process (the nodes stay up) once the first batch is committed."""

    def __init__(self, executor) -> None:
        self.executor = executor
        self.committed_before_kill: int | None = None

    def start(self, label, total):
        pass

    def advance(self, n=1):
        if n and self.committed_before_kill is None:
            self.committed_before_kill = n
            for _, pid in self.executor.placement.values():
                os.kill(pid, signal.SIGKILL)

    def finish(self):
        pass


def test_every_worker_lost_fails_clearly_and_a_rerun_completes(cluster, photos, local_library, tmp_path):
    from photoseek.errors import PhotoseekError

    executor = _executor(cluster)
    progress = _KillEveryActorAfterFirstCommit(executor)
    library = tmp_path / "lib"
    with Library(library, llm=None) as lib:
        with pytest.raises(PhotoseekError, match="every Ray worker was lost.*run the same index command again"):
            lib.index([photos], annotate=False, ray=executor, progress=progress)
    committed = _catalog(library)
    assert progress.committed_before_kill <= len(committed) < PHOTOS  # the first batch(es) stayed
    with Library(library, llm=None) as lib:
        again = lib.index([photos], annotate=False, ray=_executor(cluster))
    assert again.unchanged == len(committed) and again.added == PHOTOS - len(committed)
    final = _catalog(library)
    for name, before in committed.items():
        assert final[name]["meta"] == before["meta"]
    _assert_same(_catalog(local_library), final)


class _KillWorkerAfterFirstCommit:
    """Progress that kills the worker node (its ray processes and the actor on it) once the first
    batch is committed, i.e. with batches in flight on it."""

    def __init__(self, cluster, executor) -> None:
        self.cluster, self.executor = cluster, executor
        self.committed_before_kill: int | None = None
        self.done = 0

    def start(self, label, total):
        pass

    def advance(self, n=1):
        self.done += n
        if n and self.committed_before_kill is None:
            self.committed_before_kill = self.done
            head = _head_node_id()
            for node, pid in self.executor.placement.values():
                if node != head:
                    os.kill(pid, signal.SIGKILL)  # actors run in process groups of their own
            self.cluster.stop_node(self.cluster.nodes[1])

    def finish(self):
        pass


def _head_node_id() -> str:
    import ray

    return next(n["NodeID"] for n in ray.nodes() if n["Alive"] and "node:__internal_head__" in n["Resources"])


def test_worker_killed_mid_run_loses_nothing_committed(cluster, photos, local_library, tmp_path):
    assert cluster.nodes[1].poll() is None, "the worker node is up"
    executor = _executor(cluster)
    progress = _KillWorkerAfterFirstCommit(cluster, executor)
    library = tmp_path / "lib"
    with Library(library, llm=None) as lib:
        try:
            report = lib.index([photos], annotate=False, ray=executor, progress=progress)
            finished = True
        except Exception as error:  # failing is allowed, but only clearly
            assert "run the same index command again" in str(error)
            finished = False
    assert progress.committed_before_kill is not None
    assert executor.lost_actors == 1, "the kill hit an actor with work in flight"
    committed = _catalog(library)
    assert len(committed) >= progress.committed_before_kill
    if finished:
        assert report.added == PHOTOS
    with Library(library, llm=None) as lib:  # the re-run (on the head node alone) completes the library
        again = lib.index([photos], annotate=False, ray=_executor(cluster))
    assert again.added + again.unchanged == PHOTOS and again.failed == 0
    final = _catalog(library)
    for name, before in committed.items():  # nothing committed was lost or changed
        assert final[name]["meta"] == before["meta"]
    _assert_same(_catalog(local_library), final)


# -- Ray's token authentication (issue 28) -------------------------------------------------------------------
# Ray 2.60's local ray.init() used to leave ~/.ray/auth_token behind, after which `ray start --head`
# turned token authentication on by itself and its `ray start --address` workers could not join
# ("InvalidAuthToken"). These tests give Ray a home and a temp dir of their own (HOME, RAY_TMPDIR),
# so what they check cannot touch, or be touched by, other Ray users of the machine.


@pytest.fixture
def ray_home(tmp_path, monkeypatch):
    import shutil
    import tempfile

    home = tmp_path / "home"
    home.mkdir()
    ray_tmp = tempfile.mkdtemp(prefix="psrt", dir="/tmp")  # short: Ray's socket paths live under it
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("RAY_TMPDIR", ray_tmp)
    for name in ("RAY_ADDRESS", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"):
        monkeypatch.delenv(name, raising=False)
    yield home
    shutil.rmtree(ray_tmp, ignore_errors=True)


def _index_json(photos, library, *ray_args, **kwargs):
    from tests.test_cli import run_cli

    return run_cli("index", str(photos), "--ray", *ray_args, "--no-annotate", "--json", library=library, **kwargs)


def test_local_ray_run_leaves_no_token_and_ray_start_clusters_still_form(ray_home, photos, local_library, tmp_path):
    from tests.ray_support import LocalRayCluster

    # a local Ray, as the README allows (`index PHOTOS --ray`, no address)
    local = json.loads(_index_json(photos, tmp_path / "local").stdout)
    assert (local["added"], local["failed"]) == (PHOTOS, 0)
    assert not (ray_home / ".ray" / "auth_token").exists()
    # then a cluster of `ray start` processes on the same machine, and an index on it
    with LocalRayCluster(workers=1, cpus=1) as cluster:
        remote = json.loads(_index_json(photos, tmp_path / "cluster", cluster.address).stdout)
    assert (remote["added"], remote["failed"]) == (PHOTOS, 0)
    _assert_same(_catalog(local_library), _catalog(tmp_path / "local"))
    _assert_same(_catalog(local_library), _catalog(tmp_path / "cluster"))


def test_cluster_with_token_authentication(ray_home, photos, local_library, tmp_path, monkeypatch):
    """docs/ray.md's recipe: the token in ~/.ray/auth_token on every machine (here: one home) and
    RAY_AUTH_MODE=token for every node and for photoseek; without the mode photoseek says what to do.
    The user's token file is never touched."""
    from tests.ray_support import LocalRayCluster

    token_file = ray_home / ".ray" / "auth_token"
    token_file.parent.mkdir()
    token_file.write_text("photoseek-test-cluster-token")
    monkeypatch.setenv("RAY_AUTH_MODE", "token")  # the nodes inherit it
    with LocalRayCluster(workers=0, cpus=1) as cluster:
        monkeypatch.delenv("RAY_AUTH_MODE")
        # (Ray retries a refused connection for ~20 s; 2 is enough to be refused)
        refused = _index_json(photos, tmp_path / "lib", cluster.address, check=False,
                              env_extra={"RAY_gcs_server_port_wait_time_s": "2"})  # fmt: skip
        assert refused.returncode == 1
        assert "uses token authentication" in refused.stderr and "RAY_AUTH_MODE=token" in refused.stderr
        monkeypatch.setenv("RAY_AUTH_MODE", "token")
        done = json.loads(_index_json(photos, tmp_path / "lib", cluster.address).stdout)
    assert (done["added"], done["failed"]) == (PHOTOS, 0)
    _assert_same(_catalog(local_library), _catalog(tmp_path / "lib"))
    assert token_file.read_text() == "photoseek-test-cluster-token"
