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

This module imports `ray`; it is imported only when `--ray` is used (`pip install 'photoseek[ray]'`).
"""

from __future__ import annotations

import logging
import os
from collections import Counter, deque
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
        self.lost_actors = 0  # actors that died during runs (a worker killed, a node lost)
        self.placement: dict[int, tuple[str, int]] = {}  # id(actor) -> (node id, pid)
        self.batches_by_node: Counter[str] = Counter()  # batches computed per Ray node id

    # -- the pool ------------------------------------------------------------------------------------
    def _ensure_pool(self) -> list[Any]:
        ray = _ray()
        if not ray.is_initialized():
            ray.init(address=self.address, logging_level=logging.WARNING, log_to_driver=False)
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

    @property
    def nodes_used(self) -> int:
        """Ray nodes that computed at least one batch (over this executor's runs)."""
        return len(self.batches_by_node)

    def shutdown(self) -> None:
        """Release the actors (the cluster itself stays up)."""
        ray = _ray()
        for actor in self._pool:
            try:
                ray.kill(actor)
            except Exception:  # noqa: BLE001 - already gone
                pass
        self._pool = []

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
