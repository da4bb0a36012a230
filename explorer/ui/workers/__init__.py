"""Work that runs off the GUI thread: training runs and bundle loading/saving (superqt workers)."""
from .bundle_io import load_bundle_async, save_bundle_async, shutdown_workers
from .training import TrainingRun
from .training_job import STOP, Failed, Finished, ModelCreated, Progress, Snapshot, Status, TrainingJob

__all__ = ["STOP", "Failed", "Finished", "ModelCreated", "Progress", "Snapshot", "Status", "TrainingJob",
           "TrainingRun", "load_bundle_async", "save_bundle_async", "shutdown_workers"]
