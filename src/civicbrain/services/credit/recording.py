"""Group commit of checks: many checks' ledger entries written in one unit of work and one commit.

Every check is a ``ctx.decide`` (the screening audit trail). The ledger is a hash chain: each
entry's transaction holds the ledger's head from its append until its commit, and the commit
waits for the disk (a few milliseconds here, more when the disk is busy). One commit per check
would make checks queue behind each other's disk writes, so checks are committed in groups (the
``CheckRecorder``): a check that finds no batch being written writes one itself, its own entry and
every check waiting at that moment, through ``checks.record_checks`` (``ctx.decide_many``, each
checked as ``ctx.decide`` checks it, and the trail rows) in one unit of work, commits once, and only
then hands each caller its receipt. Checks that arrive while a batch is being written wait for the
next one, which the first of them to be woken writes. A receipt therefore always names a durable
entry; under load one disk write serves many checks, and a check that finds the ledger free is
recorded in its own thread (a writer thread cost each check two hand-overs between threads, more
CPU on this 2-core machine than the recording itself).

A batch that fails as a whole (one bad entry aborts the transaction) is written again one check
per unit of work, so only the check at fault fails.
"""

from __future__ import annotations

import threading
import weakref
from concurrent.futures import Future

from civicbrain.core.context import Runtime
from civicbrain.services.credit.checks import CheckAnswer, ScreenedCheck, record_check, record_checks

MAX_BATCH = 64  # checks per commit: enough for any load this platform serves, small enough to retry


class CheckRecorder:
    """Records screened checks for one runtime, many per commit, in the callers' own threads."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._lock = threading.Condition()
        self._pending: list[tuple[ScreenedCheck, Future[CheckAnswer]]] = []
        self._writing = False

    def record(self, screened: ScreenedCheck) -> CheckAnswer:
        """Queue a check and wait until its ledger entry is committed; its answer carries the receipt.

        The caller writes the waiting checks' batch itself when no other caller is writing one."""
        future: Future[CheckAnswer] = Future()
        with self._lock:
            self._pending.append((screened, future))
            while not future.done():
                if self._writing:
                    self._lock.wait()
                    continue
                self._writing = True
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                self._lock.release()
                try:
                    self._write(batch)
                finally:
                    self._lock.acquire()
                    self._writing = False
                    self._lock.notify_all()  # the written checks' callers, and the next writer
        return future.result()

    def _write(self, batch: list[tuple[ScreenedCheck, Future[CheckAnswer]]]) -> None:
        try:
            self._write_batch(batch)
        except BaseException as error:  # e.g. interrupted: no caller may wait for ever
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            raise

    def _write_batch(self, batch: list[tuple[ScreenedCheck, Future[CheckAnswer]]]) -> None:
        try:
            with self.runtime.unit(actor="credit-check-recorder") as ctx:
                answers = record_checks(ctx, [screened for screened, _ in batch])
                ctx.session.flush()
        except Exception:  # whatever failed, each check is retried on its own below
            for screened, future in batch:
                self._write_one(screened, future)
            return
        for (_, future), answer in zip(batch, answers, strict=True):
            future.set_result(answer)

    def _write_one(self, screened: ScreenedCheck, future: Future[CheckAnswer]) -> None:
        try:
            with self.runtime.unit(actor="credit-check-recorder") as ctx:
                answer = record_check(ctx, screened)
                ctx.session.flush()
        except Exception as error:  # handed to the caller, whose request answers with it
            future.set_exception(error)
            return
        future.set_result(answer)


_RECORDERS: weakref.WeakKeyDictionary[Runtime, CheckRecorder] = weakref.WeakKeyDictionary()
_RECORDERS_LOCK = threading.Lock()


def recorder_for(runtime: Runtime) -> CheckRecorder:
    with _RECORDERS_LOCK:
        recorder = _RECORDERS.get(runtime)
        if recorder is None:
            recorder = _RECORDERS[runtime] = CheckRecorder(runtime)
        return recorder
