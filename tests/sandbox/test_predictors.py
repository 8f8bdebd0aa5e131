"""Each fake model plans a well-formed run whose output fits the model's real Output schema."""

import io
import random
import re
import tarfile

import jsonschema
import pytest
from PIL import Image

from replicate_mcp.sandbox.catalog import load_catalog
from replicate_mcp.sandbox.predictors import OutputFile, Plan, tqdm_line
from replicate_mcp.sandbox.validation import validate_input

CATALOG = load_catalog()
TQDM = re.compile(r"^\s*\d+%\|.{10}\| \d+/\d+ \[\d\d:\d\d<(\d\d:\d\d|\?), +(\d+\.\d\d|\?)\w+/s\]$")


def run(key: str, input: dict | None = None, seed: int = 0, *, training: bool = False) -> Plan:
    entry = CATALOG.models[key]
    schema_name = "TrainingInput" if training else "Input"
    given = entry.model["default_example"]["input"] if input is None else input
    normalized, errors = validate_input(CATALOG.input_schema_doc(entry), given, schema_name=schema_name)
    assert errors == []
    predictor = entry.training_predictor if training else entry.predictor
    return predictor.plan(normalized, random.Random(seed))


def as_delivered(value, *, drop_none: bool = False):
    """What the engine serves: OutputFile -> URL. Cog emits null for unset optional fields (drop_none)."""
    if isinstance(value, OutputFile):
        return f"https://sandbox.test/delivery/abc/{value.name}"
    if isinstance(value, list):
        return [as_delivered(item, drop_none=drop_none) for item in value]
    if isinstance(value, dict):
        return {
            k: as_delivered(v, drop_none=drop_none) for k, v in value.items() if not (drop_none and v is None)
        }
    return value


def assert_fits(key: str, output, schema_name: str = "Output") -> None:
    components = CATALOG.input_schema_doc(CATALOG.models[key])["components"]
    document = {"$ref": f"#/components/schemas/{schema_name}", "components": components}
    jsonschema.validate(as_delivered(output, drop_none=True), document)


def assert_well_formed(plan: Plan) -> None:
    assert plan.duration > 0
    times = [event.at for event in plan.events]
    assert times == sorted(times)
    assert all(0 <= at <= plan.duration for at in times)
    assert all(event.logs is None or event.logs.endswith("\n") for event in plan.events)
    chunks = [event.chunk for event in plan.events if event.chunk is not None]
    if chunks:
        assert chunks == plan.output


@pytest.mark.parametrize("key", sorted(CATALOG.models))
def test_default_example_plan_is_well_formed_and_fits_output_schema(key):
    plan = run(key)
    assert_well_formed(plan)
    assert plan.error is None
    assert_fits(key, plan.output)


@pytest.mark.parametrize("key", [k for k, e in sorted(CATALOG.models.items()) if e.training_predictor])
def test_training_plans_produce_weights(key):
    steps = {"steps": 50} if key.startswith("ostris/") else {"max_train_steps": 50}
    plan = run(key, {"input_images": "https://example.com/images.zip", **steps}, training=True)
    assert_well_formed(plan)
    assert_fits(key, plan.output, "TrainingOutput")
    with tarfile.open(fileobj=io.BytesIO(plan.output["weights"].data)) as archive:
        assert archive.getnames() == ["lora.safetensors"]


def test_plans_are_deterministic_for_one_rng_seed():
    first, second = (
        run("black-forest-labs/flux-schnell", seed=7),
        run("black-forest-labs/flux-schnell", seed=7),
    )
    assert first.output[0].data == second.output[0].data and first.events == second.events


def test_hello_world():
    assert run("replicate/hello-world", {"text": "Alice"}).output == "hello Alice"


@pytest.mark.parametrize(
    ("fmt", "pil_format", "mime"),
    [("webp", "WEBP", "image/webp"), ("jpg", "JPEG", "image/jpeg"), ("png", "PNG", "image/png")],
)
def test_flux_schnell_images_are_real(fmt, pil_format, mime):
    plan = run(
        "black-forest-labs/flux-schnell",
        {"prompt": "a lighthouse", "num_outputs": 2, "aspect_ratio": "16:9", "output_format": fmt},
    )
    assert [f.name for f in plan.output] == [f"out-0.{fmt}", f"out-1.{fmt}"]
    for file in plan.output:
        image = Image.open(io.BytesIO(file.data))
        assert (image.format, image.size, file.content_type) == (pil_format, (1344, 768), mime)
        assert len(file.data) < 200_000
    assert 0.5 <= plan.duration <= 3
    assert plan.metrics == {"image_count": 2}


def test_flux_schnell_images_depend_on_prompt_and_seed():
    def picture(prompt, seed):
        return (
            run("black-forest-labs/flux-schnell", {"prompt": prompt, "seed": seed, "output_format": "png"})
            .output[0]
            .data
        )

    assert picture("a cat", 1) == picture("a cat", 1)
    assert picture("a cat", 1) != picture("a dog", 1)
    assert picture("a cat", 1) != picture("a cat", 2)


def test_flux_megapixels_shrink_the_image():
    plan = run(
        "black-forest-labs/flux-schnell", {"prompt": "x", "megapixels": "0.25", "output_format": "png"}
    )
    assert Image.open(io.BytesIO(plan.output[0].data)).size == (512, 512)


def test_llama_streams_tokens_and_honours_max_tokens():
    plan = run("meta/meta-llama-3-8b-instruct", {"prompt": "How do rockets work?", "max_tokens": 20})
    assert_well_formed(plan)
    assert 1 <= len(plan.output) <= 20 and all(isinstance(token, str) for token in plan.output)
    assert plan.metrics["output_token_count"] == len(plan.output)
    assert plan.metrics["input_token_count"] > 0
    assert 50 < plan.metrics["tokens_per_second"] < 150
    long = run(
        "meta/meta-llama-3-8b-instruct", {"prompt": "Tell me a story", "min_tokens": 300, "max_tokens": 400}
    )
    assert 300 <= len(long.output) <= 400
    assert "How do rockets work" in "".join(
        run("meta/meta-llama-3-8b-instruct", {"prompt": "How do rockets work?"}).output
    )


@pytest.mark.parametrize("audio", ["https://example.com/talk.mp3", "data:audio/wav;base64,UklGRg=="])
def test_whisper_transcribes_any_file_reference(audio):
    plan = run("openai/whisper", {"audio": audio, "transcription": "srt", "translate": True})
    assert_fits("openai/whisper", plan.output)
    assert plan.output["transcription"].startswith("1\n00:00:00,000 --> ")
    assert plan.output["translation"] and plan.output["detected_language"] == "english"
    segment = plan.output["segments"][0]
    assert {"id", "start", "end", "text", "tokens", "avg_logprob", "no_speech_prob"} <= set(segment)


def test_sdxl_logs_tqdm_progress_over_tens_of_seconds():
    plan = run("stability-ai/sdxl", {"prompt": "a castle", "num_inference_steps": 50})
    assert 10 <= plan.duration <= 60
    lines = [e.logs for e in plan.events if e.logs and "%|" in e.logs]
    assert len(lines) >= 10 and all(TQDM.match(line.rstrip("\n")) for line in lines)
    assert lines[-1].startswith("100%|██████████| 50/50")
    image = Image.open(io.BytesIO(plan.output[0].data))
    assert image.format == "PNG" and image.size == (1024, 1024)


def test_sdxl_runs_out_of_memory_for_huge_images():
    plan = run("stability-ai/sdxl", {"prompt": "x", "width": 4096, "height": 4096})
    assert plan.error.startswith("CUDA out of memory. Tried to allocate ")
    assert plan.output is None


def test_video_model_takes_minutes_and_returns_an_animation():
    plan = run("sandbox/text-to-video", {"prompt": "waves", "aspect_ratio": "9:16"})
    assert_well_formed(plan)
    assert plan.duration >= 180
    assert sum(1 for e in plan.events if e.logs and "%|" in e.logs) >= 10
    image = Image.open(io.BytesIO(plan.output.data))
    assert plan.output.name == "output.gif" and image.format == "GIF" and image.n_frames > 1
    assert image.size == (90, 160)


def test_upscaler_fails_like_a_real_cuda_oom():
    plan = run("sandbox/upscaler", {"image": "https://example.com/a.png", "scale": 8})
    assert_well_formed(plan)
    assert re.match(r"CUDA out of memory\. Tried to allocate \d+\.\d\d GiB \(GPU 0;", plan.error)
    logs = "".join(e.logs for e in plan.events if e.logs)
    assert "Traceback (most recent call last):" in logs and "torch.cuda.OutOfMemoryError" in logs
    ok = run("sandbox/upscaler", {"image": "data:image/png;base64,iVBORw0KGgo=", "scale": 2})
    assert ok.error is None and Image.open(io.BytesIO(ok.output.data)).size == (512, 512)


def test_generic_predictor_follows_the_output_schema():
    pro = run("black-forest-labs/flux-1.1-pro", {"prompt": "x", "output_format": "jpg"})
    assert isinstance(pro.output, OutputFile) and pro.output.content_type == "image/jpeg"
    dev = run("black-forest-labs/flux-dev", {"prompt": "x", "num_outputs": 3})
    assert len(dev.output) == 3
    llama = run("meta/meta-llama-3-70b-instruct", {"prompt": "hi", "max_tokens": 8})
    assert_well_formed(llama)
    assert 1 <= len(llama.output) <= 8


def test_tqdm_line_matches_tqdm():
    assert tqdm_line(2, 50, 0.22, 9.1) == "  4%|▍         | 2/50 [00:00<00:05,  9.10it/s]\n"
    assert tqdm_line(0, 4, 0, 1) == "  0%|          | 0/4 [00:00<?, ?it/s]\n"
