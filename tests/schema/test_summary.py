"""compact_summary: short, yet nothing an agent needs is lost; the ratio table and the benchmark hook."""

from __future__ import annotations

import json
import re

from replicate_mcp.schema import compact_summary, load_schema
from replicate_mcp.schema.suggest import first_sentence
from tests.benchmarks import schema_sizes as measure
from tests.benchmarks import validation_speed as bench

from .conftest import DATA, SCHEMA_NAMES, raw_doc, raw_properties

FLUX_DEV_SUMMARY = """\
prompt* str — Prompt for generated image
aspect_ratio 1:1|16:9|21:9|3:2|2:3|4:5|5:4|3:4|4:3|9:16|9:21 =1:1 — Aspect ratio for the generated image
image file (URL, data URI or path) — Input image for image to image mode
prompt_strength float 0..1 =0.8 — Prompt strength when using img2img
num_outputs int 1..4 =1 — Number of outputs to generate
num_inference_steps int 1..50 =28 — Number of denoising steps
guidance float 0..10 =3 — Guidance for generated image
seed int — Random seed
output_format webp|jpg|png =webp — Format of the output images
output_quality int 0..100 =80 — Quality when saving the output images, from 0 to 100
disable_safety_checker =false — Disable safety checker for generated images
go_fast =true — Run faster predictions with model optimized for speed (currently fp8 quantized); \
disable to run in original bf16
megapixels "1"|"0.25" ="1" — Approximate number of megapixels for generated image
→ output: files (images)"""

SHORT_TYPES = {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}


def test_flux_dev_summary(flux_dev):
    assert compact_summary(flux_dev) == FLUX_DEV_SUMMARY


def test_flux_dev_summary_is_at_most_35_percent_of_its_raw_input_schema(flux_dev):
    doc = raw_doc("black-forest-labs__flux-dev")
    schemas = doc["components"]["schemas"]
    raw = json.dumps(
        {name: schemas[name] for name in ("Input", "aspect_ratio", "megapixels", "output_format")},
        separators=(",", ":"),
    )
    assert len(measure.raw_input_json(doc)) == len(raw)
    assert len(compact_summary(flux_dev)) <= 0.35 * len(raw)


def test_nothing_an_agent_needs_is_lost(schema_name, schema):
    """Every input's name, required flag, type, default, range,
    full enum and first sentence are on its line."""
    doc = raw_doc(schema_name)
    props, required = raw_properties(doc), doc["components"]["schemas"]["Input"].get("required", [])
    lines = compact_summary(schema).splitlines()
    assert lines[-1].startswith("→ output: " + schema.output_kind)
    by_name = {line.split(" ")[0].rstrip("*"): line for line in lines[:-1]}
    assert list(by_name) == [f.name for f in schema.fields] and set(by_name) == set(props)
    assert [n for n in by_name if n in required] == list(by_name)[: len(required)]
    for name, prop in props.items():
        line = by_name[name]
        words = line.split(" — ")[0].split(" ")
        assert words[0] == name + ("*" if name in required else "")
        head = line.split(" — ")[0]
        if "enum" in prop:
            listing = r"\|".join(f'"?{re.escape(str(v))}"?' for v in prop["enum"])
            assert re.search(rf" {listing}( |$)", head), line
        elif prop.get("format") == "uri":
            assert words[1] == "file"
        elif not (prop["type"] == "boolean" and "default" in prop):
            assert words[1] == SHORT_TYPES[prop["type"]]
        low, high = (_num(prop.get(b)) for b in ("minimum", "maximum"))
        if low is not None and high is not None:
            assert f" {low}..{high}" in head
        elif low is not None or high is not None:
            assert (f" >={low}" if low is not None else f" <={high}") in head
        if prop.get("default") is not None:
            default = prop["default"]
            shown = [json.dumps(default)] + ([default] if isinstance(default, str) and "enum" in prop else [])
            shown = (
                [str(_num(default))]
                if isinstance(default, int | float) and not isinstance(default, bool)
                else shown
            )
            assert any(head.endswith(f" ={text}") for text in shown), line
        sentence = first_sentence(prop.get("description"))
        if sentence and sentence != "An enumeration":
            assert line.endswith(" — " + sentence)


def _num(value):
    return int(value) if isinstance(value, float) and value.is_integer() else value


def test_secrets_and_file_arrays_are_marked():
    trainer = load_schema(raw_doc("ostris__flux-dev-lora-trainer"))
    lines = compact_summary(trainer.training).splitlines()
    assert (
        "hf_token secret str — Hugging Face token, if you'd like to upload the trained LoRA to Hugging Face"
        in lines
    )
    assert lines[0].startswith("input_images file (URL, data URI or path) — ")
    assert lines[-1] == "→ output: object with weights (file)"
    d = {
        "components": {
            "schemas": {
                "Input": {
                    "type": "object",
                    "properties": {
                        "refs": {
                            "type": "array",
                            "items": {"type": "string", "format": "uri"},
                            "description": "Some. More.",
                        }
                    },
                }
            }
        }
    }
    assert compact_summary(load_schema(d)).splitlines()[0] == "refs file[] (URLs, data URIs or paths) — Some"


def test_other_output_lines():
    assert compact_summary(load_schema(raw_doc("meta__meta-llama-3-8b-instruct"))).endswith(
        "\n→ output: text_stream (text chunks; join them)"
    )
    assert compact_summary(load_schema(raw_doc("openai__whisper"))).endswith(
        "\n→ output: object with segments?, srt_file? (file), txt_file? (file), translation?, transcription, "
        "detected_language"
    )
    assert compact_summary(load_schema(raw_doc("replicate__hello-world"))) == (
        "text* str — Text to prefix with 'hello '\n→ output: text"
    )


def test_ratio_table_covers_all_real_schemas(capsys):
    rows = measure.table(DATA)
    assert sorted(row["schema"] for row in rows) == SCHEMA_NAMES
    assert all(0 < row["ratio"] < 1 for row in rows)
    assert measure.main([str(DATA)]) == 0
    assert "black-forest-labs__flux-dev" in capsys.readouterr().out


def test_bench_hook_reports_its_figures():
    figures = bench.measure(n=20, directory=DATA)
    assert figures["schemas"] == 15
    assert {"warm_validate_us_median", "cold_compile_ms_median", "jsonschema_iter_errors_us_median"} <= set(
        figures
    )
