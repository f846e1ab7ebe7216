"""Upload checks (documents/images.py), the file store and the check-image command, on generated images."""
from __future__ import annotations

import functools
import io
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image

from documents.images import KINDS, MAX_LONG_SIDE, check_image
from documents.storage import FileStore
from handlers.errors import ERRORS
from signing.errors import DomainError
from tests import image_corpus as corpus

ROOT = Path(__file__).resolve().parent.parent


@functools.cache
def sample(name: str) -> bytes:
    return getattr(corpus, name)()


def refusal(kind: str, data: bytes | Path) -> str:
    with pytest.raises(DomainError) as caught:
        check_image(kind, data)
    return caught.value.code


ACCEPTED = [
    ("sharp_stamped_jpeg", "stamped-agreement"),
    ("progressive_jpeg", "stamped-agreement"),
    ("with_exif_gps_and_comment", "stamped-agreement"),
    ("cmyk_jpeg", "stamped-agreement"),
    ("png_with_alpha", "stamped-agreement"),
    ("palette_png", "paper-agreement"),
    ("clean_scan_with_seal", "paper-agreement"),
    ("sparse_page", "stamped-agreement"),
    ("mpo_phone_photo", "stamped-agreement"),
    ("trailing_phone_data", "stamped-agreement"),
    ("with_icc_profile", "stamped-agreement"),
    ("png_16_bit", "destination-proof"),
    ("grayscale_scan", "cancellation-letter"),
    ("short_letter", "cancellation-letter"),
    ("no_seal", "cancellation-letter"),
    ("proof_sized", "destination-proof"),
]

REFUSED = [
    ("empty", "stamped-agreement", "image_empty"),
    ("too_large", "stamped-agreement", "image_too_large"),
    ("text_renamed_jpg", "stamped-agreement", "image_not_image"),
    ("html_file", "destination-proof", "image_not_image"),
    ("pdf_file", "destination-proof", "image_not_image"),
    ("zip_file", "destination-proof", "image_not_image"),
    ("gif", "destination-proof", "image_not_image"),
    ("animated_gif", "destination-proof", "image_not_image"),
    ("webp", "destination-proof", "image_not_image"),
    ("animated_png", "destination-proof", "image_animated"),
    ("polyglot_html", "destination-proof", "image_polyglot"),
    ("polyglot_zip", "destination-proof", "image_polyglot"),
    ("png_polyglot_html", "destination-proof", "image_polyglot"),
    ("html_in_head", "destination-proof", "image_polyglot"),
    ("truncated_jpeg", "destination-proof", "image_corrupt"),
    ("truncated_png", "destination-proof", "image_corrupt"),
    ("png_bomb", "destination-proof", "image_too_many_pixels"),
    ("png_huge_header", "destination-proof", "image_too_many_pixels"),
    ("jpeg_huge_header", "destination-proof", "image_too_many_pixels"),
    ("too_small", "destination-proof", "image_too_small"),
    ("proof_sized", "stamped-agreement", "image_too_small"),
    ("blurred", "stamped-agreement", "image_blurred"),
    ("dark", "stamped-agreement", "image_too_dark"),
    ("overexposed", "stamped-agreement", "image_overexposed"),
    ("no_seal", "stamped-agreement", "image_no_seal"),
    ("no_seal", "paper-agreement", "image_no_seal"),
]


@pytest.mark.parametrize("name,kind", ACCEPTED)
def test_check_image_accepts_good_photo(name, kind):
    checked = check_image(kind, sample(name))
    out = Image.open(io.BytesIO(checked.content))
    assert out.format == "JPEG" and out.mode == "RGB"
    assert out.size == (checked.width, checked.height) and max(out.size) <= MAX_LONG_SIDE
    assert checked.kind == kind and len(checked.sha256) == 64
    # every piece of metadata is gone: EXIF (and GPS), ICC profile, comment
    assert not out.getexif() and "exif" not in out.info
    assert "icc_profile" not in out.info and "comment" not in out.info


@pytest.mark.parametrize("name,kind,code", REFUSED)
def test_check_image_refuses_bad_upload(name, kind, code):
    assert refusal(kind, sample(name)) == code


@pytest.mark.parametrize("name,kind,code", [("sharp_stamped_jpeg", "stamped-agreement", None), *REFUSED[:4]])
def test_a_photo_given_as_the_file_it_streamed_into_is_judged_as_its_bytes(tmp_path, name, kind, code):
    """Uploads reach the check as files (handlers/uploads.StreamedUpload): the same answer as for the bytes."""
    path = tmp_path / "part"
    path.write_bytes(sample(name))
    if code is None:
        assert check_image(kind, path) == check_image(kind, sample(name))
    else:
        assert refusal(kind, path) == code


def test_check_image_refusal_codes_are_registered_with_status_and_chinese_message():
    expected = {"image_too_large": 413, "image_too_many_pixels": 413, "image_not_image": 415,
                "image_polyglot": 415, "image_animated": 415, "image_empty": 422, "image_corrupt": 422,
                "image_too_small": 422, "image_too_dark": 422, "image_overexposed": 422,
                "image_blurred": 422, "image_no_seal": 422}
    for code, status in expected.items():
        assert ERRORS[code][0] == status
        assert any("\u4e00" <= ch <= "\u9fff" for ch in ERRORS[code][1])


def test_check_image_applies_exif_orientation():
    # stored sideways (landscape pixels) with orientation 6: comes out upright (portrait)
    stored = Image.open(io.BytesIO(sample("rotated_exif_6")))
    assert stored.width > stored.height
    checked = check_image("stamped-agreement", sample("rotated_exif_6"))
    assert (checked.width, checked.height) == (stored.height, stored.width)


def test_check_image_flattens_alpha_on_white():
    checked = check_image("stamped-agreement", sample("png_with_alpha"))
    corner = Image.open(io.BytesIO(checked.content)).getpixel((5, 5))
    assert min(corner) > 245  # transparent margins are paper-white, not black


def test_check_image_scales_16_bit_down_instead_of_clipping():
    checked = check_image("destination-proof", sample("png_16_bit"))
    gray = Image.open(io.BytesIO(checked.content)).convert("L")
    mean = sum(i * n for i, n in enumerate(gray.histogram())) / (gray.width * gray.height)
    assert 150 < mean < 230  # the page, not a white sheet of clipped 16-bit values


def test_check_image_caps_the_long_side():
    checked = check_image("cancellation-letter", sample("large_scan"))
    assert max(checked.width, checked.height) == MAX_LONG_SIDE


def test_check_image_decodes_a_48_megapixel_jpeg_at_reduced_scale():
    checked = check_image("destination-proof", sample("jpeg_48_megapixels"))
    assert (checked.width, checked.height) == (2000, 1500)  # 8000x6000 decoded at 1/4


def test_check_image_refuses_bombs_from_the_header_without_decoding():
    for name in ("png_bomb", "png_huge_header", "jpeg_huge_header"):
        started = time.perf_counter()
        assert refusal("destination-proof", sample(name)) == "image_too_many_pixels"
        assert time.perf_counter() - started < 0.5


def test_check_image_decodes_a_12_megapixel_phone_photo_at_half_scale():
    """A quarter of the pixels to decode, analyse and encode (its time: bench/bench_documents.py)."""
    checked = check_image("stamped-agreement", sample("phone_photo"))
    assert (checked.width, checked.height) == (2000, 1500)


def test_check_image_is_thread_safe_and_deterministic():
    data = sample("sharp_stamped_jpeg")
    with ThreadPoolExecutor(4) as pool:
        digests = {c.sha256 for c in pool.map(lambda _: check_image("stamped-agreement", data), range(8))}
    assert len(digests) == 1


def test_check_image_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError):
        check_image("selfie", sample("sharp_stamped_jpeg"))
    assert "stamped-agreement" in KINDS


# --- file store -------------------------------------------------------------------------------------

def test_file_store_saves_under_random_names_and_reads_back(tmp_path):
    store = FileStore(tmp_path)
    first, second = store.save(b"one", "jpg"), store.save(b"two", ".jpg")
    assert first != second and first.endswith(".jpg")
    assert store.read(first) == b"one" and store.open(second) == b"two"
    assert store.path(first).is_relative_to(tmp_path.resolve())
    assert not [p for p in store.path(first).parent.iterdir() if p.name.startswith(".tmp-")]


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "ab/cd/abcd" + "0" * 28 + ".html",
                                  "ab/cd/ef" + "0" * 30 + ".jpg", "ab/cd/abcd" + "0" * 28 + ".jpg/../x",
                                  "AB/CD/ABCD" + "0" * 28 + ".jpg", ""])
def test_file_store_refuses_names_it_could_not_have_made(tmp_path, name):
    with pytest.raises(ValueError):
        FileStore(tmp_path).path(name)


def test_file_store_refuses_unknown_suffix(tmp_path):
    with pytest.raises(ValueError):
        FileStore(tmp_path).save(b"<html>", "html")


# --- python -m server check-image -------------------------------------------------------------------

def run_check_image(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, APP_ENV="test", PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "server", "check-image", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_check_image_command_accepts_good_files(tmp_path):
    good = tmp_path / "good.jpg"
    good.write_bytes(sample("sharp_stamped_jpeg"))
    result = run_check_image("stamped-agreement", str(good))
    assert result.returncode == 0, result.stderr
    assert f"{good}: accepted (1339x1859, " in result.stdout


def test_check_image_command_exits_1_when_any_file_is_refused(tmp_path):
    good, renamed = tmp_path / "good.jpg", tmp_path / "notes.jpg"
    good.write_bytes(sample("sharp_stamped_jpeg"))
    renamed.write_bytes(sample("text_renamed_jpg"))
    result = run_check_image("stamped-agreement", str(good), str(renamed))
    assert result.returncode == 1
    assert f"{good}: accepted" in result.stdout
    assert f"{renamed}: image_not_image 只能上传JPG或PNG格式的照片" in result.stdout


def test_check_image_command_unknown_kind_is_a_usage_error(tmp_path):
    good = tmp_path / "good.jpg"
    good.write_bytes(sample("sharp_stamped_jpeg"))
    result = run_check_image("selfie", str(good))
    assert result.returncode == 2 and "usage" in result.stderr
    assert run_check_image("stamped-agreement").returncode == 2
