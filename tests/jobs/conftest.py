"""Job-test fixtures; the Spark session itself is tests/conftest.py's, shared with the local-run tests."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_CSV = ROOT / "sample-data" / "churn.csv"


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
