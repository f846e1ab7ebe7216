"""Documents benchmark: check_image on a 12-megapixel phone JPEG beside a bare Pillow decode of the same
file (same run), the memory one check takes, and the agreement PDF. Prints figures.

    .venv/bin/python -m bench.bench_documents [--runs 30] [--pdf-runs 20]
"""
from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tempfile
import time
import tracemalloc

from PIL import Image

from bench.common import PY, ROOT
from documents.images import check_image
from documents.pdf import render_agreement_pdf
from tests.image_corpus import phone_photo
from tests.test_agreement_pdf import RARE_NAME, agreement

# In a fresh process, on Linux: reset the peak-RSS mark (clear_refs 5), run the operation once, and report
# how far the peak rose above the resident size before it. Pillow's pixel buffers are not seen by tracemalloc.
MEMORY_PROBE = """
import io, json, sys
from PIL import Image
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--pdf-runs", type=int, default=20)
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
    pdf_ms = [timed(lambda: render_agreement_pdf(sample)) for _ in range(args.pdf_runs)]
    pdf_size = len(render_agreement_pdf(sample))

    print(f"Documents benchmark ({len(data) / 2**20:.1f} MiB 4000x3000 phone JPEG, {args.runs} runs)")
    print(f"{'check_image (stamped-agreement)':<40} p50 {percentile(check_ms, .5):7.1f} ms  p99 {percentile(check_ms, .99):7.1f} ms")
    print(f"{'bare Pillow decode (open + load)':<40} p50 {percentile(bare_ms, .5):7.1f} ms  p99 {percentile(bare_ms, .99):7.1f} ms"
          f"  check/decode ratio {percentile(check_ms, .5) / percentile(bare_ms, .5):.1f}")
    print(f"{'peak memory of one check':<40} RSS +{check_rss:.0f} MiB (bare decode +{bare_rss:.0f} MiB),"
          f" Python heap peak {python_peak:.1f} MiB")
    print(f"{'agreement PDF (three-party, 2 pages)':<40} p50 {percentile(pdf_ms, .5):7.1f} ms  p99 {percentile(pdf_ms, .99):7.1f} ms"
          f"  first call {first_pdf_ms:.0f} ms (font loading)  {pdf_size / 1024:.0f} KiB")


if __name__ == "__main__":
    sys.exit(main())
