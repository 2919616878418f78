"""A label as the file a browser or a printer asked for: PNG, SVG, ZPL II, or a 4 × 6 in PDF page."""

from __future__ import annotations

from typing import Any

from litestar import Response

from server.labels.kinds import Label
from server.labels.sheets import labels_pdf
from server.labels.zpl import label_zpl

LABEL_MEDIA_TYPES = {"png": "image/png", "svg": "image/svg+xml", "zpl": "application/x-zpl", "pdf": "application/pdf"}


def label_response(label: Label, file_format: str, filename: str | None = None, title: str | None = None) -> Response[Any]:
    if file_format == "png":
        body: bytes | str = label.png()
    elif file_format == "svg":
        body = label.svg()
    elif file_format == "zpl":
        body = label_zpl(label)
    else:
        body = labels_pdf([label], "4x6", title=title or filename or "label")
    headers = {"content-disposition": f'inline; filename="{filename}.{file_format}"'} if filename else None
    return Response(body, media_type=LABEL_MEDIA_TYPES[file_format], headers=headers)
