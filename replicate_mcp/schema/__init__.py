"""Model version schemas: extraction, Replicate-like validation with actionable errors, compact summaries.

Knows no HTTP and no MCP.
"""

from .issues import ValidationIssue
from .model import InputField, ModelSchema, clear_cache, load_schema
from .summary import compact_summary
from .validate import ValidationResult, validate_input

__all__ = [
    "InputField",
    "ModelSchema",
    "ValidationIssue",
    "ValidationResult",
    "clear_cache",
    "compact_summary",
    "load_schema",
    "validate_input",
]
