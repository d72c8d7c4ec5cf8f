"""Each transform step on small in-memory data, every bad-data failure, and the output formats."""

import csv
import json
from pathlib import Path

import pytest

from jobs.glue import transform as t

# Spark: one JVM per test process, so every Spark test runs in the same xdist worker.
pytestmark = pytest.mark.xdist_group("spark")

CHURN_HEADER = "id,tenure,plan,churned\n"


def frame(spark, columns: str, rows: list[tuple]):
    """A DataFrame of string columns, as read_raw_csv returns."""
    return spark.createDataFrame(rows, schema=", ".join(f"{c} string" for c in columns.split(",")))


def churn_csv(rows: int, seed_offset: int = 0) -> str:
    """Plans and churn that depend on tenure; ids unique per row."""
    lines = []
    for i in range(rows):
        tenure = (i * 7 + seed_offset) % 60
        plan = ["basic", "plus", "pro"][i % 3]
        lines.append(f"C{i:04d},{tenure},{plan},{'yes' if tenure < 20 else 'no'}")
    return CHURN_HEADER + "\n".join(lines) + "\n"


def test_read_keeps_every_column_a_string_with_rfc4180_quoting(spark, write_raw):
    path = write_raw('name,amount,note\nann,12,"says ""hi"", twice"\n')
    df = t.read_raw_csv(spark, path)
    assert dict(df.dtypes) == {"name": "string", "amount": "string", "note": "string"}
    assert df.first()["note"] == 'says "hi", twice'


def test_trim_strips_whitespace_and_blank_becomes_null(spark):
    df = frame(spark, "a,b", [("  x ", "\ty"), ("   ", None), ("in side", "")])
    assert [tuple(r) for r in t.trim_strings(df).collect()] == [("x", "y"), (None, None), ("in side", None)]


def test_types_are_inferred_and_missing_markers_keep_a_column_numeric(spark):
    rows = [("1", "2.5", "a", None), ("n/a", "3", "b", None), ("2", "?", "1", None)]
    df = frame(spark, "count,price,plan,empty", rows)
    profile = t.profile_columns(df, {})
    types = t.resolve_column_types(df.columns, {}, profile)
    assert types == {"count": "int", "price": "double", "plan": "string", "empty": "string"}
    assert t.count_unparsable(types, {}, profile) == {"count": 1, "price": 1}  # the markers
    given = {"count": "string"}
    assert t.resolve_column_types(df.columns, given, t.profile_columns(df, given))["count"] == "string"


def test_try_cast_turns_bad_values_into_null_and_counts_them(spark):
    df = frame(spark, "n,x,flag", [("5", "1.5", "yes"), ("abc", "NaN", "maybe"), ("12.5", "bad", "false")])
    types = {"n": "int", "x": "double", "flag": "boolean"}
    cast = t.cast_columns(df, types)
    assert dict(cast.dtypes) == {"n": "int", "x": "double", "flag": "boolean"}
    assert [tuple(r) for r in cast.collect()] == [(5, 1.5, True), (None, None, None), (None, None, False)]
    assert t.count_unparsable(types, types, t.profile_columns(df, types)) == {"n": 2, "x": 1, "flag": 1}


def test_unknown_column_types_fail_with_the_allowed_ones():
    with pytest.raises(
        t.DataError, match=r"unknown types \{'a': 'float'\}.*'int', 'double', 'string', 'boolean'"
    ):
        t.check_column_types(["a", "b"], {"a": "float"})
    with pytest.raises(t.DataError, match=r"not in the input: \['zz'\]"):
        t.check_column_types(["a", "b"], {"zz": "int"})


def test_rows_without_a_target_are_dropped_and_duplicates_after_trimming(spark):
    df = frame(spark, "a,y", [("1", "yes"), ("2", None), (" 1", "yes "), ("3", "no")])
    kept = t.drop_duplicates(t.drop_rows_without_target(t.trim_strings(df), "y"))
    assert sorted(tuple(r) for r in kept.collect()) == [("1", "yes"), ("3", "no")]


def test_target_encoding_documents_the_positive_class():
    assert t.target_encoding("y", "string", ["no", "yes"])["codes"] == {"no": 0, "yes": 1}
    assert t.target_encoding("y", "string", ["FALSE", "TRUE"])["positive_class"] == "TRUE"
    assert t.target_encoding("y", "string", ["churn", "stay"])["codes"] == {"churn": 0, "stay": 1}
    assert t.target_encoding("y", "string", ["a", "b", "c"]) == {
        "kind": "multiclass",
        "codes": {"a": 0, "b": 1, "c": 2},
    }
    assert t.target_encoding("y", "boolean", None)["codes"] == {"false": 0, "true": 1}
    assert t.target_encoding("y", "double", None) == {"kind": "numeric"}
    with pytest.raises(t.DataError, match=r"target 'y' has a single value \['no'\]"):
        t.target_encoding("y", "string", ["no"])


def test_identifier_columns_are_dropped_unless_features_are_given(spark):
    df = frame(spark, "id,plan,y", [(f"C{i}", "ab"[i % 2], "yes") for i in range(10)])
    types = {"id": "string", "plan": "string", "y": "string"}
    features, dropped = t.choose_features(df, "y", types, None, rows=10)
    assert features == ["plan"] and dropped["id"].startswith("identifier-like: 10 distinct values in 10 rows")
    assert t.choose_features(df, "y", types, ["id"], rows=10) == (
        ["id"],
        {"plan": "not in the given features"},
    )
    with pytest.raises(t.DataError, match=r"not in input: \['nope'\]"):
        t.choose_features(df, "y", types, ["nope"], rows=10)


def test_encoding_is_sorted_and_the_same_for_the_same_data(spark):
    rows = [("pro", "yes"), ("basic", "no"), (None, "no"), ("plus", "yes"), ("basic", "yes")]
    first = t.category_values(frame(spark, "plan,churned", rows), ["plan", "churned"])
    second = t.category_values(frame(spark, "plan,churned", rows[::-1]), ["plan", "churned"])
    assert first == second == {"plan": ["basic", "plus", "pro"], "churned": ["no", "yes"]}
    encoded = t.label_and_features(
        frame(spark, "plan,churned,split", [(*row, "train") for row in rows]),
        {
            "target": "churned",
            "column_types": {"plan": "string", "churned": "string"},
            "features": ["plan"],
            "category_encodings": {"plan": {"basic": 0, "plus": 1, "pro": 2}},
            "target_encoding": t.target_encoding("churned", "string", first["churned"]),
        },
    )
    assert [tuple(r) for r in encoded.collect()] == [
        (1, 2, "train"),
        (0, 0, "train"),
        (0, None, "train"),
        (1, 1, "train"),
        (1, 0, "train"),
    ]


def test_split_is_seeded_and_near_the_fraction(spark):
    df = spark.range(2000).selectExpr("cast(id as string) as id")
    split = t.split_rows(df, 0.2, seed=11)
    validation = {r.id for r in split.filter("split = 'validation'").collect()}
    again = {r.id for r in t.split_rows(df, 0.2, seed=11).filter("split = 'validation'").collect()}
    other_seed = {r.id for r in t.split_rows(df, 0.2, seed=12).filter("split = 'validation'").collect()}
    assert 300 <= len(validation) <= 500
    assert validation == again and validation != other_seed
    assert split.count() == 2000


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty input: the CSV has no header and no rows"),
        ("id,plan,churned\n", r"empty input: the CSV has a header \(3 columns\) but no rows"),
        (
            "id,plan\nC1,basic\n",
            r"target column 'churned' is missing; the columns present are \['id', 'plan'\]",
        ),
        (
            "id,churned\nC1, \nC2,\n",
            r"every row was dropped at step 'drop rows without target': none of the 2 rows",
        ),
        (
            "a,churned\n1,yes\n2,no\n",
            r"every row was dropped at step 'split': the (train|validation) split is empty",
        ),
        ("a,split,churned\n1,x,yes\n", "the input has a column named 'split'"),
    ],
)
def test_bad_data_fails_with_a_specific_message(spark, write_raw, text, message):
    with pytest.raises(t.DataError, match=message):
        t.transform(spark, write_raw(text), "churned")


def test_a_bad_validation_fraction_fails(spark):
    with pytest.raises(t.DataError, match="validation_fraction must be between 0 and 1, got 1.5"):
        t.split_rows(spark.range(3), 1.5, seed=1)


def read_single_csv(directory: Path) -> list[list[str]]:
    files = [p for p in directory.iterdir() if p.suffix == ".csv" and not p.name.startswith(".")]
    assert len(files) == 1, files  # coalesce(1): one file per output directory
    with files[0].open(newline="") as handle:
        return list(csv.reader(handle))


def test_xgboost_outputs_are_label_first_numbers_without_header(sample_outputs):
    base, metadata = sample_outputs["curated"], sample_outputs["metadata"]
    for split in ("train", "validation"):
        directory = base / "xgboost" / split
        assert not [p.name for p in directory.iterdir() if p.name.startswith("_")]  # no _SUCCESS
        rows = read_single_csv(directory)
        assert len(rows) == metadata["row_counts"][split]
        assert {row[0] for row in rows} == {"0", "1"}
        assert all(len(row) == 1 + len(metadata["features"]) for row in rows)
        numbers = [float(value) for row in rows for value in row if value]  # float() fails on any text
        assert len(numbers) > len(rows) * len(metadata["features"])  # mostly filled, blanks are missing
        # The built-in container sniffs the delimiter from the first line of the first file.
        first_line = next(p for p in directory.iterdir() if p.suffix == ".csv").read_text().splitlines()[0]
        assert csv.Sniffer().sniff(first_line).delimiter == ","


def test_autopilot_output_has_a_header_and_readable_values(sample_outputs):
    rows = read_single_csv(sample_outputs["curated"] / "autopilot")
    metadata = sample_outputs["metadata"]
    assert rows[0] == metadata["features"] + ["churned"]
    assert len(rows) - 1 == metadata["row_counts"]["deduplicated"]
    assert {row[-1] for row in rows[1:]} == {"yes", "no"}
    assert {row[rows[0].index("contract")] for row in rows[1:]} == {"month-to-month", "one-year", "two-year"}


def test_parquet_copy_keeps_every_cleaned_column_and_the_split(spark, sample_outputs):
    df = spark.read.parquet(str(sample_outputs["curated"] / "parquet"))
    counts = {r["split"]: r["count"] for r in df.groupBy("split").count().collect()}
    assert counts == {
        name: sample_outputs["metadata"]["row_counts"][name] for name in ("train", "validation")
    }
    assert "customer_id" in df.columns and dict(df.dtypes)["tenure_months"] == "int"


def test_schema_json_describes_the_outputs(sample_outputs):
    schema = json.loads((sample_outputs["curated"] / "metadata" / "schema.json").read_text())
    assert schema["features"] == [
        "tenure_months",
        "monthly_charges",
        "total_charges",
        "contract",
        "payment_method",
        "internet_service",
        "support_calls",
        "senior",
    ]
    assert schema["target_encoding"]["positive_class"] == "yes"
    assert schema["category_encodings"]["internet_service"] == {"dsl": 0, "fiber": 1, "none": 2}
    assert schema["column_types"]["monthly_charges"] == "double"
    assert schema["outputs"]["xgboost_train"] == "xgboost/train/"
    assert set(schema) >= {"dropped_columns", "row_counts", "unparsable_values", "split", "inferred_types"}


def test_full_transform_of_the_sample_data(sample_outputs):
    metadata = sample_outputs["metadata"]
    counts = metadata["row_counts"]
    # The generator writes 1000 rows with 8 blank targets and 20 exact duplicates.
    assert (counts["read"], counts["with_target"], counts["deduplicated"]) == (1000, 992, 972)
    assert counts["train"] + counts["validation"] == 972
    assert 0.14 <= counts["validation"] / 972 <= 0.26
    assert list(metadata["dropped_columns"]) == ["customer_id"]
    assert metadata["unparsable_values"]["monthly_charges"] >= 1  # the "n/a" values became null
