"""Export the sampling animation as a GIF (one frame per raster step) and a frame as PNG,
sized for slides (1280 x 720): the code grid in the editor's palette next to the decoded
partial image. Pillow only (no Qt), files written atomically (safe_io.write_file_atomically)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from explorer.core.projection import text_colour_for
from explorer.core.safe_io import write_file_atomically
from explorer.core.sampling_session import SamplingSession, decode_grids, fill_unsampled, grey_unsampled
from explorer.ui.widgets.image_view import to_rgb8

SLIDE = (1280, 720)          # frame size in pixels (16:9)
PANEL = 560                  # side of the grid and of the image in a frame
FRAME_MS = 120               # GIF frame duration


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:                                  # Pillow < 10.1: one small bitmap font
        return ImageFont.load_default()


def render_frame(grid: np.ndarray, image: np.ndarray, palette: np.ndarray, title: str,
                 position: tuple[int, int] | None) -> Image.Image:
    """One slide: ``grid`` (h, w) int64 with -1 for not yet sampled, ``image`` (C, H, W) decoded."""
    frame = Image.new("RGB", SLIDE, "white")
    draw = ImageDraw.Draw(frame)
    size = 40
    while size > 20 and draw.textlength(title, font=_font(size)) > SLIDE[0] - 80:
        size -= 2                                      # a long title (class, kept cells) still fits
    draw.text((SLIDE[0] // 2, 50), title, fill="black", font=_font(size), anchor="mm")
    h, w = grid.shape
    s = PANEL // max(h, w)
    x0, y0 = 60, 110
    number_font = _font(max(10, int(s * 0.4)))
    for i in range(h):
        for j in range(w):
            code = int(grid[i, j])
            box = (x0 + j * s, y0 + i * s, x0 + (j + 1) * s - 1, y0 + (i + 1) * s - 1)
            if code < 0:
                draw.rectangle(box, fill=(225, 225, 225), outline=(170, 170, 170))
                continue
            rgb = tuple(int(c) for c in palette[code % len(palette)])
            draw.rectangle(box, fill=rgb, outline=(60, 60, 60))
            draw.text(((box[0] + box[2]) / 2, (box[1] + box[3]) / 2), str(code), fill=text_colour_for(rgb),
                      font=number_font, anchor="mm")
    if position is not None:
        i, j = position
        draw.rectangle((x0 + j * s, y0 + i * s, x0 + (j + 1) * s - 1, y0 + (i + 1) * s - 1),
                       outline=(255, 185, 0), width=max(3, s // 12))
    picture = Image.fromarray(to_rgb8(image)).resize((PANEL, PANEL), Image.NEAREST)
    frame.paste(picture, (SLIDE[0] - 60 - PANEL, y0))
    caption = _font(26)
    draw.text((x0 + PANEL // 2, y0 + PANEL + 24), "codes z, raster order", fill=(60, 60, 60), font=caption, anchor="mm")
    draw.text((SLIDE[0] - 60 - PANEL // 2, y0 + PANEL + 24), "decoded (grey: not sampled yet)", fill=(60, 60, 60),
              font=caption, anchor="mm")
    return frame


def _atomic_save(path: str | Path, save) -> Path:
    """``save(file object)`` into ``path`` atomically; a FIFO, device, symlink or folder there is
    refused (UnsafeOutput, an OSError) and a new file's mode honours the umask."""
    return write_file_atomically(path, save)


def save_png(frame: Image.Image, path: str | Path) -> Path:
    return _atomic_save(path, lambda tmp: frame.save(tmp, format="PNG"))


def save_gif(frames: list[Image.Image], path: str | Path, frame_ms: int = FRAME_MS) -> Path:
    """An animated GIF, one frame per given image, looping; the last frame held longer."""
    if not frames:
        raise ValueError("no frames to export")
    durations = [frame_ms] * (len(frames) - 1) + [frame_ms * 10]
    return _atomic_save(path, lambda tmp: frames[0].save(tmp, format="GIF", save_all=True,
                                                         append_images=frames[1:], duration=durations, loop=0,
                                                         optimize=False))


def frame_title(session: SamplingSession, t: int) -> str:
    """What the frame shows: the step, how it was drawn, the seed and, for a class-conditional
    prior, the class asked for."""
    s = session.settings
    what = "greedy" if s.greedy else f"T = {s.temperature:g}"
    kept = f" (first {session.kept} cells kept)" if session.kept else ""
    label = "" if s.label is None else f" · class {s.label}"
    return f"PixelCNN sampling{label} · step {t}/{session.total} · {what}{kept} · seed {s.seed}"


def export_run_gif(session: SamplingSession, vqvae, palette: np.ndarray, background_code: int,
                   path: str | Path) -> Path:
    """The session's whole run as a GIF, one frame per raster step; the session is not moved."""
    grids = session.frames()                                                  # T x (h, w)
    images = decode_grids(vqvae, np.stack([fill_unsampled(g, background_code) for g in grids]))
    frames = [render_frame(g, grey_unsampled(im, g), palette, frame_title(session, t + 1), session.position(t))
              for t, (g, im) in enumerate(zip(grids, images))]
    return save_gif(frames, path)


def export_frame_png(session: SamplingSession, vqvae, palette: np.ndarray, background_code: int,
                     path: str | Path) -> Path:
    """The session's current step as one slide (PNG)."""
    grid, t = session.grid(), session.t
    image = grey_unsampled(decode_grids(vqvae, fill_unsampled(grid, background_code)[None])[0], grid)
    position = session.position(t - 1) if t else None
    return save_png(render_frame(grid, image, palette, frame_title(session, t), position), path)
