"""nona's tables open as they are in pyarrow, pandas, polars and DuckDB, and match schemas/."""

import json
from pathlib import Path

import duckdb
import jsonschema
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds

from conftest import REPO

SCHEMAS = REPO / "schemas"


def _record(stage_dir: Path) -> dict:
    return json.loads((stage_dir / "_record.json").read_text())


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


def test_errors_table_names_the_failures(image_run: Path) -> None:
    errors = duckdb.sql(f"select id, stage, message from '{image_run}/preprocess/_errors/*.parquet' order by id").fetchall()
    assert [e[0] for e in errors] == ["x3", "x4"]
    assert all(e[1] == "preprocess" for e in errors)
    assert "not a decodable image" in errors[0][2]
    assert "cannot read file" in errors[1][2]


def test_tables_and_records_match_schema_files(image_run: Path) -> None:
    type_names = {pa.string(): "utf8", pa.float64(): "float64", pa.int64(): "int64"}
    for table_dir, schema_name in [(image_run / "preprocess", "samples"), (image_run / "preprocess" / "_errors", "errors")]:
        documented = json.loads((SCHEMAS / f"{schema_name}.schema.json").read_text())
        schema = ds.dataset(table_dir, format="parquet").schema
        assert schema.names == [c["name"] for c in documented["columns"]]
        for column in documented["columns"]:
            field = schema.field(column["name"])
            assert type_names[field.type] == column["type"], column["name"]
            assert field.nullable == column["nullable"], column["name"]
        for key in documented["metadata"]:
            if key["required"]:
                assert key["key"].encode() in schema.metadata, key["key"]

    record_schema = json.loads((SCHEMAS / "run-record.schema.json").read_text())
    jsonschema.validate(_record(image_run / "preprocess"), record_schema)
