"""Scans made from real reports: real agencies' layouts, printed and degraded as a scanner
office degrades paper.

The generated reports of :mod:`benchmarks.corpus` share one layout, one font and one
printer; a real report brings its own: a WPS-made county report with serif fonts (淮安, the
text PDF of ``simweb/corpus``), and the published HTML of 平潭's agencies
(``../shared/real/pingtan/*/*/article.html``, read in place, never copied into the project)
printed to PDF by Chromium (sans digits; labels wrapped and centred as the page's own
widths make them) and by LibreOffice (serif digits; rows broken across pages where the
page ends). Their cells were read by hand: 淮安's in ``tests/fixtures/real/expected``,
平潭's in the same folder on the branch ``truth`` (read with ``git show`` when the working
tree does not have them); a key the record lacks is unknown and not counted.

Each printed page is then scanned under one of :data:`CONDITIONS` at a resolution:
rasterised, turned, blurred, specked with dust, a red seal stamped over table 3's numbers
(or the same seal scanned in grey, where its ink darkens the digits it covers), a page
photographed slightly out of plane, stored as JPEG with no text layer. Everything random
is drawn from a generator seeded with the layout, the condition, the resolution and the
page, so a run elsewhere reads the same pictures (given the same printers and fonts: the
SHA-256 of each printed PDF is in :func:`RealLayout.fingerprint`).

The material is outside the project: without it, :func:`layouts` raises
:class:`Unavailable` with the reason, and the benchmark and the tests skip with it.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import random
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The real reports the scans are made from: beside the project, or where this names.
SHARED_REAL = Path(os.environ.get("NIANBAO_SHARED_REAL") or ROOT.parent / "shared" / "real")
EXPECTED = ROOT / "tests" / "fixtures" / "real" / "expected"
HUAIAN = ROOT / "simweb" / "corpus" / "huaian-szf-2024.pdf"
TRUTH_BRANCH = "truth"
PRINTERS = ("chromium", "libreoffice")


class Unavailable(Exception):
    """The real material (or a printer) is not on this machine; the message says which."""


@dataclass(frozen=True)
class Condition:
    """How the pages were scanned, besides the resolution."""

    name: str
    skew: bool = False  # turned by up to 2°
    noise: bool = False  # sensor noise, dust and specks, a stronger blur
    seal: bool = False  # a red seal stamped over table 3's numbers
    grey: bool = False  # scanned in grey levels (the seal's red becomes grey ink)
    photo: bool = False  # photographed slightly out of plane, lit unevenly
    quality: int = 80  # JPEG quality


CONDITIONS = (
    Condition("clean", quality=85),
    Condition("skewed-noisy", skew=True, noise=True),
    Condition("red-seal", skew=True, noise=True, seal=True),
    Condition("grey-seal", skew=True, noise=True, seal=True, grey=True),
    Condition("photographed", noise=True, photo=True, quality=75),
)
DPIS = (300, 200, 150)


@dataclass(frozen=True)
class RealLayout:
    """One real report as one printer laid it out: its PDF and its hand-checked cells."""

    report: str  # the id of its expected record: pingtan-ptzhsyqgyz-2023, huaian-szf-2024
    printer: str  # wps (the agency's own PDF), chromium, libreoffice
    source: Path  # the agency's PDF or published article HTML
    title: str
    agency: str

    @property
    def id(self) -> str:
        return f"{self.report}/{self.printer}"

    def expected(self) -> dict:
        """The hand-checked record (tables, template)."""
        return expected_record(self.report)

    def pdf(self) -> bytes:
        """The report as a text PDF, as its printer makes it."""
        return _printed(self.source, self.printer, self.title)

    def fingerprint(self) -> str:
        """The printed PDF's SHA-256 (its first 12 digits): the pictures of two runs are
        the same when these are."""
        return hashlib.sha256(self.pdf()).hexdigest()[:12]


def expected_record(report: str) -> dict:
    """A real report's hand-checked record: from ``tests/fixtures/real/expected`` when the
    working tree has it, else from the branch ``truth``."""
    path = EXPECTED / f"{report}.json"
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    rel = path.relative_to(ROOT).as_posix()
    try:
        shown = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{TRUTH_BRANCH}:{rel}"],
            capture_output=True,
            check=True,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise Unavailable(
            f"the hand-checked cells of {report} are neither in {EXPECTED} nor on the "
            f"branch {TRUTH_BRANCH!r} ({exc})"
        ) from exc
    return json.loads(shown.stdout.decode("utf-8"))


def layouts(printers: tuple[str, ...] = PRINTERS) -> list[RealLayout]:
    """Every real layout: 淮安's WPS PDF, and each 平潭 article printed by each printer.
    Raises :class:`Unavailable` when the material or a printer is missing."""
    pingtan = SHARED_REAL / "pingtan"
    articles = sorted(pingtan.glob("*/*/article.html"))
    if not articles:
        raise Unavailable(
            f"the real reports are not here: no {pingtan}/*/*/article.html "
            "(set NIANBAO_SHARED_REAL to the folder holding pingtan/)"
        )
    for printer in printers:
        _printer_command(printer)  # raises Unavailable when it is not installed
    out = [RealLayout("huaian-szf-2024", "wps", HUAIAN, "", "淮安市人民政府")]
    for article in articles:
        source = json.loads((article.parent / "source.json").read_text(encoding="utf-8"))
        report = f"pingtan-{article.parent.parent.name}-{article.parent.name}"
        for printer in printers:
            out.append(RealLayout(report, printer, article, source["title"], source["agency"]))
    return out


# --- printing --------------------------------------------------------------------------------


def _printer_command(printer: str) -> str:
    names = {"chromium": ("chromium", "chromium-browser"), "libreoffice": ("soffice",)}
    for name in names.get(printer, ()):
        if shutil.which(name):
            return str(shutil.which(name))
    if printer == "wps":
        return ""
    raise Unavailable(f"{printer} is not installed: the real articles cannot be printed by it")


def _page(article: Path, title: str) -> str:
    """The article as a browser shows it on its own: the report's title above the agency's
    published body (the comment line of provenance dropped), on A4."""
    body = article.read_text(encoding="utf-8")
    if body.startswith("<!--"):
        body = body[body.index("-->") + 3 :]
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f"<title>{title}</title><style>@page{{size:A4}}</style></head><body>"
        f'<h2 style="text-align:center">{title}</h2>{body}</body></html>'
    )


@cache
def _printed(source: Path, printer: str, title: str) -> bytes:
    if printer == "wps":
        return source.read_bytes()
    command = _printer_command(printer)
    with tempfile.TemporaryDirectory(prefix="nianbao-realscan-") as tmp:
        html = Path(tmp) / "report.html"
        html.write_text(_page(source, title), encoding="utf-8")
        if printer == "chromium":
            pdf = Path(tmp) / "out.pdf"
            args = [
                command,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                f"--user-data-dir={tmp}/profile",
                "--no-pdf-header-footer",
                f"--print-to-pdf={pdf}",
                html.as_uri(),
            ]
        else:
            pdf = Path(tmp) / "report.pdf"
            args = [
                command,
                f"-env:UserInstallation=file://{tmp}/profile",
                "--headless",
                "--convert-to",
                "pdf:writer_web_pdf_Export",
                "--outdir",
                tmp,
                str(html),
            ]
        subprocess.run(args, capture_output=True, timeout=300, check=True)
        return pdf.read_bytes()


# --- scanning --------------------------------------------------------------------------------


def table3_spot(pdf_bytes: bytes) -> tuple[int, float, float] | None:
    """Where a seal over table 3's numbers goes: (page, x, y) as fractions of the page, at
    the rows of its outcomes (below 「本年新收」, over the number columns)."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(pdf_bytes)
    try:
        for i in range(len(pdf)):
            page = pdf[i]
            text = page.get_textpage()
            for words in ("本年新收", "新收政府信息"):
                found = text.search(words).get_next()
                if found:
                    _, _, _, top = text.get_charbox(found[0])
                    height = page.get_height()
                    y = (height - top) / height + 0.12
                    if y > 0.8 and i + 1 < len(pdf):
                        return i + 1, 0.68, 0.2  # the outcomes are on the next page
                    return i, 0.68, min(0.8, y)
    finally:
        pdf.close()
    return None


def scan(pdf_bytes: bytes, condition: Condition, dpi: int, seed: str, agency: str = "") -> bytes:
    """A text PDF scanned: a PDF of JPEG page pictures at ``dpi``, no text layer, each
    picture the scanner's JPEG as it wrote it (embedded, not encoded again)."""
    import pypdfium2 as pdfium

    out = pdfium.PdfDocument.new()
    try:
        for i in range(_pages(pdf_bytes)):
            jpeg = scan_jpeg(pdf_bytes, i, condition, dpi, seed, agency)
            picture = pdfium.PdfImage.new(out)
            picture.load_jpeg(io.BytesIO(jpeg), inline=True)
            width, height = picture.get_px_size()
            w, h = width * 72 / dpi, height * 72 / dpi
            page = out.new_page(w, h)
            picture.set_matrix(pdfium.PdfMatrix().scale(w, h))
            page.insert_obj(picture)
            page.gen_content()
        buf = io.BytesIO()
        out.save(buf)
        return buf.getvalue()
    finally:
        out.close()


def _pages(pdf_bytes: bytes) -> int:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(pdf_bytes)
    try:
        return len(pdf)
    finally:
        pdf.close()


def scan_page(pdf_bytes: bytes, index: int, condition: Condition, dpi: int, seed: str, agency=""):
    """One page of a text PDF as the scanner stores it, decoded: a PIL picture (RGB, or
    grey for a grey scan)."""
    from PIL import Image

    return Image.open(io.BytesIO(scan_jpeg(pdf_bytes, index, condition, dpi, seed, agency)))


def scan_jpeg(
    pdf_bytes: bytes, index: int, condition: Condition, dpi: int, seed: str, agency: str = ""
) -> bytes:
    """One page of a text PDF as the scanner stores it: JPEG at the condition's quality."""
    import numpy as np
    import pypdfium2 as pdfium
    from PIL import Image, ImageFilter

    from simweb import render

    rng = random.Random(f"realscan:{seed}:{condition.name}:{dpi}:{index}")
    pdf = pdfium.PdfDocument(pdf_bytes)
    try:
        page = pdf[index].render(scale=dpi / 72).to_pil().convert("RGB")
    finally:
        pdf.close()
    spot = table3_spot(pdf_bytes) if condition.seal else None
    if spot is not None and spot[0] == index:
        at = (int(page.width * (spot[1] + rng.uniform(-0.04, 0.04))), int(page.height * spot[2]))
        page = render._stamp(page, agency, dpi, rng, at=at)
    if condition.photo:
        page = _out_of_plane(page, rng)
    if condition.skew:
        angle = rng.choice([-1, 1]) * rng.uniform(0.4, 2.0)
        page = page.rotate(angle, resample=Image.BICUBIC, fillcolor=(255, 255, 255))
    blur = (0.45 if condition.noise else 0.3) * dpi / 200
    page = page.filter(ImageFilter.GaussianBlur(blur))
    pixels = np.asarray(page, dtype=np.float32) * np.float32(rng.uniform(0.9, 0.97))
    if condition.noise:
        noise = np.random.default_rng(rng.randrange(2**32))
        pixels += noise.normal(0.0, 7.0, pixels.shape[:2])[..., None].astype(np.float32)
        dust = noise.random(pixels.shape[:2]) < 0.0004
        pixels[dust] = 40.0
        _specks(pixels, noise, dpi)
    picture = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
    if condition.grey:
        picture = picture.convert("L")
    buf = io.BytesIO()
    picture.save(buf, format="JPEG", quality=condition.quality, dpi=(dpi, dpi))
    return buf.getvalue()


def _specks(pixels, noise, dpi: int) -> None:
    """Specks of dust and toner a few pixels across, scattered over the page."""
    h, w = pixels.shape[:2]
    count = int(h * w / (dpi * dpi) * 3)  # about three a square inch
    ys = noise.integers(0, h, count)
    xs = noise.integers(0, w, count)
    radii = noise.uniform(0.5, max(1.0, dpi / 150), count)
    for y, x, r in zip(ys, xs, radii, strict=True):
        k = int(math.ceil(r))
        patch = pixels[max(0, y - k) : y + k + 1, max(0, x - k) : x + k + 1]
        patch[...] = patch.clip(max=70.0)  # a view: the page's own pixels darkened


def _out_of_plane(page, rng: random.Random):
    """The page photographed slightly out of plane: its corners moved by up to 1.2 % of
    its width (a keystone), and lit more brightly on one side than the other."""
    import cv2
    import numpy as np
    from PIL import Image

    pixels = np.asarray(page)
    h, w = pixels.shape[:2]
    reach = 0.012 * w
    corners = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    moved = corners + np.float32(
        [[rng.uniform(-reach, reach), rng.uniform(-reach, reach)] for _ in range(4)]
    )
    warp = cv2.getPerspectiveTransform(corners, moved)
    pixels = cv2.warpPerspective(
        pixels, warp, (w, h), flags=cv2.INTER_LINEAR, borderValue=(255, 255, 255)
    )
    light = np.linspace(rng.uniform(0.86, 0.95), 1.0, w, dtype=np.float32)
    if rng.random() < 0.5:
        light = light[::-1]
    pixels = (pixels.astype(np.float32) * light[None, :, None]).clip(0, 255).astype(np.uint8)
    return Image.fromarray(pixels, "RGB")
