"""Render resources/icons/batcher.svg to the PNG sizes, a Windows .ico and a macOS .icns.

Run after changing the SVG (`make icons`); the outputs are committed, so neither a build nor the
app needs this script.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ICONS = Path(__file__).resolve().parents[1] / "resources" / "icons"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication([])  # noqa: F841  (QPainter needs one)
    renderer = QSvgRenderer(str(ICONS / "batcher.svg"))
    if not renderer.isValid():
        print("batcher.svg is not a valid SVG", file=sys.stderr)
        return 1
    images = {}
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        image.save(str(ICONS / f"batcher-{size}.png"))
        images[size] = image
    images[256].save(str(ICONS / "batcher.ico"))  # Qt's ico writer: one 256 px entry
    images[512].save(str(ICONS / "batcher.icns"))
    print(f"wrote {len(SIZES)} PNGs, batcher.ico and batcher.icns to {ICONS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
