"""Each channel format is written by the executors, read back independently, compared exactly."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyarrow import fs as pafs
from pyspark.ml.linalg import SparseVector, Vectors, VectorUDT
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, StructField, StructType
from sm_data import CHANNEL_ROWS, FEATURE_NAMES
from sm_decoders import (
    read_csv_dir,
    read_libsvm_dir,
    read_parquet_dir,
    read_recordio_dir,
    read_recordio_frames,
)

from lakeprep.errors import InputError, UsageError
from lakeprep.sagemaker import FORMATS, WriteOptions, write_channel, write_channel_formats
from lakeprep.sagemaker.batches import VectorBatch
from lakeprep.sagemaker.writers import _PartSpec, _PartWriter

ALL_FORMATS = ("csv", "libsvm", "recordio-protobuf", "parquet")


@pytest.fixture(scope="module")
def written(channel_df, tmp_path_factory):
    """The six rows written once in every format; tests decode what they need."""
    root = tmp_path_factory.mktemp("channels")
    outs = write_channel_formats(channel_df, {f: str(root / f) for f in ALL_FORMATS},
                                 WriteOptions(feature_names=FEATURE_NAMES))
    return root, outs


def _expected_dense():
    return Counter((float(label), tuple(v.toArray().tolist())) for _, label, v in CHANNEL_ROWS)


def _tensor_key(label, values, keys=(), shape=()):
    return (label, tuple(values), tuple(keys), tuple(shape))


def test_csv_round_trips_label_first_without_header(written):
    root, outs = written
    assert outs["csv"].content_type == "text/csv"
    assert outs["csv"].rows == 6
    assert Counter(read_csv_dir(root / "csv")) == _expected_dense()
    lines = {line for f in (root / "csv").iterdir() for line in f.read_text().splitlines()}
    # exact doubles, exponents, signed zero, short labels, no header
    assert "2,0.3333333333333333,0.6666666666666666,1e+20,-0" not in lines
    assert "1,0.3333333333333333,0.6666666666666666,1e+20,-0" in lines
    assert "0,0,3.5,0,-1" in lines
    assert len(lines) == 6


def _libsvm_expected():
    want = Counter()
    for _, label, v in CHANNEL_ROWS:
        dense = v.toArray()
        want[(float(label), tuple((i, float(dense[i])) for i in np.flatnonzero(dense)))] += 1
    return want


def _libsvm_got(folder, base):
    return Counter((label, tuple(sorted(e.items()))) for label, e in read_libsvm_dir(folder, base))


def test_libsvm_round_trips_nonzeros_zero_based(written):
    root, outs = written
    assert outs["libsvm"].content_type == "text/libsvm"
    assert _libsvm_got(root / "libsvm", 0) == _libsvm_expected()


def _file_width(path, base: int) -> int:
    """The width a LibSVM reader (XGBoost's) gives a file: its largest index + 1."""
    return max((int(pair.split(":")[0]) - base + 1 for line in path.read_text().splitlines()
                for pair in line.split(" ")[1:]), default=0)


def test_every_libsvm_file_parses_to_the_full_feature_width(spark, tmp_path):
    # no row of this channel uses the last two features; two files of three rows each
    rows = [(float(i % 2), Vectors.sparse(6, [0, 1 + i % 3], [1.0, 2.0 + i])) for i in range(6)]
    df = spark.createDataFrame(rows, ["label", "features"]).coalesce(1)
    for base in (0, 1):
        out = write_channel(df, str(tmp_path / f"svm{base}"), "libsvm",
                            WriteOptions(rows_per_file=3, libsvm_index_base=base))
        files = sorted((tmp_path / f"svm{base}").iterdir())
        assert len(files) == len(out.files) == 2
        assert [_file_width(f, base) for f in files] == [6, 6]
        # the width marker is one explicit zero per file; the data are unchanged
        assert sum(line.count(f" {5 + base}:0") for f in files
                   for line in f.read_text().splitlines()) == 2
        got = read_libsvm_dir(tmp_path / f"svm{base}", base)
        assert sorted((lab, tuple(sorted(e.items()))) for lab, e in got) == sorted(
            (lab, ((0, 1.0), (1 + i % 3, 2.0 + i))) for i, (lab, _) in enumerate(rows))


def test_libsvm_one_based_option(channel_df, tmp_path):
    write_channel(channel_df, str(tmp_path / "svm"), "libsvm", WriteOptions(libsvm_index_base=1))
    assert _libsvm_got(tmp_path / "svm", 1) == _libsvm_expected()
    assert "0:" not in "".join(f.read_text() for f in (tmp_path / "svm").iterdir())


def test_recordio_protobuf_dense_and_sparse_tensors(written):
    root, outs = written
    out = outs["recordio-protobuf"]
    assert out.content_type == "application/x-recordio-protobuf"
    records = read_recordio_dir(root / "recordio-protobuf")
    assert len(records) == out.rows == 6
    got = Counter()
    for r in records:
        assert list(r["features"]) == ["values"] and list(r["label"]) == ["values"]
        f, lab = r["features"]["values"], r["label"]["values"]
        assert lab["keys"] == [] and lab["shape"] == [] and len(lab["values"]) == 1
        got[_tensor_key(lab["values"][0], f["values"], f["keys"], f["shape"])] += 1
    want = Counter()
    for _, label, v in CHANNEL_ROWS:
        f32 = np.float32
        if isinstance(v, SparseVector):
            want[_tensor_key(float(f32(label)), [float(f32(x)) for x in v.values],
                             v.indices.tolist(), [v.size])] += 1
        else:
            want[_tensor_key(float(f32(label)), [float(f32(x)) for x in v.values])] += 1
    assert got == want


def test_parquet_has_label_then_named_feature_columns(written):
    root, outs = written
    assert outs["parquet"].content_type == "application/x-parquet"
    table = read_parquet_dir(root / "parquet")
    assert table.column_names == ["label", *FEATURE_NAMES]
    rows = Counter((r[0], tuple(r[1:])) for r in zip(*table.to_pydict().values(), strict=True))
    assert rows == _expected_dense()


def test_parquet_dictionary_only_where_values_repeat(tmp_path):
    """In-process (no Spark): the part writer dictionary-encodes the label and a one-hot column,
    and writes a continuous feature plain, as Spark's writer ends up doing."""
    rng = np.random.default_rng(5)
    n = 400
    labels = (np.arange(n) % 2).astype(np.float64)
    matrix = np.column_stack([rng.standard_normal(n), rng.integers(0, 2, n).astype(float)])
    vector_type = pa.struct([("type", pa.int8()), ("size", pa.int32()),
                             ("indices", pa.list_(pa.int32())), ("values", pa.list_(pa.float64()))])
    vectors = pa.array([{"type": 1, "size": None, "indices": None, "values": row}
                        for row in matrix.tolist()], vector_type)
    spec = _PartSpec(pafs.LocalFileSystem(), str(tmp_path), "parquet", ".parquet", None, 0,
                     "auto", ("label", "x", "onehot"), 2)
    writer = _PartWriter(spec, 0)
    writer.write(VectorBatch.from_arrow(pa.array(labels), vectors))
    [(name, rows, size)] = writer.finish()
    meta = pq.ParquetFile(tmp_path / name).metadata
    encodings = {meta.schema.column(i).name: meta.row_group(0).column(i).encodings
                 for i in range(3)}
    assert "RLE_DICTIONARY" in encodings["label"] and "RLE_DICTIONARY" in encodings["onehot"]
    assert "RLE_DICTIONARY" not in encodings["x"]
    assert (rows, size) == (n, (tmp_path / name).stat().st_size)
    table = pq.read_table(tmp_path / name)
    assert np.array_equal(np.column_stack([table.column(c).to_numpy() for c in ("x", "onehot")]),
                          matrix)


def test_formats_report_rows_bytes_class_balance_and_only_parts(written):
    root, outs = written
    assert {f: o.rows for f, o in outs.items()} == dict.fromkeys(ALL_FORMATS, 6)
    assert all(o.class_balance == {"0": 3, "1": 2, "2": 1} for o in outs.values())
    for fmt, out in outs.items():
        names = sorted(p.name for p in (root / fmt).iterdir())  # no _SUCCESS, no .crc
        assert names == out.files
        assert all(n.startswith("part-") and n.endswith(FORMATS[fmt].extension) for n in names)
        assert out.bytes == sum((root / fmt / n).stat().st_size for n in names)


def test_rows_per_file_num_files_and_forced_sparse(channel_df, tmp_path):
    out = write_channel(channel_df, str(tmp_path / "each"), "recordio-protobuf",
                        WriteOptions(num_files=1, rows_per_file=4, tensor_layout="sparse"))
    assert out.files == ["part-00000-0000.pbr", "part-00000-0001.pbr"]
    sizes = [len(read_recordio_frames((tmp_path / "each" / f).read_bytes())) for f in out.files]
    assert sizes == [4, 2]
    for r in read_recordio_dir(tmp_path / "each"):
        f = r["features"]["values"]
        assert f["shape"] == [4]
        assert len(f["keys"]) == len(f["values"]) and 0.0 not in f["values"]


def test_shuffle_is_seeded_and_keeps_every_row(channel_df, tmp_path):
    opts = WriteOptions(shuffle=True, seed=3, num_files=1)
    write_channel(channel_df, str(tmp_path / "a"), "csv", opts)
    write_channel(channel_df, str(tmp_path / "b"), "csv", opts)
    a = (tmp_path / "a" / "part-00000-0000.csv").read_text()
    assert a == (tmp_path / "b" / "part-00000-0000.csv").read_text()
    assert Counter(read_csv_dir(tmp_path / "a")) == _expected_dense()
    # the same rows in other partitions and another order: the same file, byte for byte
    moved = channel_df.repartition(3).orderBy(F.rand(7))
    write_channel(moved, str(tmp_path / "c"), "libsvm", WriteOptions(shuffle=True, seed=3,
                                                                     num_files=2))
    write_channel(channel_df.coalesce(1), str(tmp_path / "d"), "libsvm",
                  WriteOptions(shuffle=True, seed=3, num_files=2))
    for name in ("part-00000-0000.libsvm", "part-00001-0000.libsvm"):
        assert (tmp_path / "c" / name).read_bytes() == (tmp_path / "d" / name).read_bytes()


def test_existing_files_need_overwrite(channel_df, tmp_path):
    target = tmp_path / "c"
    target.mkdir()
    (target / "stale.csv").write_text("9,9\n")
    with pytest.raises(UsageError, match="already holds 1 file"):
        write_channel(channel_df, str(target), "csv")
    write_channel(channel_df, str(target), "csv", WriteOptions(mode="overwrite"))
    assert not (target / "stale.csv").exists()
    assert Counter(read_csv_dir(target)) == _expected_dense()


def test_regression_label_has_no_class_balance(spark, tmp_path):
    df = spark.createDataFrame([(0.5, Vectors.dense([1.0])), (1.25, Vectors.dense([2.0]))],
                               ["y", "x"])
    out = write_channel(df, str(tmp_path / "r"), "csv", WriteOptions(features_col="x",
                                                                     label_col="y"))
    assert out.class_balance is None
    with pytest.raises(InputError, match="task='classification'"):
        write_channel(df, str(tmp_path / "r2"), "csv",
                      WriteOptions(features_col="x", label_col="y", task="classification"))


def test_nan_and_inf_stop_before_any_file(spark, tmp_path):
    df = spark.createDataFrame([
        (1, Vectors.dense([1.0, float("nan"), 0.0, 1.0])),
        (0, Vectors.sparse(4, [3], [float("-inf")])),
        (0, Vectors.dense([1.0, float("nan"), 2.0, 3.0])),
    ], ["label", "features"])
    with pytest.raises(InputError) as err:
        write_channel(df, str(tmp_path / "bad"), "recordio-protobuf",
                      WriteOptions(feature_names=FEATURE_NAMES))
    msg = str(err.value)
    assert "NaN or +-inf in 3 rows" in msg
    assert "index 1 (income) in 2 rows" in msg and "index 3 (score) in 1 rows" in msg
    assert not (tmp_path / "bad").exists()


@pytest.mark.parametrize("rows, match", [
    ([(None, Vectors.dense([1.0]))], "null in 1"),
    ([(float("nan"), Vectors.dense([1.0]))], "NaN/inf in 1"),
    ([(1.0, Vectors.dense([1.0])), (0.0, Vectors.dense([1.0, 2.0]))], "differ in width"),
])
def test_bad_rows_are_named(spark, tmp_path, rows, match):
    schema = StructType([StructField("label", DoubleType()), StructField("features", VectorUDT())])
    df = spark.createDataFrame(rows, schema)
    with pytest.raises(InputError, match=match):
        write_channel(df, str(tmp_path / "x"), "csv")


def test_bad_columns_are_named(spark, channel_df, tmp_path):
    text_label = channel_df.withColumn("label", channel_df.label.cast("string"))
    with pytest.raises(InputError, match="label column 'label' must be numeric, found string"):
        write_channel(text_label, str(tmp_path / "x"), "csv")
    with pytest.raises(InputError, match="must be a Spark ML vector, found bigint"):
        write_channel(channel_df, str(tmp_path / "x"), "csv", WriteOptions(features_col="id"))
    with pytest.raises(InputError, match="column 'target' not found"):
        write_channel(channel_df, str(tmp_path / "x"), "csv", WriteOptions(label_col="target"))
    with pytest.raises(InputError, match="no rows to write"):
        write_channel(channel_df.limit(0), str(tmp_path / "x"), "csv")
    with pytest.raises(UsageError, match="unknown channel format 'json'"):
        write_channel(channel_df, str(tmp_path / "x"), "json")
    with pytest.raises(UsageError, match="rows_per_file must be >= 1"):
        WriteOptions(rows_per_file=0)
