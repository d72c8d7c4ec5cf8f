"""The Processing entry point runs the Glue job's transform: the same curated outputs from the same data."""

import json
import shutil
import zipfile

import pytest

from jobs.glue import glue_job
from jobs.processing import prepare_job
from stacks.constructs.processing_prepare_job import PACKAGE_FILES, prepare_code_archive
from tests.jobs.conftest import ROOT, SAMPLE_CSV
from tests.python_files import run_python

# Spark: one JVM per test process, so every Spark test runs in the same xdist worker.
pytestmark = pytest.mark.xdist_group("spark")


def curated_files(spark, base) -> dict[str, str]:
    """Every output as comparable text: CSV and JSON files as they are, Parquet as its sorted rows."""
    found = {}
    for path in sorted(p for p in base.rglob("*") if p.is_file() and not p.name.startswith(".")):
        relative = path.relative_to(base)
        if relative.parts[0] == "parquet":
            continue
        found[f"{relative.parent}/{path.suffix}"] = path.read_text()  # part-file names are random
    rows = spark.read.parquet(str(base / "parquet")).collect()
    found["parquet"] = "\n".join(sorted(json.dumps(row.asDict(), sort_keys=True) for row in rows))
    return found


@pytest.fixture(scope="module")
def glue_outputs(spark, tmp_path_factory):
    curated = tmp_path_factory.mktemp("glue-curated")
    glue_job.run(spark, {"raw_path": str(SAMPLE_CSV), "curated_path": str(curated), "target": "churned"})
    return curated_files(spark, curated)


def test_arguments_are_the_glue_jobs_name_value_pairs():
    argv = ["--raw_path", "s3://r/churn/", "--target=churned", "--features", '["a", "b"]']
    assert prepare_job.parse_arguments(argv) == {
        "raw_path": "s3://r/churn/",
        "target": "churned",
        "features": '["a", "b"]',
    }
    with pytest.raises(ValueError, match="--target has no value"):
        prepare_job.parse_arguments(["--target"])
    with pytest.raises(ValueError, match="expected --name value"):
        prepare_job.parse_arguments(["churned"])


def test_the_processing_job_writes_what_the_glue_job_writes(spark, tmp_path, glue_outputs):
    raw = tmp_path / "raw" / "churn"
    raw.mkdir(parents=True)
    shutil.copy(SAMPLE_CSV, raw / "churn.csv")
    curated = tmp_path / "curated"
    prepare_job.prepare(spark, {"raw_path": str(raw), "curated_path": str(curated), "target": "churned"})
    produced = curated_files(spark, curated)
    assert sorted(produced) == sorted(glue_outputs)
    assert produced == glue_outputs
    assert json.loads(produced["metadata/.json"])["row_counts"]["read"] > 0


def test_a_flow_output_in_sub_folders_is_read_whole_from_the_environment(
    spark, tmp_path, monkeypatch, glue_outputs
):
    # Data Wrangler writes part files, possibly a folder down, with markers Spark skips.
    lines = SAMPLE_CSV.read_text().splitlines(keepends=True)
    header, rows = lines[0], lines[1:]
    output = tmp_path / "data-wrangler" / "run-1"
    (output / "part").mkdir(parents=True)
    (output / "part-00000.csv").write_text(header + "".join(rows[: len(rows) // 2]))
    (output / "part" / "part-00001.csv").write_text(header + "".join(rows[len(rows) // 2 :]))
    (output / "_SUCCESS").write_text("")
    monkeypatch.setenv(prepare_job.RAW_PATH_VARIABLE, str(output))
    curated = tmp_path / "curated"
    metadata = prepare_job.prepare(
        spark, {"curated_path": str(curated), "target": "churned", "recursive": "true"}
    )
    assert metadata["row_counts"]["read"] == len(rows)
    produced = json.loads(curated_files(spark, curated)["metadata/.json"])
    assert produced["features"] == json.loads(glue_outputs["metadata/.json"])["features"]


def test_an_empty_flow_output_fails_saying_where(spark, tmp_path):
    (tmp_path / "_SUCCESS").write_text("")
    with pytest.raises(ValueError, match="no data files below"):
        prepare_job.prepare(
            spark,
            {
                "raw_path": str(tmp_path),
                "curated_path": str(tmp_path / "c"),
                "target": "y",
                "recursive": "true",
            },
        )


def test_the_shipped_zip_holds_the_package_and_imports_without_awsglue(tmp_path):
    archive = prepare_code_archive()
    assert prepare_code_archive() == archive  # reproducible: one asset hash per content
    with zipfile.ZipFile(archive) as opened:
        assert sorted(opened.namelist()) == sorted(PACKAGE_FILES)
    code = (
        "import sys, jobs.processing.prepare_job, jobs.glue.glue_job; "
        "print(sorted(m for m in sys.modules if m.startswith('awsglue')))"
    )
    output = run_python(code, cwd=tmp_path, env={"PYTHONPATH": str(archive)})
    assert (output.returncode, output.stdout.strip()) == (0, "[]"), output.stderr
    assert (ROOT / "jobs" / "processing" / "prepare_job.py").read_bytes() == zipfile.ZipFile(archive).read(
        "jobs/processing/prepare_job.py"
    )
