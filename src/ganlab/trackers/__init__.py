from ganlab.trackers import kinds  # noqa: F401  (registers the shipped trackers)
from ganlab.trackers.base import TRACKERS, Tracker, register, tracker_of
from ganlab.trackers.session import open_trackers, resumed_runs, start_runs

__all__ = ["TRACKERS", "Tracker", "open_trackers", "register", "resumed_runs", "start_runs", "tracker_of"]
