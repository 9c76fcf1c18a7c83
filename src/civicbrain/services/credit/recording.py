"""Group commit of checks: many checks' ledger entries written in one unit of work and one commit.

Every check is a ``ctx.decide`` (the screening audit trail). The ledger is a hash chain: each
entry's transaction holds the ledger's head from its append until its commit, and the commit
waits for the disk (a few milliseconds here, more when the disk is busy). One commit per check
would make checks queue behind each other's disk writes, so the check API hands its screened
answers to the runtime's ``CheckRecorder``: a writer thread takes every check waiting at that
moment, records them through ``checks.record_checks`` (``ctx.decide_many``, each checked as
``ctx.decide`` checks it, and the trail rows) in one unit of work, commits once, and only then
gives each caller its receipt. A receipt therefore always names a durable entry; under load one
disk write serves many checks.

A batch that fails as a whole (one bad entry aborts the transaction) is written again one check
per unit of work, so only the check at fault fails. The writer thread exits when idle.
"""

from __future__ import annotations

import threading
import weakref
from concurrent.futures import Future

from civicbrain.core.context import Runtime
from civicbrain.services.credit.checks import CheckAnswer, ScreenedCheck, record_check, record_checks

MAX_BATCH = 64  # checks per commit: enough for any load this platform serves, small enough to retry
IDLE_SECONDS = 2.0


class CheckRecorder:
    """Records screened checks for one runtime, many per commit."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._lock = threading.Condition()
        self._pending: list[tuple[ScreenedCheck, Future[CheckAnswer]]] = []
        self._writer: threading.Thread | None = None

    def record(self, screened: ScreenedCheck) -> CheckAnswer:
        """Queue a check and wait until its ledger entry is committed; its answer carries the receipt."""
        future: Future[CheckAnswer] = Future()
        with self._lock:
            self._pending.append((screened, future))
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_batches, name="credit-check-recorder", daemon=True)
                self._writer.start()
            self._lock.notify()
        return future.result()

    def _write_batches(self) -> None:
        while True:
            with self._lock:
                if not self._pending:
                    self._lock.wait(IDLE_SECONDS)
                if not self._pending:
                    self._writer = None
                    return
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            self._write(batch)

    def _write(self, batch: list[tuple[ScreenedCheck, Future[CheckAnswer]]]) -> None:
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
