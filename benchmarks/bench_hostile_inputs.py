"""Time and peak memory of reading hostile inputs (issue 22): each case runs in a fresh process
so its peak RSS is its own. Prints one JSON object: per case, seconds, peak RSS in MB, the file
size and the error message (or "read").

    python benchmarks/bench_hostile_inputs.py            # ~10 s
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

MAKERS = textwrap.dedent('''
    import io, struct, zlib, zipfile
    import numpy as np

    def gzip_of_zeros(header, n_bytes, block=1 << 20):
        head = zlib.compressobj(9, zlib.DEFLATED, -15)
        head = head.compress(header) + head.flush(zlib.Z_FULL_FLUSH)
        one = zlib.compressobj(9, zlib.DEFLATED, -15)
        piece = one.compress(bytes(block)) + one.flush(zlib.Z_FULL_FLUSH)
        tail = zlib.compressobj(9, zlib.DEFLATED, -15).flush()
        crc = zlib.crc32(header)
        for _ in range(n_bytes // block if n_bytes <= 1 << 28 else 0):   # the 2 GB bomb is refused first
            crc = zlib.crc32(bytes(block), crc)
        trailer = struct.pack("<II", crc, (len(header) + n_bytes) & 0xFFFFFFFF)
        return b"\\x1f\\x8b\\x08\\x00\\x00\\x00\\x00\\x00\\x02\\xff" + head + piece * (n_bytes // block) + tail + trailer

    def png_of_zero_rows(width, height, depth, colour):
        def chunk(kind, data):
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        row = bytes(1 + width * depth // 8 * (3 if colour == 2 else 1))
        one = zlib.compressobj(9, zlib.DEFLATED, -15)
        piece = one.compress(row) + one.flush(zlib.Z_FULL_FLUSH)
        idat = b"\\x78\\xda" + piece * height + zlib.compressobj(9, zlib.DEFLATED, -15).flush() + bytes(4)
        ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
        return b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
''')

CASES = {
    "idx_gzip_bomb_2GB_in_2MB": (
        "open(F, 'wb').write(gzip_of_zeros(b'\\x00\\x00\\x08\\x03' + struct.pack('>III', 2048, 1024, 1024), 2 << 30))",
        "from explorer.core.data import read_idx; read_idx(F)"),
    "idx_honest_bomb_128MB_under_the_cap": (
        "open(F, 'wb').write(gzip_of_zeros(b'\\x00\\x00\\x08\\x03' + struct.pack('>III', 128, 1024, 1024), 128 << 20))",
        "from explorer.core.data import read_idx; read_idx(F)"),
    "png_16bit_13000x13000": (
        "open(F, 'wb').write(png_of_zero_rows(13000, 13000, 16, 0))",
        "from explorer.core.data.images import read_image_file; read_image_file(F)"),
    "png_rgb_9400x9400": (
        "open(F, 'wb').write(png_of_zero_rows(9400, 9400, 8, 2))",
        "from explorer.core.data.images import read_image_file; read_image_file(F)"),
    "png_16bit_4000x4000_read": (
        "from PIL import Image; Image.fromarray((np.arange(16_000_000) % 65536).astype(np.uint16).reshape(4000, 4000))"
        ".save(F, format='PNG')",
        "from explorer.core.data.images import read_image_file; read_image_file(F)"),
    "eps_named_png": (
        "open(F, 'wb').write(b'%!PS-Adobe-3.0 EPSF-3.0\\n%%BoundingBox: 0 0 10 10\\nshowpage\\n')",
        "from explorer.core.data.images import read_image_file; read_image_file(F)"),
    "zip_directory_100k_entries_end_record_says_2": (
        "b = io.BytesIO(); z = zipfile.ZipFile(b, 'w'); [z.writestr(f'm{i}.npy', b'') for i in range(100_000)]; "
        "z.close(); d = b.getvalue(); at = d.rfind(b'PK\\x05\\x06'); "
        "open(F, 'wb').write(d[:at + 8] + struct.pack('<HH', 2, 2) + d[at + 12:])",
        "from explorer.core.safe_io import zip_directory_problem; m = zip_directory_problem(open(F, 'rb').read(), 8, 1 << 14)\n"
        "if m: raise ValueError(m)"),
}

RUNNER = textwrap.dedent('''
    import json, resource, sys, time
    F = sys.argv[1]
    code = sys.argv[2].split("; ", 1)
    exec(code[0])                                  # the import (torch): not timed
    start = time.perf_counter()
    try:
        exec(code[1] if len(code) > 1 else "pass")
        outcome = "read"
    except Exception as exc:
        outcome = f"{type(exc).__name__}: {exc}"[:200]
    print(json.dumps({"seconds": round(time.perf_counter() - start, 3),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                      "outcome": outcome}))
''')


def main() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    results = {"load_average": os.getloadavg()[0], "cases": {}}
    with tempfile.TemporaryDirectory() as folder:
        for name, (make, read) in CASES.items():
            path = str(Path(folder) / f"{name}.png")
            subprocess.run([sys.executable, "-c", MAKERS + f"\nF = {path!r}\n" + make], check=True, env=env)
            base = subprocess.run([sys.executable, "-c", RUNNER, path, "import explorer.core.data"],
                                  capture_output=True, text=True, env=env)
            done = subprocess.run([sys.executable, "-c", RUNNER, path, read], capture_output=True, text=True, env=env,
                                  timeout=300)
            row = json.loads(done.stdout)
            row["baseline_rss_mb"] = json.loads(base.stdout)["peak_rss_mb"]
            row["file_bytes"] = os.path.getsize(path)
            results["cases"][name] = row
            os.unlink(path)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
