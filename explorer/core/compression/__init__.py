"""Lossy image compression with a VQ-VAE and its prior (notes, "VQ-VAE for image compression").

An image becomes its code grid z = q(E(x)); the grid is entropy-coded with the prior's own
conditionals in raster order, bits(z) ~= -log2 p(z) = -sum_{i,j} log2 p(z_ij | z_<ij), and decoded
by running the prior autoregressively. Four modules, read in this order:

* :mod:`.coder`: grids <-> bytes with a range coder, batched over images, and how encoder and
  decoder are kept bit-identical (determinism);
* :mod:`.names`: which image names are allowed, what they decompress to, how they are stored
  (compressed) and how file-provided text is shown in messages;
* :mod:`.dlc`: the ``.dlc`` file (header naming the bundle and images, the coded words, CRCs), read
  with bounded, checked reads that raise only :class:`CompressedFileError`;
* :mod:`.measure`: what it costs and gives against PNG, JPEG and WebP (rows for the table,
  rate-distortion curves).

Every public name is importable from here: ``from explorer.core.compression import read_dlc``.
"""
from .coder import (BATCH, MAX_BATCH, MAX_IMAGES, MIN_BITS_PER_CODE, P_MAX, CompressedFileError, ProgressFn,
                    chunk_size, decode_grids, encode_grids, encode_with_stats, max_images_for)
from .dlc import (FORMAT_VERSION, MAGIC, MAX_FILE_BYTES, MAX_HEADER_BYTES, bundle_fingerprint, check_bundle,
                  decode_dlc, dlc_bytes, parse_dlc, read_dlc, read_dlc_header, read_dlc_parts, write_dlc)
from .measure import (JPEG_QUALITIES, ROW_KEYS, WEBP_QUALITIES, bits_to_match_mse, codec_curve, codes_to_images,
                      compression_report, compression_rows, ideal_bits, images_to_codes, lossy_roundtrip, mse_uint8,
                      png_bytes, psnr, rate_distortion, summarise_rows)
from .names import MAX_NAME_BYTES, name_problem, numbered_name, output_name, output_names, shown

__all__ = ['BATCH', 'CompressedFileError', 'FORMAT_VERSION', 'JPEG_QUALITIES', 'MAGIC', 'MAX_BATCH', 'MAX_FILE_BYTES',
           'MAX_HEADER_BYTES', 'MAX_IMAGES', 'MAX_NAME_BYTES', 'MIN_BITS_PER_CODE', 'P_MAX', 'ProgressFn', 'ROW_KEYS',
           'WEBP_QUALITIES', 'bits_to_match_mse', 'bundle_fingerprint', 'check_bundle', 'chunk_size', 'codec_curve',
           'codes_to_images', 'compression_report', 'compression_rows', 'decode_dlc', 'decode_grids', 'dlc_bytes',
           'encode_grids', 'encode_with_stats', 'ideal_bits', 'images_to_codes', 'lossy_roundtrip', 'max_images_for',
           'mse_uint8', 'name_problem', 'numbered_name', 'output_name', 'output_names', 'parse_dlc', 'png_bytes',
           'psnr', 'rate_distortion', 'read_dlc', 'read_dlc_header', 'read_dlc_parts', 'shown', 'summarise_rows', 'write_dlc']
