"""The prediction lifecycle: references, resolution, create / wait / progress / cancel."""

from replicate_mcp.runs.lifecycle import Lifecycle, Run
from replicate_mcp.runs.progress import ProgressTracker, log_percent, tqdm_percent
from replicate_mcp.runs.refs import BadReference, ModelRef, parse_ref
from replicate_mcp.runs.resolve import ModelResolver, Target, UnresolvableModel

__all__ = [
    "BadReference",
    "Lifecycle",
    "ModelRef",
    "ModelResolver",
    "ProgressTracker",
    "Run",
    "Target",
    "UnresolvableModel",
    "log_percent",
    "parse_ref",
    "tqdm_percent",
]
