"""One local Spark session for all job tests, tuned for start-up time on a small machine."""

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_CSV = ROOT / "sample-data" / "churn.csv"


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    from pyspark.sql import SparkSession

    # Python workers (if any) must be this venv's interpreter, not whatever `python` is on PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[1]")
        .appName("mlkit-job-tests")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.adaptive.enabled", "false")
        .config("spark.driver.extraJavaOptions", "-XX:+UseSerialGC -XX:TieredStopAtLevel=1")
        .config("spark.sql.warehouse.dir", str(tmp_path_factory.mktemp("warehouse")))
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture
def write_raw(tmp_path):
    """Write CSV text to a file and return its path (what a raw S3 object would hold)."""

    def write(text: str, name: str = "raw.csv") -> str:
        path = tmp_path / name
        path.write_text(text)
        return str(path)

    return write


@pytest.fixture(scope="session")
def sample_outputs(spark, tmp_path_factory):
    """The transform's outputs for sample-data/churn.csv, written once for the whole session."""
    from jobs.glue.transform import transform, write_outputs

    curated = tmp_path_factory.mktemp("curated")
    result = transform(spark, str(SAMPLE_CSV), "churned")
    paths = write_outputs(result, str(curated))
    return {"curated": curated, "paths": paths, "metadata": result.metadata}
