from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image

from replicate_mcp.files import make_thumbnail


def decoded(result: tuple[bytes, str] | None) -> Image.Image:
    assert result is not None
    data, mime = result
    im = Image.open(io.BytesIO(data))
    assert mime == Image.MIME[im.format]
    return im


def test_big_noisy_image_fits_512_pixels_and_200_kb(tmp_path: Path):
    path = tmp_path / "noise.png"
    # coarse noise, so that the downscaled image is still noise and hard to compress
    noise = Image.frombytes("RGB", (500, 375), os.urandom(500 * 375 * 3))
    noise.resize((4000, 3000), Image.Resampling.NEAREST).save(path, compress_level=1)
    result = make_thumbnail(path)
    im = decoded(result)
    assert max(im.size) <= 512 and im.size[0] > im.size[1]
    assert len(result[0]) <= 200_000


def test_limits_are_parameters(tmp_path: Path):
    path = tmp_path / "noise.jpg"
    Image.frombytes("RGB", (800, 800), os.urandom(800 * 800 * 3)).save(path, quality=95)
    result = make_thumbnail(path, max_side=300, max_bytes=20_000)
    assert max(decoded(result).size) <= 300 and len(result[0]) <= 20_000


def test_small_image_is_not_upscaled(tmp_path: Path):
    path = tmp_path / "small.jpg"
    Image.new("RGB", (64, 48), "red").save(path)
    assert decoded(make_thumbnail(path)).size == (64, 48)


def test_transparent_image_keeps_its_alpha(tmp_path: Path):
    path = tmp_path / "logo.png"
    im = Image.new("RGBA", (1024, 1024), (0, 0, 0, 0))
    im.paste((255, 0, 0, 255), (100, 100, 600, 600))
    im.save(path)
    thumb = decoded(make_thumbnail(path))
    assert thumb.size == (512, 512) and thumb.mode in ("RGBA", "LA", "P")
    assert thumb.convert("RGBA").getpixel((0, 0))[3] == 0


@pytest.mark.parametrize("fmt", ["WEBP", "GIF", "JPEG"])
def test_common_formats(tmp_path: Path, fmt: str):
    path = tmp_path / f"image.{fmt.lower()}"
    Image.new("RGB", (1000, 600), "blue").save(path, fmt)
    assert decoded(make_thumbnail(path)).size == (512, 307)


def test_animated_gif_gives_its_first_frame(tmp_path: Path):
    path = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (600, 600), color) for color in ("green", "white", "black")]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    thumb = decoded(make_thumbnail(path)).convert("RGB")
    red, green, blue = thumb.getpixel((10, 10))
    assert green > 100 and red < 50 and blue < 50


def test_non_images_and_broken_files_give_none(tmp_path: Path):
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    broken = tmp_path / "broken.png"
    good = io.BytesIO()
    Image.new("RGB", (300, 300), "red").save(good, "PNG")
    broken.write_bytes(good.getvalue()[:200])
    assert make_thumbnail(text) is None
    assert make_thumbnail(broken) is None
    assert make_thumbnail(tmp_path / "missing.png") is None


@pytest.mark.parametrize("side", [40, 100])  # above MAX_IMAGE_PIXELS (warning) and above twice it (error)
def test_decompression_bombs_give_none(tmp_path: Path, monkeypatch, side: int):
    path = tmp_path / "bomb.png"
    Image.new("RGB", (side, side), "white").save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    assert make_thumbnail(path) is None
