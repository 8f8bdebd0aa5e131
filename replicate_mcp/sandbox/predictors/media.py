"""Real, small media files for fake model outputs (pictures, an animated GIF, a weights tarball)."""

from __future__ import annotations

import io
import math
import random
import tarfile

from PIL import Image, ImageDraw

from .base import OutputFile

_FORMATS = {
    "webp": ("WEBP", "image/webp"),
    "jpg": ("JPEG", "image/jpeg"),
    "jpeg": ("JPEG", "image/jpeg"),
    "png": ("PNG", "image/png"),
}
# Flux's 1-megapixel sizes per aspect ratio (multiples of 16).
_FLUX_SIZES = {
    "1:1": (1024, 1024),
    "16:9": (1344, 768),
    "21:9": (1536, 640),
    "3:2": (1216, 832),
    "2:3": (832, 1216),
    "4:5": (896, 1088),
    "5:4": (1088, 896),
    "3:4": (896, 1152),
    "4:3": (1152, 896),
    "9:16": (768, 1344),
    "9:21": (640, 1536),
}


def aspect_size(aspect_ratio: str, megapixels: float = 1.0) -> tuple[int, int]:
    width: float
    height: float
    if aspect_ratio in _FLUX_SIZES:
        width, height = _FLUX_SIZES[aspect_ratio]
    else:
        try:
            w, h = (float(part) for part in aspect_ratio.split(":"))
        except ValueError:
            w, h = 1.0, 1.0
        width, height = 1024 * math.sqrt(w / h), 1024 * math.sqrt(h / w)
    scale = math.sqrt(megapixels)
    return max(16, round(width * scale / 16) * 16), max(16, round(height * scale / 16) * 16)


def _colour(rng: random.Random) -> tuple[int, int, int]:
    return rng.randrange(256), rng.randrange(256), rng.randrange(256)


def draw_picture(width: int, height: int, pattern_seed: str) -> Image.Image:
    """A flat-shaded abstract picture: banded sky plus a few shapes; compresses to a few KB."""
    rng = random.Random(pattern_seed)
    image = Image.new("RGB", (width, height))
    pen = ImageDraw.Draw(image)
    top, bottom = _colour(rng), _colour(rng)
    bands = 12
    for band in range(bands):
        mix = band / (bands - 1)
        fill = tuple(round(a + (b - a) * mix) for a, b in zip(top, bottom, strict=True))
        pen.rectangle([0, band * height // bands, width, (band + 1) * height // bands], fill=fill)
    for _ in range(rng.randint(3, 6)):
        x, y = rng.randrange(width), rng.randrange(height)
        radius = rng.randint(min(width, height) // 10, min(width, height) // 3)
        box = [x - radius, y - radius, x + radius, y + radius]
        (pen.ellipse if rng.random() < 0.6 else pen.rectangle)(box, fill=_colour(rng))
    return image


def encode_image(image: Image.Image, output_format: str, quality: int = 80) -> tuple[bytes, str, str]:
    """Returns (bytes, content type, file extension)."""
    fmt = output_format.lower() if output_format.lower() in _FORMATS else "png"
    pil_format, content_type = _FORMATS[fmt]
    buffer = io.BytesIO()
    options = {"quality": max(1, min(int(quality), 100))} if pil_format in ("WEBP", "JPEG") else {}
    if pil_format == "WEBP":
        options["method"] = 2
    image.save(buffer, pil_format, **options)
    return buffer.getvalue(), content_type, "jpg" if fmt == "jpeg" else fmt


def image_file(
    name_stem: str, width: int, height: int, output_format: str, pattern_seed: str, quality: int = 80
) -> OutputFile:
    data, content_type, ext = encode_image(draw_picture(width, height, pattern_seed), output_format, quality)
    return OutputFile(f"{name_stem}.{ext}", content_type, data)


def requested_size(input: dict, default: tuple[int, int] = (1024, 1024)) -> tuple[int, int]:
    if input.get("width") and input.get("height"):
        return int(input["width"]), int(input["height"])
    if isinstance(input.get("image_dimensions"), str) and "x" in input["image_dimensions"]:
        width, height = input["image_dimensions"].split("x", 1)
        return int(width), int(height)
    if input.get("aspect_ratio") and input["aspect_ratio"] != "custom":
        return aspect_size(str(input["aspect_ratio"]), float(input.get("megapixels") or 1))
    return default


def choose_seed(input: dict, rng: random.Random) -> int:
    seed = input.get("seed")
    return int(seed) if isinstance(seed, int) and not isinstance(seed, bool) else rng.randrange(2**16)


def animated_gif(width: int, height: int, frames: int, fps: int, pattern_seed: str) -> bytes:
    """A short looping animation: a ball crossing a banded background."""
    rng = random.Random(pattern_seed)
    background = draw_picture(width, height, pattern_seed)
    ball_colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
    radius = max(4, min(width, height) // 8)
    images = []
    for index in range(frames):
        frame = background.copy()
        x = radius + (width - 2 * radius) * index / max(1, frames - 1)
        y = height / 2 + (height / 4) * math.sin(index / max(1, frames) * 2 * math.pi)
        ImageDraw.Draw(frame).ellipse([x - radius, y - radius, x + radius, y + radius], fill=ball_colour)
        images.append(frame.convert("P", palette=Image.Palette.ADAPTIVE, colors=32))
    buffer = io.BytesIO()
    images[0].save(buffer, "GIF", save_all=True, append_images=images[1:], duration=round(1000 / fps), loop=0)
    return buffer.getvalue()


def weights_tarball(member_name: str, pattern_seed: str, size: int = 4096) -> bytes:
    """A real (tiny) tar archive holding one pseudo-random weights file."""
    payload = random.Random(pattern_seed).randbytes(size)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo(member_name)
        info.size = len(payload)
        info.mtime = 1_700_000_000
        archive.addfile(info, io.BytesIO(payload))
    return buffer.getvalue()
