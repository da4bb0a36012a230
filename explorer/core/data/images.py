"""The one way this program reads an image file: :func:`read_image_file`.

Every reader of user images (folder datasets, ``score``, ``compress``, the Likelihood panel's
"score an image") goes through it, so the same promises hold everywhere:

* only the formats listed in :data:`SUPPORTED_FORMATS` are decoded, whatever the file's content
  claims: a PostScript, TIFF or any other file named ``a.png`` is refused before Pillow hands it
  to a plugin (Pillow's EPS plugin would run Ghostscript on it);
* only regular files are opened (a FIFO or device is refused without blocking);
* the size in the header is checked against :data:`MAX_IMAGE_PIXELS` before any pixel is
  decoded, so a small file announcing a huge image costs nothing;
* pixels become uint8 without float64 copies (16-bit values are scaled with integer arithmetic,
  float pixels stay float32 and NaN becomes 0 without a numpy warning).

Every problem raises :class:`~explorer.core.data.errors.DataError` with the file named.
"""
from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np

from ..safe_io import UnsafeInput, describe_error, open_regular_file, printable_path
from .errors import DataError

SUPPORTED_FORMATS: tuple[str, ...] = ("PNG", "JPEG", "BMP", "GIF", "WEBP")   # Pillow format ids
MAX_IMAGE_PIXELS = 1 << 25       # 33.5 M pixels (an 8K frame, 7680 x 4320, fits); the models use at most 4096²
MAX_IMAGE_FILE_BYTES = 1 << 28   # 256 MiB on disk


def read_image_file(path: str | os.PathLike[str], max_pixels: int = MAX_IMAGE_PIXELS) -> np.ndarray:
    """An image file as uint8 (H, W) when its content is gray, else (H, W, 3); DataError otherwise.

    Only PNG, JPEG, BMP, GIF and WebP are decoded (the first frame of an animation); the width
    times height in the file's header must be at most ``max_pixels``.
    """
    shown = printable_path(path)
    try:
        stream = open_regular_file(path)
    except UnsafeInput as exc:
        raise DataError(f"Could not read image {shown}: {exc}.") from None
    try:
        with stream:
            size = os.fstat(stream.fileno()).st_size
            if size > MAX_IMAGE_FILE_BYTES:
                raise DataError(f"Could not read image {shown}: the file is {size:,} bytes, more than the "
                                f"{MAX_IMAGE_FILE_BYTES:,} allowed.")
            return _decode(stream, shown, max_pixels)
    except DataError:
        raise
    except MemoryError:
        raise DataError(f"Could not read image {shown}: it is too large to decode.") from None
    except Exception as exc:  # Pillow raises many kinds for corrupt data: OSError, SyntaxError, ValueError, ...
        raise DataError(f"Could not read image {shown}: it is corrupt or truncated "
                        f"({describe_error(exc, 100)}).") from None


def _decode(stream: Any, shown: str, max_pixels: int) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")           # Pillow's DecompressionBombWarning: checked below instead
            image = Image.open(stream, formats=list(SUPPORTED_FORMATS))
    except UnidentifiedImageError:
        raise DataError(f"Could not read image {shown}: not a supported image file "
                        f"({', '.join(SUPPORTED_FORMATS)}).") from None
    except Image.DecompressionBombError:              # Pillow's own (higher) limit, met while reading the header
        raise DataError(f"Could not read image {shown}: it has more than the {max_pixels:,} pixels "
                        f"allowed.") from None
    with image:
        width, height = image.size
        if width < 1 or height < 1:
            raise DataError(f"Could not read image {shown}: it has no pixels ({width}x{height}).")
        if width * height > max_pixels:
            raise DataError(f"Could not read image {shown}: it is {width}x{height} pixels, more than the "
                            f"{max_pixels:,} pixels allowed.")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image.load()
        return image_to_uint8(image)


def image_to_uint8(image: Any) -> np.ndarray:
    """A decoded PIL image as uint8 (H, W) when its content is gray, else (H, W, 3).

    16-bit pixels are scaled to 8 bits by rounding v / 257 in integer arithmetic; 32-bit
    integer pixels above 255 are taken as 16-bit values; float pixels are clipped to [0, 255]
    in float32 (NaN -> 0). No float64 copy of the image is ever made.
    """
    mode = image.mode
    if mode.startswith("I"):                       # I;16, I;16B, I;16L, I;16N (uint16) or I (int32)
        values = np.asarray(image)
        wide = values.astype(np.int32 if values.dtype.kind == "i" else np.uint32)   # native, writable, 4 bytes
        del values
        if mode.startswith("I;16") or (wide.size and int(wide.max()) > 255):
            np.clip(wide, 0, 65535, out=wide)
            wide *= 2                                  # round(v / 257) = (2 v + 257) // 514, in place
            wide += 257
            wide //= 514
        else:
            np.clip(wide, 0, 255, out=wide)
        return wide.astype(np.uint8)
    if mode == "F":
        values = np.asarray(image, dtype=np.float32)
        with np.errstate(invalid="ignore", over="ignore"):
            values = np.nan_to_num(values, nan=0.0, posinf=255.0, neginf=0.0)
            return np.rint(np.clip(values, 0.0, 255.0)).astype(np.uint8)
    if mode in ("1", "L", "LA", "La"):
        return np.asarray(image.convert("L"), dtype=np.uint8)
    rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
    if (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all():
        return rgb[..., 0].copy()                  # colour file holding a gray picture
    return rgb
