"""Ruled tables of a PDF page read with PDFium: the fast path of the PDF reader.

pdfplumber's table finder is right on every report measured, but most of its
time goes into pdfminer interpreting each page in Python. The same ruled-grid
method runs here on what PDFium already knows: the page's drawn paths become
horizontal and vertical edges, pdfplumber's own functions snap and join them
and turn their intersections into cells and tables, and each cell's text is
the text PDFium finds inside the cell's box. The PDF reader checks the result
and falls back to pdfplumber when it is not a complete report (see ``pdf.py``).
"""

from __future__ import annotations

from archive.parse.document import Grid

SNAP = 3.0  # pdfplumber's default snap/join/intersection tolerances, in points
MIN_EDGE = 3.0
# A closed path thinner than this is a drawn rule, not a box (WPS draws rules as thin fills).
RULE_WIDTH = 2.5


def _segments(obj) -> list[tuple[float, float, float, float]]:
    """The straight segments of a path object, in page coordinates (PDF space)."""
    import ctypes

    import pypdfium2.raw as raw

    a, b, c, d, e, f = obj.get_matrix().get()
    count = raw.FPDFPath_CountSegments(obj)
    x, y = ctypes.c_float(), ctypes.c_float()
    points: list[tuple[float, float, int, bool]] = []
    for i in range(max(count, 0)):
        seg = raw.FPDFPath_GetPathSegment(obj, i)
        raw.FPDFPathSegment_GetPoint(seg, x, y)
        px, py = a * x.value + c * y.value + e, b * x.value + d * y.value + f
        points.append(
            (px, py, raw.FPDFPathSegment_GetType(seg), bool(raw.FPDFPathSegment_GetClose(seg)))
        )
    out = []
    start = None
    prev = None
    for px, py, kind, close in points:
        if kind == raw.FPDF_SEGMENT_MOVETO or prev is None:
            start = prev = (px, py)
            continue
        if kind == raw.FPDF_SEGMENT_LINETO:
            out.append((prev[0], prev[1], px, py))
        prev = (px, py)
        if close and start is not None:
            out.append((px, py, start[0], start[1]))
            prev = start
    return out


def _edge(x0: float, top: float, x1: float, bottom: float, orientation: str) -> dict:
    return {
        "x0": x0,
        "x1": x1,
        "top": top,
        "bottom": bottom,
        "doctop": top,
        "width": x1 - x0,
        "height": bottom - top,
        "orientation": orientation,
    }


def page_edges(page, paths: list | None = None) -> list[dict]:
    """Horizontal and vertical edges of the page's drawn paths (top-down coordinates).

    ``paths`` are the page's path objects when the caller has already listed them."""
    import pypdfium2.raw as raw

    height = page.get_height()
    edges = []
    if paths is None:
        paths = list(page.get_objects(filter=[raw.FPDF_PAGEOBJ_PATH], max_depth=3))
    for obj in paths:
        left, bottom, right, top = obj.get_bounds()
        if right - left <= RULE_WIDTH and top - bottom >= MIN_EDGE:
            mid = (left + right) / 2  # a thin filled bar is one vertical rule
            edges.append(_edge(mid, height - top, mid, height - bottom, "v"))
            continue
        if top - bottom <= RULE_WIDTH and right - left >= MIN_EDGE:
            mid = height - (top + bottom) / 2
            edges.append(_edge(left, mid, right, mid, "h"))
            continue
        for x0, y0, x1, y1 in _segments(obj):
            if abs(y0 - y1) < 0.5 and abs(x1 - x0) >= MIN_EDGE:
                edges.append(_edge(min(x0, x1), height - y0, max(x0, x1), height - y0, "h"))
            elif abs(x0 - x1) < 0.5 and abs(y1 - y0) >= MIN_EDGE:
                edges.append(_edge(x0, height - max(y0, y1), x0, height - min(y0, y1), "v"))
    return edges


def _page_break_edges(edges: list[dict]) -> list[dict]:
    """Close a table that a page break cut open.

    A browser printing a table row across two pages draws the row's cell walls down to the
    end of the first page and from the top of the next, with no rule at the break: the
    half rows have no bottom (or top) edge, so no cell is found in them and the row —
    label, numbers and all — would vanish. Where vertical rules run past the last (or
    before the first) horizontal rule they meet, the break is the missing rule."""
    hs = [e for e in edges if e["orientation"] == "h"]
    vs = [e for e in edges if e["orientation"] == "v"]
    if not hs or len(vs) < 2:
        return []
    added = []
    for end, beyond in (("bottom", max), ("top", min)):
        rule = beyond(e["top"] for e in hs)  # the lowest / highest horizontal rule
        # Walls that cross the outermost rule run on past it (it is the outermost).
        past = [e for e in vs if e["top"] < rule - SNAP and e["bottom"] > rule + SNAP]
        if len(past) < 2:
            continue
        y = beyond(e[end] for e in past)
        x0, x1 = min(e["x0"] for e in past), max(e["x1"] for e in past)
        added.append(_edge(x0, y, x1, y, "h"))
    return added


def page_grids(page, textpage, paths: list | None = None) -> list[Grid]:
    """The ruled tables of one page as grids of cell texts (``None``: covered by a merge)."""
    from pdfplumber.table import (
        Table,
        cells_to_tables,
        edges_to_intersections,
        intersections_to_cells,
        merge_edges,
    )

    edges = page_edges(page, paths)
    if len(edges) < 4:
        return []
    edges = merge_edges(edges, SNAP, SNAP, SNAP, SNAP)
    edges = [
        e for e in edges if (e["width"] if e["orientation"] == "h" else e["height"]) >= MIN_EDGE
    ]
    edges += _page_break_edges(edges)
    cells = intersections_to_cells(edges_to_intersections(edges, SNAP, SNAP))
    height = page.get_height()
    grids: list[Grid] = []
    for group in sorted(
        cells_to_tables(cells), key=lambda g: (min(c[1] for c in g), min(c[0] for c in g))
    ):
        table = Table(None, group)
        grid: Grid = []
        for row in table.rows:
            grid.append(
                [None if box is None else _cell_text(textpage, box, height) for box in row.cells]
            )
        grids.append(grid)
    return grids


def _cell_text(textpage, box: tuple[float, float, float, float], height: float) -> str:
    x0, top, x1, bottom = box
    text = textpage.get_text_bounded(left=x0, bottom=height - bottom, right=x1, top=height - top)
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()
