"""nona's tables open as they are in pyarrow, pandas, polars and DuckDB, and match schemas/."""

import json
import subprocess
from pathlib import Path

import duckdb
import jsonschema
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from conftest import REPO

SCHEMAS = REPO / "schemas"


def _record(stage_dir: Path) -> dict:
    return json.loads((stage_dir / "_record.json").read_text())


TYPE_NAMES = {pa.string(): "utf8", pa.float64(): "float64", pa.int64(): "int64"}


def _assert_matches_schema_file(table_dir: Path, schema_name: str) -> None:
    """Column names and order, types, nullability and required footer keys as schemas/ says."""
    documented = json.loads((SCHEMAS / f"{schema_name}.schema.json").read_text())
    schema = ds.dataset(table_dir, format="parquet").schema
    assert schema.names == [c["name"] for c in documented["columns"]], schema_name
    for column in documented["columns"]:
        field = schema.field(column["name"])
        if pa.types.is_fixed_size_list(field.type):
            assert column["type"] == "fixed_size_list<float32, d>" and field.type.value_type == pa.float32()
        elif pa.types.is_list(field.type):
            assert column["type"] == "list<float32>" and field.type.value_type == pa.float32()
        else:
            assert TYPE_NAMES[field.type] == column["type"], column["name"]
        assert field.nullable == column["nullable"], column["name"]
    for key in documented["metadata"]:
        if key["required"]:
            assert key["key"].encode() in schema.metadata, key["key"]


def test_samples_open_in_every_reader(image_run: Path) -> None:
    stage = image_run / "preprocess"
    rows = _record(stage)["rows"]
    assert rows == 23

    table = ds.dataset(stage, format="parquet").to_table()
    assert table.num_rows == rows
    assert table.schema.field("label").type == pa.float64()
    assert table.schema.metadata[b"nona.stage"] == b"preprocess"
    assert table.schema.metadata[b"nona.synthetic"] == b"true"

    frame = pd.read_parquet(stage)
    assert len(frame) == rows and set(frame["id"]) == {f"x{i}" for i in range(25)} - {"x3", "x4"}

    assert pl.read_parquet(f"{stage}/*.parquet").height == rows

    count, total = duckdb.sql(f"select count(*), sum(label) from '{stage}/*.parquet'").fetchall()[0]
    assert count == rows
    assert total == sum(i * 1.5 for i in range(25) if i not in (3, 4))


def test_embeddings_are_fixed_size_lists_everywhere(image_run: Path) -> None:
    stage = image_run / "embed"
    table = ds.dataset(stage, format="parquet").to_table()
    assert table.num_rows == 23
    assert table.schema.field("embedding").type == pa.list_(pa.field("item", pa.float32(), nullable=False), 512)
    metadata = table.schema.metadata
    assert metadata[b"nona.model_id"] == b"resnet18"
    assert metadata[b"nona.weights_sha256"] == b"synthetic"
    assert metadata[b"nona.embedding_dim"] == b"512"

    matrix = np.stack(pd.read_parquet(stage)["embedding"].to_numpy())
    assert matrix.shape == (23, 512) and matrix.dtype == np.float32 and np.isfinite(matrix).all()

    frame = pl.read_parquet(f"{stage}/*.parquet")
    assert frame.schema["embedding"] == pl.Array(pl.Float32, 512)

    width, rows = duckdb.sql(f"select max(len(embedding)), count(*) from '{stage}/*.parquet'").fetchall()[0]
    assert (width, rows) == (512, 23)
    # The same sample's vector agrees across readers.
    first = duckdb.sql(f"select embedding from '{stage}/*.parquet' where id = 'x0'").fetchall()[0][0]
    np.testing.assert_array_equal(np.asarray(first, dtype=np.float32), matrix[list(pd.read_parquet(stage)["id"]).index("x0")])


def test_errors_table_names_the_failures(image_run: Path) -> None:
    errors = duckdb.sql(f"select id, stage, message from '{image_run}/preprocess/_errors/*.parquet' order by id").fetchall()
    assert [e[0] for e in errors] == ["x3", "x4"]
    assert all(e[1] == "preprocess" for e in errors)
    assert "not a decodable image" in errors[0][2]
    assert "cannot read file" in errors[1][2]


def test_tables_and_records_match_schema_files(image_run: Path) -> None:
    _assert_matches_schema_file(image_run / "preprocess", "samples")
    _assert_matches_schema_file(image_run / "preprocess" / "_errors", "errors")
    _assert_matches_schema_file(image_run / "embed", "embeddings")

    record_schema = json.loads((SCHEMAS / "run-record.schema.json").read_text())
    for stage in ("preprocess", "embed"):
        jsonschema.validate(_record(image_run / stage), record_schema)


def test_heads_tables_open_everywhere_on_a_table_pyarrow_wrote(tmp_path: Path, nona_bin: str) -> None:
    """A user's own embeddings (pyarrow defaults: snappy, an all-null group column) go through
    train, knn, geometry and report; every table they write opens in pandas, polars and DuckDB and matches
    schemas/, and the run records validate."""
    rng = np.random.default_rng(0)
    n, d = 80, 5
    x = rng.normal(size=(n, d)).astype(np.float32)
    y = np.sin(2 * x[:, 0]) + x[:, 1] ** 2
    embedding = pa.FixedSizeListArray.from_arrays(pa.array(x.ravel(), pa.float32()), d)
    pq.write_table(
        pa.table({"id": [f"r{i}" for i in range(n)], "label": y, "group": [None] * n, "embedding": embedding}),
        tmp_path / "emb.parquet",
    )
    (tmp_path / "heads.toml").write_text(
        """
[train]
input = "emb.parquet"
[train.grid]
seeds = 2
hidden = [8]
embedding_dims = [3]
[train.grid.optim]
max_epochs = 6
[knn]
k = [3]
[geometry]
[report]
"""
    )
    subprocess.run([nona_bin, "run", "heads.toml"], cwd=tmp_path, check=True, capture_output=True)
    run = tmp_path / "runs" / "heads"

    embeddings = pd.read_parquet(run / "train" / "embeddings")
    assert len(embeddings) == 4 * n and {len(e) for e in embeddings["embedding"]} == {3}
    assert pl.read_parquet(run / "train" / "embeddings" / "*.parquet")["embedding"].dtype == pl.List(pl.Float32)
    test_rows = duckdb.sql(
        f"select count(*) from '{run}/train/predictions/*.parquet' where split = 'test'"
    ).fetchall()[0][0]
    knn_rows = duckdb.sql(f"select count(*) from '{run}/knn/predictions/*.parquet'").fetchall()[0][0]
    assert knn_rows == test_rows // 4 * 2 + test_rows  # backbone per seed + one per cell
    # The NONA cells' neighbour evidence, long format: 5 rows per validation or test prediction.
    explanations = pd.read_parquet(run / "train" / "explanations")
    evaluated = duckdb.sql(
        f"select count(*) from '{run}/train/predictions/*.parquet' where head = 'nona' and split != 'train'"
    ).fetchall()[0][0]
    assert len(explanations) == 5 * evaluated and (explanations["rank"] == 1).sum() == evaluated
    per_prediction = (
        pl.read_parquet(run / "train" / "explanations" / "*.parquet")
        .group_by("cell", "id")
        .agg(pl.col("weight").sum().alias("mass"), pl.col("top_k_mass").first(), pl.len().alias("rows"))
    )
    assert (per_prediction["rows"] == 5).all()
    assert ((per_prediction["mass"] - per_prediction["top_k_mass"]).abs() < 1e-12).all()
    neighbours_from_train = duckdb.sql(
        f"""select bool_and(p.split = 'train') from '{run}/train/explanations/*.parquet' e
        join '{run}/train/predictions/*.parquet' p on p.cell = e.cell and p.id = e.neighbour_id"""
    ).fetchall()[0][0]
    assert neighbours_from_train
    knn_explanations = pl.read_parquet(run / "knn" / "explanations" / "*.parquet")
    knn_votes = (
        knn_explanations.group_by("source", "cell", "seed", "id")
        .agg((pl.col("weight") * pl.col("neighbour_label")).sum().alias("vote"), pl.col("prediction").first())
    )
    assert len(knn_votes) == knn_rows and ((knn_votes["vote"] - knn_votes["prediction"]).abs() < 1e-9).all()
    # One geometry row per source: the backbone of each seed, each cell's head.
    geometry = pd.read_parquet(run / "geometry")
    assert sorted(zip(geometry["source"], geometry["cell"].fillna(-1), geometry["seed"])) == sorted(
        [("backbone", -1, seed) for seed in (0, 1)]
        + duckdb.sql(f"select distinct 'head', cell, seed from '{run}/train/embeddings/*.parquet'").fetchall()
    )
    train_rows = duckdb.sql(
        f"select count(*) from '{run}/train/predictions/*.parquet' where split = 'train' and cell = 0"
    ).fetchall()[0][0]
    assert (pl.read_parquet(run / "geometry" / "*.parquet")["rows"] == train_rows).all()
    table1 = pd.read_parquet(run / "report" / "metrics")
    assert set(table1["method"]) == {"Dense", "Dense + k-NN", "NONA", "NONA + k-NN", "k-NN"}
    scores = pl.read_parquet(run / "report" / "uncertainty" / "*.parquet")
    assert set(scores["method"]) == {"NONA", "Dense + k-NN", "NONA + k-NN", "k-NN"}
    assert scores["coverage"].is_between(0, 1).all()

    for table_dir, schema_name in [
        (run / "train" / "predictions", "train-predictions"),
        (run / "train" / "embeddings", "head-embeddings"),
        (run / "train" / "curves", "train-curves"),
        (run / "train" / "metrics", "train-metrics"),
        (run / "train" / "explanations", "train-explanations"),
        (run / "knn" / "predictions", "knn-predictions"),
        (run / "knn" / "metrics", "knn-metrics"),
        (run / "knn" / "explanations", "knn-explanations"),
        (run / "geometry", "geometry"),
        (run / "report" / "metrics", "report-metrics"),
        (run / "report" / "uncertainty", "report-uncertainty"),
        (run / "report" / "geometry", "report-geometry"),
    ]:
        _assert_matches_schema_file(table_dir, schema_name)
    record_schema = json.loads((SCHEMAS / "run-record.schema.json").read_text())
    for stage in ("train", "knn", "geometry", "report"):
        jsonschema.validate(_record(run / stage), record_schema)


def test_surfaces_tables_open_everywhere(tmp_path: Path, nona_bin: str) -> None:
    """The generated Fig. 3 comparison: metrics and predictions open in pandas, polars and DuckDB
    and match schemas/."""
    (tmp_path / "fig3.toml").write_text(
        """
[surfaces]
surfaces = ["radial"]
points = 120
seeds = 1
methods = ["linear", "knn", "nona"]
plot_resolution = 8
[surfaces.nona]
max_epochs = 8
"""
    )
    subprocess.run([nona_bin, "run", "fig3.toml"], cwd=tmp_path, check=True, capture_output=True)
    stage = tmp_path / "runs" / "fig3" / "surfaces"
    metrics = pd.read_parquet(stage / "metrics")
    assert list(metrics["method"]) == ["linear", "knn", "nona"]
    assert metrics["knn_k"].notna().tolist() == [False, True, False]
    predictions = pl.read_parquet(stage / "predictions" / "*.parquet")
    assert predictions.height == 3 * 120
    per_split = duckdb.sql(
        f"select split, count(*) from '{stage}/predictions/*.parquet' where method = 'linear' group by split"
    ).fetchall()
    assert sum(count for _, count in per_split) == 120 and {s for s, _ in per_split} == {"train", "validation", "test"}
    _assert_matches_schema_file(stage / "metrics", "surfaces-metrics")
    _assert_matches_schema_file(stage / "predictions", "surfaces-predictions")
    jsonschema.validate(_record(stage), json.loads((SCHEMAS / "run-record.schema.json").read_text()))
