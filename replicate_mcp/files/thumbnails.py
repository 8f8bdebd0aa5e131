"""Small previews of image files, small enough to hand to an agent inline."""

from __future__ import annotations

import io
import logging
import warnings
from pathlib import Path

from PIL import Image, ImageOps

logger = logging.getLogger(__name__)

# Only decoders for common raster formats; never EPS/PDF-like plugins that call out to other programs.
IMAGE_FORMATS = ["PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF"]
QUALITIES = (85, 75, 65, 50, 40, 30)
SMALL_PNG_PIXELS = 256 * 256


def make_thumbnail(path: Path, *, max_side: int = 512, max_bytes: int = 200_000) -> tuple[bytes, str] | None:
    """(bytes, mime) of a preview with its longest side <= max_side and at most max_bytes; None if not an image."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=IMAGE_FORMATS) as im:
                im.seek(0)
                im.draft("RGB", (max_side, max_side))  # JPEG: decode at reduced scale when possible
                im = ImageOps.exif_transpose(im) or im
                im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
                im.load()
                return _encode_within(im, max_bytes)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        logger.warning("not making a thumbnail of %s: too many pixels", path)
        return None
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types on unreadable or corrupt data
        logger.debug("no thumbnail for %s: %s", path, exc)
        return None


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
