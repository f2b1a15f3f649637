"""SageMaker training outputs: splits, channel writers, manifest, estimator wiring.

Example::

    from lakeprep.sagemaker import SplitSpec, WriteOptions, split_dataset, write_channel_formats
    splits = split_dataset(features_df, SplitSpec(seed=7))
    out = write_channel_formats(splits["train"], {"csv": "s3://b/r/train/csv"})
"""

from lakeprep.sagemaker.checks import ChannelProfile, check_profile, profile_channel
from lakeprep.sagemaker.formats import FORMATS
from lakeprep.sagemaker.manifest import (
    ChannelFiles,
    Manifest,
    SourceTable,
    read_manifest,
    write_manifest,
)
from lakeprep.sagemaker.splits import Splits, SplitSpec, assign_splits, split_dataset
from lakeprep.sagemaker.writers import WriteOptions, write_channel, write_channel_formats

__all__ = [
    "FORMATS",
    "ChannelFiles",
    "ChannelProfile",
    "Manifest",
    "SourceTable",
    "SplitSpec",
    "Splits",
    "WriteOptions",
    "assign_splits",
    "check_profile",
    "profile_channel",
    "read_manifest",
    "split_dataset",
    "write_channel",
    "write_channel_formats",
    "write_manifest",
]
