"""How much smaller compact_summary is than the raw Input schema:
`python -m tests.benchmarks.schema_sizes [DIR]`.

DIR holds real `openapi_schema` files (`X.json`; `X.model.json` files are skipped); by default the copies in
tests/schema/data. A development tool, so it lives beside the tests and their data, not in the package.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from replicate_mcp.schema import compact_summary, load_schema
from replicate_mcp.schema.extract import unwrap_document

SAMPLES = Path(__file__).resolve().parents[1] / "schema" / "data"


def sample_schemas(directory: Path | None = None) -> dict[str, dict]:
    """{file stem: openapi_schema} for every schema file (not model file) in the directory."""
    directory = directory or SAMPLES
    return {
        path.name.removesuffix(".json"): json.loads(path.read_text())
        for path in sorted(directory.glob("*.json"))
        if ".model." not in path.name
    }


def raw_input_json(openapi_schema: dict) -> str:
    """The Input schema plus every component schema it references, as compact JSON."""
    doc = unwrap_document(openapi_schema)
    components = doc.get("components", {}).get("schemas", {})
    picked: dict[str, dict] = {}
    pending = ["Input"]
    while pending:
        name = pending.pop()
        if name in picked or name not in components:
            continue
        picked[name] = components[name]
        pending += _referenced(components[name])
    return json.dumps(picked, separators=(",", ":"))


def ratio(openapi_schema: dict) -> tuple[int, int, float]:
    raw = len(raw_input_json(openapi_schema))
    compact = len(compact_summary(load_schema(openapi_schema)))
    return raw, compact, compact / raw


def table(directory: Path | None = None) -> list[dict]:
    rows = []
    for name, doc in sample_schemas(directory).items():
        raw, compact, share = ratio(doc)
        rows.append({"schema": name, "raw_chars": raw, "summary_chars": compact, "ratio": round(share, 3)})
    return rows


def _referenced(node) -> list[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        found = (
            [ref.rsplit("/", 1)[-1]]
            if isinstance(ref, str) and ref.startswith("#/components/schemas/")
            else []
        )
        return found + [name for value in node.values() for name in _referenced(value)]
    if isinstance(node, list):
        return [name for item in node for name in _referenced(item)]
    return []


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    rows = table(Path(args[0]) if args else None)
    width = max(len(row["schema"]) for row in rows)
    out = [f"{'schema':<{width}}  {'raw':>6}  {'summary':>7}  ratio"]
    out += [
        f"{r['schema']:<{width}}  {r['raw_chars']:>6}  {r['summary_chars']:>7}  {r['ratio']:.1%}"
        for r in rows
    ]
    sys.stdout.write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
