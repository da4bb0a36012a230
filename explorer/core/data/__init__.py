"""Images in: dataset configs and splits (:mod:`.datasets`), the registry of known datasets and their
files (:mod:`.registry`), safe readers of the file formats (:mod:`.formats`)
and the one reader of image files (:mod:`.images`).

``from explorer.core.data import DataConfig, load_data, DataError`` keeps working: the package
re-exports the modules' public names.
"""
from .datasets import (FOLDER_PREFIX, DataConfig, DataSplits, ImageSet, load_data, parse_classes, split_indices,
                       describe_split, stratified_split)
from .registry import (DATASETS, DatasetSpec, count_training_images, default_data_root, download_dataset,
                       missing_data_message, usable_root)
from .formats import DataError, list_image_folder, read_cifar_batch, read_idx, read_image_files
from .images import read_image_file

__all__ = ["DATASETS", "FOLDER_PREFIX", "DataConfig", "DataError", "DataSplits", "DatasetSpec", "ImageSet", "default_data_root",
           "list_image_folder", "load_data", "parse_classes", "read_cifar_batch", "read_idx", "read_image_file", "read_image_files",
           "split_indices", "usable_root", "download_dataset", "missing_data_message",
           "count_training_images", "describe_split", "stratified_split"]
