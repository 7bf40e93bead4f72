"""The CJK font used for anything the project renders with Chinese text (pause signs, reports)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from PIL import ImageFont


class FontMissing(RuntimeError):
    pass


@lru_cache(maxsize=1)
def cjk_font_path() -> Path:
    """Noto Sans CJK (SIL OFL 1.1), installed from PyPI as `cvttf-NotoSansCJK-Regular`."""
    try:
        import cvttf_NotoSansCJK_Regular as package
    except ImportError:
        raise FontMissing("the CJK font package is not installed: pip install cvttf-NotoSansCJK-Regular==1.0 "
                          "(make demo / make test install it)") from None
    try:
        return Path(package.get_TTF_path())
    except FileNotFoundError as exc:
        raise FontMissing(f"the CJK font file is missing ({exc}); reinstall cvttf-NotoSansCJK-Regular==1.0") from None


def cjk_font(size_px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(cjk_font_path()), size=size_px)
