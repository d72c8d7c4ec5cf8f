"""The hub packaging spec: validation, normalization, its hash (the S3 prefix key), TF Hub download URLs."""

import io
import tarfile

import pytest

from jobs.packaging.spec import FORMAT, checked_spec, packaging_spec, spec_hash
from jobs.packaging.tensorflow_hub import download_url, safe_extract

TORCH_SPEC = packaging_spec(
    "pytorch_hub",
    repo="pytorch/vision:v0.20.0",
    entrypoint="resnet50",
    args={"weights": "IMAGENET1K_V2"},
    task="image-classification",
)
KAGGLE = "https://www.kaggle.com/models/google/mobilenet-v2/TensorFlow2/100-224-classification/2"


def test_spec_hash_is_16_hex_of_the_canonical_json():
    assert spec_hash({"b": 1, "a": [1, 2]}) == spec_hash({"a": [1, 2], "b": 1})
    # sha256 of '{"a":[1,2],"b":1}', computed once by hand with sha256sum.
    assert spec_hash({"b": 1, "a": [1, 2]}) == "94a786c3662bc7be"
    assert len(spec_hash(TORCH_SPEC)) == 16 and int(spec_hash(TORCH_SPEC), 16) >= 0


def test_spec_hash_is_stable_across_key_order():
    reordered = dict(reversed(list(TORCH_SPEC.items())))
    reordered["args"] = dict(reversed(list(TORCH_SPEC["args"].items())))
    assert list(reordered) != list(TORCH_SPEC)
    assert spec_hash(reordered) == spec_hash(TORCH_SPEC)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("repo", "pytorch/vision:v0.21.0"),
        ("entrypoint", "resnet101"),
        ("args", {"weights": "IMAGENET1K_V1"}),
        ("task", "object-detection"),
        ("format", FORMAT + 1),
        ("source", "tensorflow_hub"),
    ],
)
def test_spec_hash_changes_when_any_field_changes(field, value):
    assert spec_hash({**TORCH_SPEC, field: value}) != spec_hash(TORCH_SPEC)


def test_normalized_specs_of_the_same_model_hash_equal():
    implicit = packaging_spec("tensorflow_hub", handle=KAGGLE, task="image-classification")
    explicit = packaging_spec("tensorflow_hub", handle=KAGGLE, task="image-classification", image_size=224)
    assert implicit == explicit and spec_hash(implicit) == spec_hash(explicit)
    assert checked_spec(implicit) == implicit


def test_checked_spec_refuses_what_would_not_hash_as_the_stack_computed():
    with pytest.raises(ValueError, match="not normalized"):
        checked_spec({k: v for k, v in TORCH_SPEC.items() if k != "args"})
    with pytest.raises(ValueError, match="format"):
        checked_spec({**TORCH_SPEC, "format": 0})


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"repo": "pytorch/vision"}, "owner/name:tag"),
        ({"task": "segmentation"}, "task"),
        ({"entrypoint": "not a name"}, "entrypoint"),
    ],
)
def test_pytorch_spec_errors_name_the_field(fields, message):
    good = {"repo": "pytorch/vision:v0.20.0", "entrypoint": "resnet50", "task": "image-classification"}
    with pytest.raises(ValueError, match=message):
        packaging_spec("pytorch_hub", **{**good, **fields})


@pytest.mark.parametrize(
    ("handle", "url"),
    [
        (KAGGLE, KAGGLE + "?tf-hub-format=compressed"),
        (
            "https://tfhub.dev/google/imagenet/mobilenet_v2_100_224/classification/5",
            "https://tfhub.dev/google/imagenet/mobilenet_v2_100_224/classification/5?tf-hub-format=compressed",
        ),
        (
            "https://www.kaggle.com/models/google/bit/frameworks/TensorFlow2/variations/m-r50x1/versions/1/",
            "https://www.kaggle.com/models/google/bit/frameworks/TensorFlow2/variations/m-r50x1/versions/1"
            "?tf-hub-format=compressed",
        ),
    ],
)
def test_download_url_is_the_compressed_savedmodel_of_the_handle(handle, url):
    assert download_url(handle) == url


@pytest.mark.parametrize(
    ("handle", "message"),
    [
        ("https://www.kaggle.com/models/google/mobilenet-v2/TensorFlow2/100-224-classification", "version"),
        ("https://tfhub.dev/google/imagenet/mobilenet_v2_100_224/classification", "version"),
        ("http://tfhub.dev/google/imagenet/mobilenet_v2_100_224/classification/5", "https"),
        (KAGGLE + "?tf-hub-format=compressed", "query"),
        ("https://example.com/models/a/b/c/d/1", "tfhub.dev or www.kaggle.com"),
    ],
)
def test_download_url_refuses_unversioned_or_foreign_handles(handle, message):
    with pytest.raises(ValueError, match=message):
        download_url(handle)
    with pytest.raises(ValueError, match=message):
        packaging_spec("tensorflow_hub", handle=handle, task="image-classification")


def test_safe_extract_refuses_members_outside_the_model(tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        member = tarfile.TarInfo("../escape.txt")
        member.size = 2
        archive.addfile(member, io.BytesIO(b"hi"))
    buffer.seek(0)
    with tarfile.open(fileobj=buffer, mode="r:gz") as archive, pytest.raises(ValueError, match="escape"):
        safe_extract(archive, tmp_path / "model")
    assert not (tmp_path / "escape.txt").exists()
