"""Thumbnails with bounded memory: too many pixels are refused from the header, big JPEGs decode scaled down.

`python -m tests.files.test_thumbnail_limits` prints the peak memory of one preview for a few
images (measured, never asserted).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from PIL import Image

from replicate_mcp.files import make_thumbnail
from replicate_mcp.files.thumbnails import MAX_DECODED_PIXELS, _shrink, try_thumbnail


def png_header_only(path: Path, width: int, height: int) -> None:
    """A PNG that declares width x height but whose pixel data is garbage: decoding it at all would fail."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"not zlib data") + chunk(b"IEND", b"")
    )


def test_limit_is_far_below_pillows():
    assert MAX_DECODED_PIXELS * 7 < Image.MAX_IMAGE_PIXELS


def test_too_many_pixels_are_refused_before_decoding(tmp_path: Path):
    path = tmp_path / "huge.png"
    png_header_only(path, 9000, 9000)  # 81 M pixels, under Pillow's own limit
    assert try_thumbnail(path) == (None, "9000x9000 pixels, more than the 12,000,000 a preview may decode")
    assert make_thumbnail(path) is None
    # the same garbage under the limit is decoded, and fails as unreadable: so the refusal above came first
    small = tmp_path / "small.png"
    png_header_only(small, 900, 900)
    thumbnail, reason = try_thumbnail(small)
    assert thumbnail is None and reason.startswith("unreadable image")


def test_a_real_compressible_bomb_is_refused(tmp_path: Path):
    path = tmp_path / "white.png"
    Image.new("1", (9400, 9400), 1).save(path)  # ~11 KB on disk, 88 M pixels
    assert path.stat().st_size < 300_000
    thumbnail, reason = try_thumbnail(path)
    assert thumbnail is None and reason == "9400x9400 pixels, more than the 12,000,000 a preview may decode"


def test_reasons_for_files_that_are_not_images(tmp_path: Path):
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    assert try_thumbnail(text) == (
        None,
        "not an image in a previewable format (PNG, JPEG, WEBP, GIF, BMP, TIFF)",
    )
    assert try_thumbnail(tmp_path / "missing.png") == (None, "unreadable image (FileNotFoundError)")


def test_a_jpeg_over_the_limit_decodes_at_a_reduced_scale(tmp_path: Path):
    path = tmp_path / "big.jpg"
    Image.new("L", (5000, 3000), 128).save(path)  # 15 M pixels: decoded at 1/4 scale, 1250 x 750
    thumbnail, reason = try_thumbnail(path)
    assert reason is None and Image.open(io.BytesIO(thumbnail[0])).size == (512, 307)


def test_exif_orientation_is_applied_to_the_preview(tmp_path: Path):
    path = tmp_path / "portrait.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    Image.new("RGB", (1200, 600), "red").save(path, exif=exif)
    thumbnail, _ = try_thumbnail(path)
    assert Image.open(io.BytesIO(thumbnail[0])).size == (256, 512)


def test_palette_image_with_transparency_keeps_it(tmp_path: Path):
    path = tmp_path / "palette.png"
    im = Image.new("P", (1500, 1500), 0)
    im.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    im.paste(1, (0, 0, 750, 1500))
    im.save(path, transparency=0)
    thumbnail, _ = try_thumbnail(path)
    preview = Image.open(io.BytesIO(thumbnail[0])).convert("RGBA")
    assert preview.size == (512, 512)
    assert preview.getpixel((10, 10)) == (255, 0, 0, 255) and preview.getpixel((500, 10))[3] == 0


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_reducing_a_band_of_rows_at_a_time_equals_reducing_the_whole(mode):
    im = Image.frombytes("RGB", (2100, 1301), os.urandom(2100 * 1301 * 3)).convert(mode)
    expected = im.convert("RGB").reduce(2)
    expected.thumbnail((512, 512), Image.Resampling.LANCZOS, reducing_gap=None)
    assert _shrink(im, 512).tobytes() == expected.tobytes()


MEASURE = r"""
import os, sys, threading, time
from pathlib import Path
from replicate_mcp.files.thumbnails import try_thumbnail
from PIL import Image
page = os.sysconf("SC_PAGE_SIZE")
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * page
warm = Path(sys.argv[2])
Image.new("RGBA", (64, 64)).save(warm)
try_thumbnail(warm)
base = rss(); peak = [base]; done = threading.Event()
def sample():
    while not done.is_set():
        peak[0] = max(peak[0], rss()); time.sleep(0.0003)
sampler = threading.Thread(target=sample); sampler.start()
_, reason = try_thumbnail(Path(sys.argv[1]))
done.set(); sampler.join()
print(f"{(peak[0] - base) / 2**20:.1f} MB", reason or "preview made")
"""


def peak_memory(path: Path) -> str:
    """Peak resident memory added by one try_thumbnail(path), in a fresh process (Linux /proc sampling)."""
    warm = path.with_name("warm-up.png")
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path), str(warm)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout.strip()


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="measures with Linux /proc")
def test_print_peak_memory_of_a_refused_bomb_and_of_a_12_megapixel_png(tmp_path: Path):
    """Prints the figures (pytest -s); asserts only that the bomb was refused, not any amount of memory."""
    bomb, photo = tmp_path / "white.png", tmp_path / "noise.png"
    Image.new("1", (9400, 9400), 1).save(bomb)
    Image.frombytes("RGB", (400, 300), os.urandom(400 * 300 * 3)).resize((4000, 3000)).save(photo)
    refused, made = peak_memory(bomb), peak_memory(photo)
    print(
        f"\npeak memory of one preview: 9400x9400 PNG ({bomb.stat().st_size // 1024} KB): {refused}; "
        f"4000x3000 PNG: {made}"
    )
    assert refused.endswith("more than the 12,000,000 a preview may decode") and made.endswith("preview made")


def main(folder: Path) -> None:
    noise = Image.frombytes("RGB", (500, 375), os.urandom(500 * 375 * 3))
    images = {
        "noise-4000x3000.png": noise.resize((4000, 3000)),
        "noise-rgba-4000x3000.png": noise.convert("RGBA").resize((4000, 3000)),
        "photo-6000x4000.jpg": noise.resize((6000, 4000)),
        "white-9400x9400.png": Image.new("1", (9400, 9400), 1),
    }
    for name, im in images.items():
        im.save(folder / name)
        size = (folder / name).stat().st_size
        print(f"{name:28} {size / 1024:8.0f} KB  peak {peak_memory(folder / name)}")


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        main(Path(folder))
