"""Hand-made predictors for the sandbox's headline models."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from .base import Event, OutputFile, Plan, finish, progress_events
from .media import animated_gif, choose_seed, image_file, requested_size, weights_tarball
from .text import HARVARD_SENTENCES, compose_reply, cuda_oom, tokenize


class HelloWorld:
    def plan(self, input: dict, rng: random.Random) -> Plan:
        return finish(0.05 + rng.uniform(0, 0.05), [], output=f"hello {input.get('text', '')}")


@dataclass
class ImageGenerator:
    """Diffusion-style text-to-image: seed log, tqdm denoising progress, real image files at the end."""

    steps_per_second: float = 6.0
    unquantized_steps_per_second: float | None = None  # flux with go_fast=false runs in bf16, slower
    load_seconds: float = 0.3
    default_steps: int = 4
    default_size: tuple[int, int] = (1024, 1024)
    log_style: str = "flux"  # "flux" | "sdxl"
    max_pixels: int | None = None  # larger images fail with CUDA out of memory

    def plan(self, input: dict, rng: random.Random) -> Plan:
        seed = choose_seed(input, rng)
        width, height = (max(16, side) for side in requested_size(input, self.default_size))
        count = int(input.get("num_outputs") or 1)
        steps = int(input.get("num_inference_steps") or self.default_steps)
        prompt = str(input.get("prompt") or "")
        header = f"Using seed: {seed}\n"
        if self.log_style == "sdxl":
            header += f"Prompt: {prompt}\n{'img2img' if input.get('image') else 'txt2img'} mode\n"
        elif input.get("go_fast", True):
            header += "running quantized prediction\n"
        events = [Event(at=0.0, logs=header)]
        if self.max_pixels and width * height > self.max_pixels:
            logs, error = cuda_oom(
                width * height * count * 2.5 / 1024, "output = pipe(**common_args, **sdxl_kwargs)"
            )
            events.append(Event(at=self.load_seconds + 1.2, logs=logs))
            return finish(self.load_seconds + 1.2, events, error=error)
        rate = self.steps_per_second
        if self.unquantized_steps_per_second and not input.get("go_fast", True):
            rate = self.unquantized_steps_per_second
        progress, end = progress_events(self.load_seconds, steps, rate / count, rng)
        events += progress
        if self.log_style == "sdxl" and input.get("refine", "no_refiner") != "no_refiner":
            refine_steps = int(input.get("refine_steps") or max(1, round(steps * 0.2)))
            refined, end = progress_events(end + 0.3, refine_steps, rate / count, rng)
            events += refined
        if self.log_style == "flux":
            events.append(Event(at=end + 0.05, logs=f"Total safe images: {count} out of {count}\n"))
        files = [
            image_file(
                f"out-{index}",
                width,
                height,
                str(input.get("output_format") or "png"),
                f"{prompt}|{seed}|{index}",
                int(input.get("output_quality", 80)),
            )
            for index in range(count)
        ]
        metrics = {"image_count": count} if self.log_style == "flux" else {}
        return finish(end + 0.1, events, output=files, metrics=metrics)


@dataclass
class LanguageModel:
    """A chat model streaming a canned reply token by token."""

    tokens_per_second: float = 90.0
    time_to_first_token: float = 0.06

    def plan(self, input: dict, rng: random.Random) -> Plan:
        prompt = str(input.get("prompt") or "")
        max_tokens = max(1, int(input.get("max_tokens") or input.get("max_new_tokens") or 512))
        min_tokens = min(max_tokens, int(input.get("min_tokens") or 0))
        template = str(input.get("prompt_template") or "{prompt}")
        formatted = template.replace("{prompt}", prompt).replace(
            "{system_prompt}", str(input.get("system_prompt") or "")
        )
        tokens = tokenize(compose_reply(prompt, rng, min_tokens))[:max_tokens]
        rate = self.tokens_per_second * rng.uniform(0.9, 1.1)
        first = self.time_to_first_token * rng.uniform(0.8, 1.5)
        seed = choose_seed(input, rng)
        events = [
            Event(
                at=0.0,
                logs=f"Random seed used: `{seed}`\n"
                "Note: Random seed will not impact output if greedy decoding is used.\n"
                f"Formatted prompt: `{formatted}`\n",
            )
        ]
        events += [Event(at=first + index / rate, chunk=token) for index, token in enumerate(tokens)]
        duration = first + len(tokens) / rate
        metrics = {
            "input_token_count": len(tokenize(formatted)),
            "output_token_count": len(tokens),
            "tokens_per_second": len(tokens) / max(duration - first, 1e-6),
            "time_to_first_token": first,
        }
        return finish(duration, events, output=tokens, metrics=metrics)


def _timestamp(seconds: float, separator: str) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{int(hours):02d}:{int(minutes):02d}:{int(secs):02d}{separator}{round((secs % 1) * 1000):03d}"


class Whisper:
    """Speech-to-text: the audio is never fetched; the transcript is drawn from the Harvard sentences."""

    def plan(self, input: dict, rng: random.Random) -> Plan:
        sentences = rng.sample(HARVARD_SENTENCES, rng.randint(5, 9))
        segments: list[dict[str, Any]] = []
        start, seek = 0.0, 0
        while sentences:
            size = rng.randint(1, 3)
            group, sentences = sentences[:size], sentences[size:]
            text = " " + " ".join(group)
            end = round(start + len(text.split()) * rng.uniform(0.38, 0.48), 2)
            segments.append(
                {
                    "id": len(segments),
                    "end": end,
                    "seek": seek,
                    "text": text,
                    "start": start,
                    "tokens": [
                        50365,
                        *(rng.randrange(220, 50000) for _ in text.split()),
                        50365 + round(end * 50),
                    ],
                    "avg_logprob": -rng.uniform(0.05, 0.35),
                    "temperature": 0,
                    "no_speech_prob": rng.uniform(0.0001, 0.1),
                    "compression_ratio": rng.uniform(0.8, 1.8),
                }
            )
            start, seek = end, int(end * 100)
        style = input.get("transcription", "plain text")
        if style == "srt":
            transcript = "".join(
                f"{i + 1}\n{_timestamp(s['start'], ',')} --> "
                f"{_timestamp(s['end'], ',')}\n{s['text'].strip()}\n\n"
                for i, s in enumerate(segments)
            )
        elif style == "vtt":
            transcript = "".join(
                f"{_timestamp(s['start'], '.')} --> {_timestamp(s['end'], '.')}\n{s['text'].strip()}\n\n"
                for s in segments
            )
        else:
            transcript = "".join(s["text"] for s in segments)
        language = input.get("language", "auto")
        detected = "english" if language in (None, "auto", "en") else language
        frames = int(start * 100)
        events = [
            Event(at=0.0, logs="Transcribe with large-v3 model.\n"),
            Event(at=0.6, logs=f"Detected language: {detected.capitalize()}\n"),
        ]
        progress, end_time = progress_events(
            0.7, frames, frames / (start * 0.3), rng, unit="frames", max_lines=12
        )
        output = {
            "segments": segments,
            "translation": "".join(s["text"] for s in segments) if input.get("translate") else None,
            "transcription": transcript,
            "detected_language": detected,
        }
        return finish(end_time + 0.2, events + progress, output=output)


class TextToVideo:
    """A slow video model (minutes): long pipeline load, slow denoising steps, an animated GIF out."""

    sizes = {"16:9": (160, 90), "9:16": (90, 160), "1:1": (120, 120)}

    def plan(self, input: dict, rng: random.Random) -> Plan:
        seed = choose_seed(input, rng)
        seconds = int(input.get("duration") or 5)
        steps = int(input.get("num_inference_steps") or 30)
        width, height = self.sizes.get(str(input.get("aspect_ratio")), (160, 90))
        fps = 8
        events = [
            Event(at=0.0, logs=f"Using seed: {seed}\nLoading pipeline components...\n"),
            Event(at=18.0, logs=f"Generating {seconds * fps} frames at {width * 8}x{height * 8}\n"),
        ]
        progress, end = progress_events(20.0, steps, 1 / (seconds * 1.2), rng)
        events += progress
        events.append(Event(at=end + 1.0, logs="Decoding latents...\nEncoding video...\n"))
        data = animated_gif(width, height, min(seconds * fps, 40), fps, f"{input.get('prompt')}|{seed}")
        return finish(end + 6.0, events, output=OutputFile("output.gif", "image/gif", data))


class Upscaler:
    """An image upscaler that runs out of GPU memory for scale > 4 (as big Real-ESRGAN jobs do)."""

    def plan(self, input: dict, rng: random.Random) -> Plan:
        scale = float(input.get("scale", 4))
        events = [
            Event(at=0.0, logs="Loading RealESRGAN_x4plus weights...\n"),
            Event(
                at=0.8,
                logs=f"Upscaling with outscale={scale:g}, face_enhance={bool(input.get('face_enhance'))}\n",
            ),
        ]
        if scale > 4:
            logs, error = cuda_oom(
                1024 * scale * scale * rng.uniform(0.13, 0.15),
                "output, _ = self.upsampler.enhance(img, outscale=scale)",
            )
            events.append(Event(at=2.4, logs=logs))
            return finish(2.4, events, error=error)
        side = max(16, round(256 * scale))
        tiles = max(1, round(scale * scale))
        events += [Event(at=1.0 + i * 0.3, logs=f"\tTile {i + 1}/{tiles}\n") for i in range(tiles)]
        output = image_file("output", side, side, "png", f"{input.get('image')}|{scale}")
        return finish(1.3 + tiles * 0.3, events, output=output)


@dataclass
class LoraTrainer:
    """Fine-tuning: preprocessing logs, a long tqdm loop with loss, a weights tarball."""

    steps_per_second: float = 2.0

    def plan(self, input: dict, rng: random.Random) -> Plan:
        steps = int(input.get("steps") or input.get("max_train_steps") or 1000)
        seed = choose_seed(input, rng)
        events = [
            Event(at=0.0, logs="Extracting training images...\n"),
            Event(at=4.0, logs=f"Found {rng.randint(8, 24)} images; captioning with LLaVA...\n"),
            Event(at=20.0, logs="Starting training\n"),
        ]
        progress, end = progress_events(22.0, steps, self.steps_per_second, rng, desc="training: ")
        events += progress
        events.append(Event(at=end + 2.0, logs="Saving LoRA weights to output/trained_model.tar\n"))
        weights = OutputFile(
            "trained_model.tar", "application/x-tar", weights_tarball("lora.safetensors", f"{input}|{seed}")
        )
        return finish(end + 5.0, events, output={"weights": weights})
