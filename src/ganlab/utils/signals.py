"""Stop signals (SIGTERM from schedulers and `docker stop`, Ctrl+C's SIGINT, SIGUSR1): the first one is
noted and training stops at the next batch boundary with a checkpoint (callbacks/stop_on_signal.py); a
second one, or one outside training where there is no batch to finish, stops at once."""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

from ganlab.utils.ranked_log import RankedLogger

log = RankedLogger(__name__)
# Taken for the whole run. SIGUSR1 only once training starts, and only when nobody else handles it:
# Lightning's SLURM auto-requeue registers it as training starts, and must keep it.
RUN_SIGNALS = (signal.SIGINT, signal.SIGTERM)
TRAINING_SIGNALS = (*RUN_SIGNALS, signal.SIGUSR1)


class Interrupted(BaseException):
    """A stop signal ended the run. A BaseException, as KeyboardInterrupt is: no `except Exception` on the
    way up may swallow it. `exit_code` is what shells expect of a process a signal ended."""

    def __init__(self, signum: int, message: str = "") -> None:
        super().__init__(message or f"stopped by {signal.Signals(signum).name}")
        self.signum = signum

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


class StopSignals:
    """The run's handler of stop signals, installed for the length of `with StopSignals() as stop:`.
    While `deferring` (training, between batches to come) the first signal is only noted in `received`;
    otherwise, and for a second signal, the handler raises Interrupted where the program is."""

    def __init__(self) -> None:
        self.received: int | None = None
        self.deferring = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        self.take(RUN_SIGNALS)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def take(self, signums: tuple[int, ...], unless_handled: tuple[int, ...] = ()) -> None:
        """Handle `signums` from now on (again: Lightning puts its own SIGTERM handler in as it starts
        training), except those of `unless_handled` that already have a handler."""
        if threading.current_thread() is not threading.main_thread():
            return  # a job run in a thread (some launchers): signals reach the main thread only
        for signum in signums:
            current = signal.getsignal(signum)
            if signum in unless_handled and current not in (signal.SIG_DFL, None) and current != self._handle:
                continue
            self._previous.setdefault(signum, current)
            signal.signal(signum, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self.deferring and self.received is None:
            self.received = signum
            log.warning(f"{name}: finishing this batch and saving a checkpoint (again: stop at once)")
            return
        self.received = self.received or signum
        raise Interrupted(signum, f"stopped at once by {name}")
