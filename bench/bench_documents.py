"""Documents benchmark: check_image on a 12-megapixel phone JPEG beside a bare Pillow decode of the same
file (same run), the memory one check takes, and the agreement PDF. Then the reading of stamped photos
(documents/recognition.py) on 12 MP photos of our own agreement: Pillow checks alone, + QR, + QR and OCR, time
per photo on one core and peak memory of the reading process. Prints figures.

    .venv/bin/python -m bench.bench_documents [--runs 30] [--pdf-runs 20] [--photo-runs 5]
"""
from __future__ import annotations

import argparse
import functools
import io
import json
import subprocess
import sys
import tempfile
import time
import tracemalloc

from PIL import Image
from pypdf import PdfReader
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from bench.common import PY, ROOT
from documents import fonts
from documents.images import check_image
from documents.pdf import render_agreement_pdf
from tests.image_corpus import phone_photo
from tests.test_agreement_pdf import RARE_NAME, agreement

# In a fresh process, on Linux: reset the peak-RSS mark (clear_refs 5), run the operation once, and report
# how far the peak rose above the resident size before it. Pillow's pixel buffers are not seen by tracemalloc.
MEMORY_PROBE = """
import io, json, sys
from PIL import Image
from pypdf import PdfReader
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas
from documents import fonts
from documents.images import check_image
def status(key):
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith(key + ":"))
data = open(sys.argv[2], "rb").read()
open("/proc/self/clear_refs", "w").write("5")
before = status("VmRSS")
if sys.argv[1] == "check":
    check_image("stamped-agreement", data)
else:
    Image.open(io.BytesIO(data)).load()
print(json.dumps({"delta_kib": status("VmHWM") - before}))
"""


# The reading process as the pool runs it: the engine loaded, then one checked 12 MP photo read (the Pillow
# checks run in the server, above). VmHWM is the peak resident size of the whole process (interpreter,
# onnxruntime, models, pixels).
READING_PROBE = """
import json, sys
from documents.recognition import load_engine, read_photo
def status(key):
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith(key + ":"))
data = open(sys.argv[2], "rb").read()
load_engine()
loaded = status("VmRSS")
open("/proc/self/clear_refs", "w").write("5")
read_photo(data, ocr=sys.argv[1] == "ocr")
print(json.dumps({"loaded_kib": loaded, "peak_kib": status("VmHWM")}))
"""


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def bare_decode(data: bytes) -> None:
    Image.open(io.BytesIO(data)).load()


def rss_delta_mib(what: str, path: str) -> float:
    out = subprocess.run([PY, "-c", MEMORY_PROBE, what, path], cwd=ROOT, check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out)["delta_kib"] / 1024


def minimal_canvas(lines: list[str]) -> bytes:
    """The baseline: the agreement's text line by line on A4 pages in the body font, nothing else."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    y = A4[1] - 60
    for line in lines:
        if y < 60:
            pdf.showPage()
            y = A4[1] - 60
        pdf.setFont(fonts.BODY.name, 10.5)
        pdf.drawString(57, y, line)
        y -= 16
    pdf.save()
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--pdf-runs", type=int, default=20)
    parser.add_argument("--photo-runs", type=int, default=5)
    args = parser.parse_args()

    data = phone_photo((4000, 3000))
    check_image("stamped-agreement", data)  # warm-up
    bare_decode(data)
    check_ms, bare_ms = [], []
    for _ in range(args.runs):
        check_ms.append(timed(lambda: check_image("stamped-agreement", data)))
        bare_ms.append(timed(lambda: bare_decode(data)))

    tracemalloc.start()
    check_image("stamped-agreement", data)
    python_peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    with tempfile.NamedTemporaryFile(suffix=".jpg") as f:
        f.write(data)
        f.flush()
        check_rss, bare_rss = rss_delta_mib("check", f.name), rss_delta_mib("bare", f.name)

    sample = agreement("three_party", supplementary_terms="试用期三个月，甲方为乙方提供住房补贴。" * 30,
                       graduate=dict(agreement()["graduate"], name=RARE_NAME))
    first_pdf_ms = timed(lambda: render_agreement_pdf(sample))  # registers the fonts
    lines = [line for page in PdfReader(io.BytesIO(render_agreement_pdf(sample))).pages
             for line in page.extract_text().splitlines()]
    pdf_ms, canvas_ms = [], []
    for _ in range(args.pdf_runs):  # interleaved with the baseline: a minimal canvas with the same text and font
        pdf_ms.append(timed(lambda: render_agreement_pdf(sample)))
        canvas_ms.append(timed(lambda: minimal_canvas(lines)))
    pdf_size = len(render_agreement_pdf(sample))

    print(f"Documents benchmark ({len(data) / 2**20:.1f} MiB 4000x3000 phone JPEG, {args.runs} runs)")
    print(f"{'check_image (stamped-agreement)':<40} p50 {percentile(check_ms, .5):7.1f} ms  p99 {percentile(check_ms, .99):7.1f} ms")
    print(f"{'bare Pillow decode (open + load)':<40} p50 {percentile(bare_ms, .5):7.1f} ms  p99 {percentile(bare_ms, .99):7.1f} ms"
          f"  check/decode ratio {percentile(check_ms, .5) / percentile(bare_ms, .5):.2f}")
    print(f"{'peak memory of one check':<40} RSS +{check_rss:.1f} MiB (bare decode +{bare_rss:.0f} MiB),"
          f" Python heap peak {python_peak:.1f} MiB")
    print(f"{'agreement PDF (three-party, 2 pages)':<40} p50 {percentile(pdf_ms, .5):7.1f} ms  p99 {percentile(pdf_ms, .99):7.1f} ms"
          f"  first call {first_pdf_ms:.0f} ms (font loading)  {pdf_size / 1024:.0f} KiB")
    ratio = percentile(pdf_ms, .5) / percentile(canvas_ms, .5)
    print(f"{'minimal canvas, same text and font':<40} p50 {percentile(canvas_ms, .5):7.1f} ms"
          f"  PDF/canvas ratio {ratio:.2f} (target <= 1.3: {'met' if ratio <= 1.3 else 'not met'})")
    bench_reading(render_agreement_pdf(sample), args.photo_runs)


def bench_reading(pdf: bytes, runs: int) -> None:
    """Per 12 MP photo of a stamped page of our PDF: the Pillow checks alone, then + QR, then + QR and OCR."""
    from documents.recognition import load_engine, read_photo
    from tests import agreement_photos as photos

    pages = photos.stamp(photos.pages(pdf))
    shots = {"signature page (QR)": photos.photograph(pages[-1], size=photos.TWELVE_MP, angle=3, quality=85),
             "first page (fields)": photos.photograph(pages[0], size=photos.TWELVE_MP, angle=-2, quality=85)}
    started = time.perf_counter()
    load_engine()
    load_ms = (time.perf_counter() - started) * 1000
    print(f"Reading stamped photos (12 MP 3000x4000 phone JPEGs of our agreement, {runs} runs each, one core;"
          f" engine load {load_ms:.0f} ms once per worker)")
    for name, data in shots.items():
        checked = check_image("stamped-agreement", data).content
        read_photo(checked)  # warm-up
        figures = {"Pillow checks alone": [], "+ QR": [], "+ QR + OCR": []}
        stages = {"Pillow checks alone": lambda d: check_image("stamped-agreement", d),
                  "+ QR": lambda d: read_photo(check_image("stamped-agreement", d).content, ocr=False),
                  "+ QR + OCR": lambda d: read_photo(check_image("stamped-agreement", d).content)}
        for _ in range(runs):
            for label, stage in stages.items():
                figures[label].append(timed(functools.partial(stage, data)))
        with tempfile.NamedTemporaryFile(suffix=".jpg") as f:
            f.write(checked)
            f.flush()
            memory = {what: json.loads(subprocess.run([PY, "-c", READING_PROBE, what, f.name], cwd=ROOT, check=True,
                                                      capture_output=True, text=True).stdout)
                      for what in ("qr", "ocr")}
        base = percentile(figures["Pillow checks alone"], .5)
        for label, samples in figures.items():
            print(f"  {name:<22} {label:<20} p50 {percentile(samples, .5):7.0f} ms  max {max(samples):7.0f} ms"
                  f"  x{percentile(samples, .5) / base:.1f} of the checks")
        print(f"  {name:<22} peak RSS of the reading process: QR {memory['qr']['peak_kib'] / 1024:.0f} MiB,"
              f" QR + OCR {memory['ocr']['peak_kib'] / 1024:.0f} MiB (engine loaded:"
              f" {memory['ocr']['loaded_kib'] / 1024:.0f} MiB)")


if __name__ == "__main__":
    sys.exit(main())
