"""Small previews of image files, small enough to hand to an agent inline.

`stored_preview` makes a file's preview once and keeps it beside the file (a hidden `.<name>.preview.<ext>`,
never offered as an input), so showing a prediction again reads a few kilobytes instead of decoding the image.
A preview is never larger than the file: a small enough original is sent as it is.
"""

from __future__ import annotations

import io
import logging
import warnings
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

logger = logging.getLogger(__name__)

# Only decoders for common raster formats; never EPS/PDF-like plugins that call out to other programs.
IMAGE_FORMATS = ["PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF"]
QUALITIES = (85, 75, 65, 50, 40, 30)
SMALL_PNG_PIXELS = 256 * 256
# Decoded, most modes take 4 bytes a pixel: 12 M pixels (4000 x 3000) is 48 MB,
# nearly all of one preview's memory.
MAX_DECODED_PIXELS = 12_000_000
STRIP_PIXELS = 1 << 18  # rows converted and reduced at a time


INLINE_MIMES = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"}
_EXTENSION_MIMES = {ext: mime for mime, ext in INLINE_MIMES.items()}


def _preview_name(path: Path, tag: str) -> Path:
    return path.with_name(f".{path.name}.preview.{tag}")


def stored_preview(path: Path, mime: str | None, *, max_bytes: int = 200_000) -> tuple[bytes, str] | None:
    """(bytes, mime) to show for the image at `path`: its kept preview, made and kept the first time."""
    for tag in (*_EXTENSION_MIMES, "original", "none"):
        kept = _preview_name(path, tag)
        if kept.is_file():
            if tag == "none":
                return None
            if tag == "original":
                return path.read_bytes(), str(mime)
            return kept.read_bytes(), _EXTENSION_MIMES[tag]
    size = path.stat().st_size
    preview = make_thumbnail(path, max_bytes=max_bytes)
    if mime in INLINE_MIMES and size <= max_bytes and (preview is None or len(preview[0]) >= size):
        _keep(path, "original", b"")
        return path.read_bytes(), str(mime)
    if preview is None:
        _keep(path, "none", b"")
        return None
    _keep(path, INLINE_MIMES[preview[1]], preview[0])
    return preview


def _keep(path: Path, tag: str, data: bytes) -> None:
    target = _preview_name(path, tag)
    partial = target.with_name(target.name + ".part")
    try:
        partial.write_bytes(data)
        partial.replace(target)
    except OSError as exc:  # a read-only or full disk: show the preview anyway, make it again next time
        logger.info("preview of %s not kept: %s", path, exc)
        partial.unlink(missing_ok=True)


def make_thumbnail(path: Path, *, max_side: int = 512, max_bytes: int = 200_000) -> tuple[bytes, str] | None:
    """(bytes, mime) of a preview with its longest side <= max_side and at most max_bytes;
    None if there is none."""
    return try_thumbnail(path, max_side=max_side, max_bytes=max_bytes)[0]


def try_thumbnail(
    path: Path, *, max_side: int = 512, max_bytes: int = 200_000, max_pixels: int = MAX_DECODED_PIXELS
) -> tuple[tuple[bytes, str] | None, str | None]:
    """(preview, None), or (None, a short reason why there is none). Never raises for a bad or huge file.

    Memory stays bounded: the size in the header is checked against `max_pixels` before any pixel is decoded,
    JPEGs are decoded at a reduced scale (draft), and the image is reduced by an integer factor before the
    high-quality resize, so the largest allocation is the decoded image itself.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=IMAGE_FORMATS) as im:
                im.seek(0)
                im.draft("RGB", (max_side, max_side))  # JPEG: decode at 1/2 to 1/8 scale when possible
                width, height = im.size
                if width * height > max_pixels:
                    reason = f"{width}x{height} pixels, more than the {max_pixels:,} a preview may decode"
                    logger.info("no thumbnail for %s: %s", path, reason)
                    return None, reason
                im.load()
                small = _shrink(im, max_side)
                small = ImageOps.exif_transpose(small) or small
                preview = _encode_within(small, max_bytes)
                return (preview, None) if preview else (None, f"no preview fits in {max_bytes:,} bytes")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        logger.info("no thumbnail for %s: too many pixels", path)
        return None, "too many pixels to decode a preview"
    except UnidentifiedImageError:
        return None, f"not an image in a previewable format ({', '.join(IMAGE_FORMATS)})"
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types on unreadable or corrupt data
        logger.debug("no thumbnail for %s: %s", path, exc)
        return None, f"unreadable image ({type(exc).__name__})"


def _shrink(im: Image.Image, max_side: int) -> Image.Image:
    """A copy no larger than max_side, in RGB or RGBA, without any other full-size copy of `im`.

    Pillow's reduce and resize premultiply an RGBA image into a full-size copy, and a palette image would be
    converted whole; here each band of rows is converted and reduced by an integer factor on its own, then the
    small result is resized with LANCZOS.
    """
    mode = "RGBA" if _has_alpha(im) else "RGB"
    factor = max(1, max(im.size) // (2 * max_side))
    width, height = im.size
    small = Image.new(mode, (-(-width // factor), -(-height // factor)))
    rows = factor * max(1, STRIP_PIXELS // (width * factor))
    for top in range(0, height, rows):
        strip = im.crop((0, top, width, min(height, top + rows))).convert(mode)
        small.paste(strip.reduce(factor) if factor > 1 else strip, (0, top // factor))
    small.thumbnail((max_side, max_side), Image.Resampling.LANCZOS, reducing_gap=None)
    small.info = im.info  # keeps the EXIF orientation for exif_transpose
    return small


def _has_alpha(im: Image.Image) -> bool:
    return im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)


def _encode_within(im: Image.Image, max_bytes: int) -> tuple[bytes, str] | None:
    alpha = _has_alpha(im)
    im = im.convert("RGBA" if alpha else "RGB")
    while True:
        if alpha or im.width * im.height <= SMALL_PNG_PIXELS:
            data = _save(im, "PNG", optimize=True)
            if len(data) <= max_bytes:
                return data, "image/png"
        fmt, mime = ("WEBP", "image/webp") if alpha else ("JPEG", "image/jpeg")
        for quality in QUALITIES:
            data = _save(im, fmt, quality=quality)
            if len(data) <= max_bytes:
                return data, mime
        if max(im.size) <= 16:
            return None
        im = im.resize((max(1, im.width * 3 // 4), max(1, im.height * 3 // 4)), Image.Resampling.LANCZOS)


def _save(im: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, fmt, **options)
    return buffer.getvalue()
