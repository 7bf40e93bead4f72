"""The printable pause sign (本窗口暂停办理业务) with the window's ArUco marker, sized for the camera distance."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from counterwatch.config.schema import Camera, HallConfig, Window
from counterwatch.fonts import cjk_font
from models.markers import render_marker
from vision.signs import SIGN_TEXT

A4_LANDSCAPE_MM = (297.0, 210.0)
MARKER_TARGET_PX = 40.0  # marker side in the camera image: 6 cells incl. border, ~7 px per cell decodes reliably
MARKER_MIN_MM, MARKER_MAX_MM = 40.0, 120.0
OCR_MIN_CHAR_PX = 16.0  # RapidOCR needs about this many pixels per character


@dataclass(frozen=True)
class SignPlan:
    window_id: str
    marker_id: int
    marker_mm: float
    char_mm: float
    marker_px_at_camera: float
    char_px_at_camera: float
    warnings: tuple[str, ...]


def pixels_per_mm(camera: Camera) -> float:
    """Image pixels per millimetre of a flat object facing the camera at `distance_m` (pinhole model)."""
    scene_width_mm = 2.0 * camera.distance_m * 1000.0 * math.tan(math.radians(camera.horizontal_fov_deg) / 2.0)
    return camera.width_px / scene_width_mm


def _fixes(camera: Camera, needed_ppmm: float) -> str:
    """The camera set-ups that give `needed_ppmm`: each changed alone, the others as configured."""
    ppmm = pixels_per_mm(camera)
    distance = camera.distance_m * ppmm / needed_ppmm
    half_fov = math.atan(camera.width_px / (2.0 * camera.distance_m * 1000.0 * needed_ppmm))
    width = math.ceil(camera.width_px * needed_ppmm / ppmm)
    fov = math.degrees(2 * half_fov)
    return f"mount the camera at most {distance:.1f} m away, or use a lens of at most {fov:.0f}°, or a stream of at " \
           f"least {width} px wide"


def plan_sign(window: Window, camera: Camera) -> SignPlan:
    """The marker and text sizes of a window's A4 sign for its camera; each warning says what would fix it."""
    ppmm = pixels_per_mm(camera)
    wanted_mm = MARKER_TARGET_PX / ppmm
    marker_mm = min(max(wanted_mm, MARKER_MIN_MM), MARKER_MAX_MM)
    char_mm = (A4_LANDSCAPE_MM[0] - 30.0) / len(SIGN_TEXT)
    warnings = []
    if wanted_mm > MARKER_MAX_MM:
        warnings.append(
            f"at {camera.distance_m} m with a {camera.horizontal_fov_deg}° lens and {camera.width_px} px the marker "
            f"would need {wanted_mm:.0f} mm; the A4 sign holds {MARKER_MAX_MM:.0f} mm ({marker_mm * ppmm:.0f} px): "
            f"{_fixes(camera, MARKER_TARGET_PX / MARKER_MAX_MM)}; or print the page at A3 "
            f"(x{math.sqrt(2):.2f}: a {MARKER_MAX_MM * math.sqrt(2):.0f} mm marker) if that is enough")
    if char_mm * ppmm < OCR_MIN_CHAR_PX:
        warnings.append(
            f"sign characters will be {char_mm * ppmm:.0f} px tall at the camera (OCR needs {OCR_MIN_CHAR_PX:.0f}); "
            f"the text confirmer will not read it there, the marker alone decides; for the text as well: "
            f"{_fixes(camera, OCR_MIN_CHAR_PX / char_mm)}")
    return SignPlan(window.id, window.pause_marker_id, marker_mm, char_mm, marker_mm * ppmm, char_mm * ppmm,
                    tuple(warnings))


def render_sign(window: Window, plan: SignPlan, *, dpi: int = 200) -> Image.Image:
    """An A4 landscape page as an RGB image: the sign text, the marker, and a footer naming the window."""
    if not 72 <= dpi <= 600:
        raise ValueError(f"dpi must be within 72..600, got {dpi}")
    px_per_mm = dpi / 25.4
    width, height = (round(v * px_per_mm) for v in A4_LANDSCAPE_MM)
    page = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(page)

    font = cjk_font(round(plan.char_mm * px_per_mm))
    text_box = draw.textbbox((0, 0), SIGN_TEXT, font=font)
    text_x = (width - (text_box[2] - text_box[0])) // 2 - text_box[0]
    text_y = round(12 * px_per_mm) - text_box[1]
    draw.text((text_x, text_y), SIGN_TEXT, font=font, fill="black")

    marker_px = round(plan.marker_mm * px_per_mm)
    marker = render_marker(plan.marker_id, marker_px)
    top = round(12 * px_per_mm) + int(text_box[3] - text_box[1]) + round(10 * px_per_mm)
    available = height - top - round(22 * px_per_mm)
    marker_px = min(marker_px, available)
    marker = np.asarray(Image.fromarray(marker).resize((marker_px, marker_px), Image.Resampling.NEAREST))
    left = (width - marker_px) // 2
    page.paste(Image.fromarray(marker).convert("RGB"), (left, top + (available - marker_px) // 2))

    footer = cjk_font(round(6 * px_per_mm))
    caption = f"{window.name}  ·  {window.id}  ·  marker {plan.marker_id}"
    box = draw.textbbox((0, 0), caption, font=footer)
    draw.text(((width - (box[2] - box[0])) // 2, height - round(14 * px_per_mm)), caption, font=footer, fill="#444")
    return page


def write_sign(page: Image.Image, out: Path, *, dpi: int = 200) -> None:
    suffix = out.suffix.lower()
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".png":
        page.save(out, dpi=(dpi, dpi))
    elif suffix == ".pdf":
        page.save(out, "PDF", resolution=float(dpi))
    else:
        raise ValueError(f"sign output must end in .png or .pdf, got {out.name}")


def sign_images(config: HallConfig, *, dpi: int = 100) -> dict[str, np.ndarray]:
    """Every window's sign page as a BGR image (for rendering scenes in which the sign is shown)."""
    pages = {}
    for window in config.windows:
        camera, _ = config.view_of(window.id)
        page = render_sign(window, plan_sign(window, camera), dpi=dpi)
        pages[window.id] = np.ascontiguousarray(np.asarray(page)[:, :, ::-1])
    return pages
