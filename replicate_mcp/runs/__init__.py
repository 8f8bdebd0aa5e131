"""Runs: model references and resolution, progress, and the supervisor that owns every prediction."""

from replicate_mcp.runs.creates import NotCreated, OutcomeUnknown
from replicate_mcp.runs.progress import ProgressTracker, log_percent, tqdm_percent
from replicate_mcp.runs.refs import BadReference, ModelRef, parse_ref
from replicate_mcp.runs.resolve import ModelResolver, Target, UnresolvableModel
from replicate_mcp.runs.supervisor import Started, StartRequest, Supervisor, Tracked, TrainingRequest

__all__ = [
    "BadReference",
    "ModelRef",
    "ModelResolver",
    "NotCreated",
    "OutcomeUnknown",
    "ProgressTracker",
    "StartRequest",
    "Started",
    "Supervisor",
    "Target",
    "Tracked",
    "TrainingRequest",
    "UnresolvableModel",
    "log_percent",
    "parse_ref",
    "tqdm_percent",
]
