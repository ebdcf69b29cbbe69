"""Stage 1 on a Ray cluster: the same `compute_batch` as the local path, on a pool of Ray actors.

The driver (the process running `photoseek index --ray`) scans, decides what is new and commits,
exactly as locally (indexer.Indexer); only computing moves: the run's tasks are cut into batches,
each actor loads the embedder once and runs `indexer.compute_batch` on the batches it is given,
and results stream back in completion order. The driver keeps every actor two batches deep so
workers never wait on a commit, and commits each batch in one transaction as it arrives — a killed
driver loses at most the batches in flight, and the next run resumes from the catalog.

A lost worker (its node died, its process was killed) loses only its batches in flight: they are
given to the surviving actors. When no actor survives the run stops with a clear error, everything
committed so far stays, and a re-run does the rest.

Requirements (see README, "Indexing on a Ray cluster"): photoseek and its models installed on every
node, the photos AND the library folder (thumbnails are written there) readable/writable at the
same paths on every node (a shared file system). Object storage is future work.

Ray's token authentication (Ray >= 2.52, on by default for a new local Ray since 2.59): a local
Ray started by ray.init() writes a token to ~/.ray/auth_token when none exists, and from then on
`ray start --head` on that machine turns token authentication on by itself while `ray start
--address` workers (and drivers given an address) do not: every later `ray start` cluster there
fails with "InvalidAuthToken". So the local Ray that photoseek starts itself (--ray with no
cluster to join) gets a token that lives only in this process's environment (RAY_AUTH_TOKEN; the
raylet and workers it starts inherit it): the run is authenticated and leaves no file behind, and
the local Ray is shut down with the run. Token authentication the user set up (RAY_AUTH_MODE,
RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH, ~/.ray/auth_token) is used as Ray uses it and never touched;
a cluster that asks for a token photoseek does not have is a clear error (docs/ray.md).

This module imports `ray`; it is imported only when `--ray` is used (`pip install 'photoseek[ray]'`).
"""

from __future__ import annotations

import logging
import os
import secrets
from collections import Counter, deque
from pathlib import Path
from typing import TYPE_CHECKING, Any, Collection, Iterator

from photoseek.errors import PhotoseekError

if TYPE_CHECKING:
    from photoseek.ingest.indexer import BatchJob, _Outcome, _Task

log = logging.getLogger("photoseek.ray")

IN_FLIGHT_PER_ACTOR = 2  # one computing, one queued: the actor never waits for the driver's commit


def _ray():
    try:
        import ray
    except ImportError as error:  # the extra is not installed
        raise PhotoseekError("--ray needs Ray: pip install 'photoseek[ray]'") from error
    return ray


class _PipelineActor:
    """One per worker slot: loads the embedder once, then computes batches (indexer.compute_batch)."""

    def __init__(self, embedder: Any, threads: int) -> None:
        # inference threads = the CPUs Ray gave this actor (as Ray does with OMP_NUM_THREADS), so
        # several actors on one node do not each spread over every core; a node's setting wins
        os.environ.setdefault("PHOTOSEEK_THREADS", str(threads))
        if isinstance(embedder, str):
            from photoseek.vision import get_embedder

            embedder = get_embedder(embedder)
        embedder.ensure_loaded()  # at start, so a model that cannot load fails the actor, not a batch
        self.embedder = embedder
        self.threads = threads

    def compute(self, tasks: "list[_Task]", job: "BatchJob", reuse: Collection[str] | None = None) -> "list[_Outcome]":
        from photoseek.ingest.indexer import compute_batch

        # pixels stay here: only metadata, vectors and labels go back to the driver
        return compute_batch(tasks, self.embedder, job, reuse=reuse, threads=self.threads, keep_images=False)

    def where(self) -> tuple[str, int]:
        """(node id, process id): tests and the bench check where actors run."""
        import ray

        return ray.get_runtime_context().get_node_id(), os.getpid()


class RayExecutor:
    """`indexer.BatchExecutor` on Ray.

    embedder:       an embedder spec ("conse", "hf:...") that each actor resolves with get_embedder,
                    or a picklable Embedder not yet loaded.
    address:        a Ray address ("ray://host:10001", "host:6379", "auto"); None or "": ray.init()'s
                    default (RAY_ADDRESS, else a new local Ray). Ignored when Ray is already initialised.
    batch_size:     files per batch (one decode + one encode_images call on an actor).
    actors:         pool size; None: the cluster's CPUs // cpus_per_actor (at least 1).
    cpus_per_actor: Ray CPUs each actor holds; `threads` decode threads inside it (default: the same).
    """

    def __init__(
        self,
        embedder: Any,
        address: str | None = None,
        *,
        batch_size: int = 32,
        actors: int | None = None,
        cpus_per_actor: float = 1,
        threads: int | None = None,
    ) -> None:
        self.embedder = embedder
        self.address = address or None
        self.batch_size = max(1, batch_size)
        self.actors = actors
        self.cpus_per_actor = cpus_per_actor
        self.threads = threads or max(1, int(cpus_per_actor))
        self._pool: list[Any] = []
        self._local_ray: dict[str, str | None] | None = None  # a local Ray we started: env to restore
        self.lost_actors = 0  # actors that died during runs (a worker killed, a node lost)
        self.placement: dict[int, tuple[str, int]] = {}  # id(actor) -> (node id, pid)
        self.batches_by_node: Counter[str] = Counter()  # batches computed per Ray node id

    # -- the pool ------------------------------------------------------------------------------------
    def _ensure_pool(self) -> list[Any]:
        ray = _ray()
        if not ray.is_initialized():
            self._connect(ray)
        self._pool = [a for a in self._pool if a is not None]
        if self._pool:
            return self._pool
        count = self.actors
        if count is None:
            cpus = ray.cluster_resources().get("CPU", 1)
            count = max(1, int(cpus // self.cpus_per_actor))
        remote = ray.remote(num_cpus=self.cpus_per_actor, max_restarts=0)(_PipelineActor)
        pool = [remote.remote(self.embedder, self.threads) for _ in range(count)]
        try:  # waits for every actor to have loaded its model
            where = ray.get([actor.where.remote() for actor in pool])
        except ray.exceptions.RayActorError as error:
            raise PhotoseekError(f"a Ray worker could not start: {_first_line(error)}") from error
        self.placement = {id(actor): place for actor, place in zip(pool, where)}
        self._pool = pool
        return self._pool

    def _connect(self, ray) -> None:
        """ray.init: joins the cluster at `address` (or RAY_ADDRESS, or the latest `ray start` here),
        else starts a local Ray for this run, with a token of its own (see the module doc)."""
        local = _starts_local_ray(self.address)
        own_token = local and not _user_token_auth()
        if local:  # ray.init sets RAY_AUTH_MODE in this process: put it back after the run
            self._local_ray = {name: os.environ.get(name) for name in _TOKEN_ENV}
        if own_token:
            _give_process_a_token()
        options = {"include_dashboard": False} if local else {}  # a throwaway Ray needs no dashboard
        try:
            with _quiet_token_notice(own_token):
                ray.init(address=self.address, logging_level=logging.WARNING, log_to_driver=False, **options)
        except Exception as error:
            self._forget_local_ray()
            if _is_auth_error(error):
                raise PhotoseekError(_token_help(self.address)) from error
            raise

    def _forget_local_ray(self) -> None:
        if self._local_ray is not None:
            _restore_environment(self._local_ray)
        self._local_ray = None

    @property
    def nodes_used(self) -> int:
        """Ray nodes that computed at least one batch (over this executor's runs)."""
        return len(self.batches_by_node)

    def shutdown(self) -> None:
        """Release the actors; a cluster we joined stays up, a local Ray we started is shut down."""
        ray = _ray()
        for actor in self._pool:
            try:
                ray.kill(actor)
            except Exception:  # noqa: BLE001 - already gone
                pass
        self._pool = []
        if self._local_ray is not None:
            ray.shutdown()
            self._forget_local_ray()

    # -- BatchExecutor ---------------------------------------------------------------------------------
    def compute(self, tasks: "list[_Task]", job: "BatchJob", reuse: Collection[str] | None = None) -> "list[_Outcome]":
        for outcomes in self._map([tasks], job, reuse):
            return outcomes
        return []

    def run(self, tasks: "list[_Task]", job: "BatchJob") -> Iterator["list[_Outcome]"]:
        batches = [tasks[i : i + self.batch_size] for i in range(0, len(tasks), self.batch_size)]
        yield from self._map(batches, job, None)

    def _map(self, batches: list, job: "BatchJob", reuse: Collection[str] | None) -> Iterator["list[_Outcome]"]:
        """Yields each batch's outcomes as soon as it is computed; re-queues the batches of actors
        that die; raises PhotoseekError when no actor is left."""
        ray = _ray()
        if not batches:
            return
        actors = list(self._ensure_pool())
        job_ref = ray.put(job)  # once per run, not once per batch (reusable_hashes can be large)
        todo = deque(batches)
        in_flight: dict[Any, tuple[Any, list]] = {}  # object ref -> (actor, batch)
        load = {id(a): 0 for a in actors}
        try:
            while todo or in_flight:
                for actor in actors:
                    while todo and load[id(actor)] < IN_FLIGHT_PER_ACTOR:
                        batch = todo.popleft()
                        in_flight[actor.compute.remote(batch, job_ref, reuse)] = (actor, batch)
                        load[id(actor)] += 1
                ready, _ = ray.wait(list(in_flight), num_returns=1)
                ref = ready[0]
                actor, batch = in_flight.pop(ref)
                try:
                    outcomes = ray.get(ref)
                except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError,
                        ray.exceptions.ObjectLostError, ray.exceptions.NodeDiedError) as error:  # fmt: skip
                    todo.appendleft(batch)  # another actor computes it again (compute_batch is idempotent)
                    if actor in actors:
                        actors.remove(actor)
                        self._pool.remove(actor)
                        self.lost_actors += 1
                        log.warning("a Ray worker was lost (%s); %d left", type(error).__name__, len(actors))
                    if not actors:
                        raise PhotoseekError(
                            "every Ray worker was lost "
                            f"({type(error).__name__}: {_first_line(error)}); what was committed stays — "
                            "run the same index command again to finish"
                        ) from error
                    continue
                load[id(actor)] -= 1
                self.batches_by_node[self.placement.get(id(actor), ("?", 0))[0]] += 1
                yield outcomes
        finally:
            for ref in in_flight:  # the driver stops (error, Ctrl-C): do not leave work queued
                try:
                    ray.cancel(ref)
                except Exception:  # noqa: BLE001 - best effort
                    pass


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else ""


# -- Ray's token authentication (see the module doc) ------------------------------------------------------

_TOKEN_ENV = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN")


def _starts_local_ray(address: str | None) -> bool:
    """Whether ray.init(address) starts a new local Ray rather than joining a cluster (Ray's own
    rule: RAY_ADDRESS, then the latest `ray start` on this machine, else a new one)."""
    try:
        from ray._private.services import canonicalize_bootstrap_address

        return canonicalize_bootstrap_address(address) is None
    except Exception:  # noqa: BLE001 - Ray moved it: the documented part of the rule
        return address in (None, "", "local") and not os.environ.get("RAY_ADDRESS")


def _user_token_auth() -> bool:
    """The user chose Ray's authentication settings (an env variable, or a token file)."""
    chosen = any(os.environ.get(name) for name in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"))
    return chosen or (Path.home() / ".ray" / "auth_token").exists()


def _give_process_a_token() -> None:
    """A random token in this process's environment, which the local Ray it starts inherits, so Ray
    writes no ~/.ray/auth_token (ray.init then turns token authentication on with it)."""
    os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)
    _reload_ray_auth()


def _restore_environment(saved: dict[str, str | None]) -> None:
    """RAY_AUTH_MODE and RAY_AUTH_TOKEN as they were before the local Ray started."""
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    _reload_ray_auth()


def _reload_ray_auth() -> None:
    """Ray reads the authentication mode and token once and caches them: make it read them again,
    so that a later ray.init in this process (another cluster) sees the environment as it is."""
    try:
        from ray._raylet import AuthenticationTokenLoader, Config

        Config.initialize("")
        AuthenticationTokenLoader.instance().reset_cache()
    except Exception:  # noqa: BLE001 - a Ray without these: the cache lasts as long as the process
        pass


class _quiet_token_notice:
    """Ray logs "Token authentication is enabled ... set RAY_AUTH_MODE=disabled to opt out" when a
    local Ray turns tokens on; for photoseek's own local Ray that is neither news nor advice."""

    def __init__(self, quiet: bool) -> None:
        self.logger = logging.getLogger("ray._private.authentication.authentication_token_setup")
        self.quiet, self.level = quiet, self.logger.level

    def __enter__(self) -> None:
        if self.quiet:
            self.logger.setLevel(logging.ERROR)

    def __exit__(self, *exc) -> None:
        self.logger.setLevel(self.level)


def _is_auth_error(error: BaseException | None) -> bool:
    """Whether a failed ray.init was refused for want of a token (Ray wraps its AuthenticationError
    in a RuntimeError, then in a ConnectionError)."""
    seen = 0
    while error is not None and seen < 8:
        text = f"{type(error).__name__}: {error}"
        if "AuthenticationError" in text or "InvalidAuthToken" in text:
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False


def _token_help(address: str | None) -> str:
    where = f"The Ray cluster at {address}" if address else "The Ray cluster"
    return (
        f"{where} uses token authentication and photoseek has no token for it. Run with "
        "RAY_AUTH_MODE=token and the cluster's token in ~/.ray/auth_token, RAY_AUTH_TOKEN or "
        "RAY_AUTH_TOKEN_PATH (every node needs the same two settings); see docs/ray.md."
    )
