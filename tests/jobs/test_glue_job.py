"""The Glue entry point: no awsglue at import, argument parsing, run() and main() wiring."""

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

from jobs.glue import glue_job

# Spark: one JVM per test process, so every Spark test runs in the same xdist worker.
pytestmark = pytest.mark.xdist_group("spark")

ROOT = Path(__file__).resolve().parents[2]
RAW = "id,tenure,plan,churned\n" + "\n".join(
    f"C{i:03d},{i % 40},{['basic', 'pro'][i % 2]},{'yes' if i % 40 < 12 else 'no'}" for i in range(80)
)
REQUIRED_ARGV = [
    "glue_job.py",
    "--JOB_NAME",
    "churn-transform",
    "--raw_path",
    "s3://raw/churn/",
    "--curated_path",
    "s3://curated/churn/",
    "--target",
    "churned",
    "--database",
    "mlkit",
    "--table",
    "churn",
]


@pytest.mark.parametrize(
    ("cwd", "statement"),
    [(ROOT, "import jobs.glue.glue_job"), (ROOT / "jobs" / "glue", "import glue_job")],
    ids=["as-package", "as-glue-script"],
)
def test_importing_the_entry_point_does_not_import_awsglue(cwd, statement):
    code = f"import sys; {statement}; print(sorted(m for m in sys.modules if m.startswith('awsglue')))"
    output = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, check=True, timeout=60
    )
    assert output.stdout.strip() == "[]"


def test_only_optional_arguments_present_are_requested():
    argv = REQUIRED_ARGV + ["--seed", "3", '--features=["plan"]']
    assert glue_job.present_optional_args(argv) == ["features", "seed"]
    assert glue_job.present_optional_args(REQUIRED_ARGV) == []


def test_arguments_resolve_with_awsglue_with_and_without_optional_ones():
    from awsglue.utils import getResolvedOptions

    argv = REQUIRED_ARGV + ["--validation_fraction", "0.3", "--column_types", '{"tenure": "int"}']
    resolved = getResolvedOptions(argv, glue_job.REQUIRED_ARGS + glue_job.present_optional_args(argv))
    options = glue_job.parse_job_args(resolved)
    assert (options.validation_fraction, options.column_types, options.seed) == (0.3, {"tenure": "int"}, 42)
    plain = getResolvedOptions(
        REQUIRED_ARGV, glue_job.REQUIRED_ARGS + glue_job.present_optional_args(REQUIRED_ARGV)
    )
    assert glue_job.parse_job_args(plain).features is None


def test_parse_job_args_accepts_strings_or_values_and_blank_means_default():
    base = {"raw_path": "s3://r/", "curated_path": "s3://c/", "target": "y"}
    from_glue = glue_job.parse_job_args(base | {"features": '["a", "b"]', "seed": "7", "column_types": " "})
    from_local = glue_job.parse_job_args(
        base | {"features": ["a", "b"], "seed": 7, "validation_fraction": 0.25}
    )
    assert from_glue.features == from_local.features == ["a", "b"]
    assert (from_glue.seed, from_glue.column_types, from_glue.validation_fraction) == (7, None, 0.2)
    assert from_local.validation_fraction == 0.25


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"column_types": "{tenure: int}"}, "--column_types is not valid JSON"),
        ({"column_types": '["int"]'}, "--column_types must be a JSON dict"),
        ({"features": '"plan"'}, "--features must be a JSON list"),
        ({"validation_fraction": "1"}, "--validation_fraction must be between 0 and 1, got 1.0"),
        ({"validation_fraction": "a fifth"}, "--validation_fraction must be a float, got 'a fifth'"),
        ({"seed": "1.5"}, "--seed must be a int, got '1.5'"),
        ({"target": ""}, "missing job arguments: --target"),
    ],
)
def test_bad_job_arguments_fail_with_the_argument_named(extra, message):
    args = {"raw_path": "s3://r/", "curated_path": "s3://c/", "target": "y"} | extra
    with pytest.raises(ValueError, match=message):
        glue_job.parse_job_args(args)


def test_run_works_with_a_plain_session_and_local_paths(spark, write_raw, tmp_path):
    args = {
        "raw_path": write_raw(RAW),
        "curated_path": str(tmp_path / "curated"),
        "target": "churned",
        "column_types": {"tenure": "double"},
        "features": ["tenure", "plan"],
    }
    metadata = glue_job.run(spark, args)
    assert metadata["column_types"]["tenure"] == "double" and metadata["features"] == ["tenure", "plan"]
    assert metadata["dropped_columns"] == {"id": "not in the given features"}
    schema = json.loads((tmp_path / "curated" / "metadata" / "schema.json").read_text())
    assert schema["row_counts"] == metadata["row_counts"]


def test_register_table_rejects_names_that_are_not_identifiers(spark):
    with pytest.raises(ValueError, match="table name 'churn; DROP' must be letters"):
        glue_job.register_table(spark, "default", "churn; DROP", "/tmp/x")


def fake_awsglue(monkeypatch, spark) -> dict:
    """Stand-ins for GlueContext and Job, which only run on Glue; getResolvedOptions stays real."""
    import awsglue.utils  # noqa: F401  (loaded first, so it keeps the real Job it imports)

    calls: dict = {}

    class GlueContext:
        def __init__(self, spark_context):
            self.spark_session = spark

    class Job:
        def __init__(self, glue_context):
            calls["context"] = glue_context

        def init(self, name, args):
            calls["init"] = (name, args["target"])

        def commit(self):
            calls["committed"] = True

    monkeypatch.setitem(sys.modules, "awsglue.context", types.SimpleNamespace(GlueContext=GlueContext))
    monkeypatch.setitem(sys.modules, "awsglue.job", types.SimpleNamespace(Job=Job))
    return calls


def test_main_transforms_writes_and_catalogues_the_parquet_copy(
    spark, write_raw, tmp_path, monkeypatch, capsys
):
    calls = fake_awsglue(monkeypatch, spark)
    curated = tmp_path / "curated"
    argv = ["glue_job.py", "--JOB_NAME", "churn-transform", "--raw_path", write_raw(RAW)]
    argv += [
        "--curated_path",
        str(curated),
        "--target",
        "churned",
        "--database",
        "default",
        "--table",
        "churn",
    ]
    argv += ["--validation_fraction", "0.25", "--seed", "5"]
    glue_job.main(argv)
    try:
        assert calls["init"] == ("churn-transform", "churned") and calls["committed"]
        table = spark.table("default.churn")
        assert table.count() == 80 and "split" in table.columns
        assert '"row_counts"' in capsys.readouterr().out
        schema = json.loads((curated / "metadata" / "schema.json").read_text())
        assert schema["split"] == {"validation_fraction": 0.25, "seed": 5}
    finally:
        spark.sql("DROP TABLE IF EXISTS default.churn")
