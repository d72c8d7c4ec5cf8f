"""mlkit/botocore_loader.py: sessions made after share_loader() read each botocore file once."""

import boto3
import botocore.loaders
import botocore.session
import pytest

from mlkit import botocore_loader
from mlkit.botocore_loader import share_loader


@pytest.fixture
def files_read(monkeypatch):
    """The botocore data files parsed from now on, by sessions made after share_loader().

    tests/conftest.py shared the suite's Loader already: it is dropped here, so this test starts from
    botocore's own factory and nothing parsed yet (the suite's next session makes a new shared one)."""
    monkeypatch.setattr(botocore.session, "create_loader", botocore.loaders.create_loader)
    share_loader()
    botocore_loader._one_loader_per_data_path.cache_clear()
    read = []
    original = botocore.loaders.JSONFileLoader.load_file

    def load_file(self, file_path):
        read.append("/".join(file_path.rsplit("/", 3)[-3:]))
        return original(self, file_path)

    monkeypatch.setattr(botocore.loaders.JSONFileLoader, "load_file", load_file)
    return read


def test_sessions_share_one_loader_and_parse_a_model_once(files_read):
    for _ in range(3):
        boto3.Session(region_name="us-east-1").client("sts")
    assert files_read.count("sts/2011-06-15/service-2") == 1, files_read  # once for three sessions
    assert files_read.count("botocore/data/endpoints") == 1, files_read
    assert botocore.session.Session().get_component("data_loader") is (
        boto3.Session()._session.get_component("data_loader")
    )


def test_a_different_data_path_gets_its_own_loader(tmp_path):
    first = botocore.session.Session()
    other = botocore.session.Session()
    other.set_config_variable("data_path", str(tmp_path))
    assert first.get_component("data_loader") is not other.get_component("data_loader")
    assert str(tmp_path) in other.get_component("data_loader").search_paths
