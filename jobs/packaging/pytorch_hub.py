"""Package a PyTorch Hub model as TorchScript plus the PyTorch serving handlers.

Why TorchScript: the endpoint runs with network isolation and must not need the hub repo. A scripted
module carries its own code and weights, so `torch.jit.load` needs nothing but torch (plus torchvision's
registered ops for its detectors, which the PyTorch DLC ships). torchvision scripts all its classifiers
and detectors (its CI checks it), and scripting keeps a detector's data-dependent control flow, which
tracing and `torch.export` cannot for torchvision's detectors. A pickled module would instead need the
repo's Python code vendored and importable under the same names, and would shadow or clash with the
installed torchvision for pytorch/vision. `torch.jit.script` is deprecated in favour of `torch.export`;
when a model cannot be scripted, classifiers fall back to `torch.jit.trace` (fixed control flow).

Labels and preprocessing come from the model's weights where the hub exposes them (torchvision's
`Weights.meta["categories"]` and `transforms()`), else class indices and ImageNet defaults.
"""

import shutil
import urllib.request
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from jobs.packaging.artifact import add_serving_code, tree_sha256, write_tarball

MODEL_FILE = "model.pt"
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
CLASSIFICATION_DEFAULTS = {"resize_size": 256, "crop_size": 224, "mean": IMAGENET_MEAN, "std": IMAGENET_STD}
DETECTION_DEFAULTS = {"resize_size": None, "crop_size": None, "mean": None, "std": None}


@dataclass
class HubSource:
    """Where torch.hub loads the repo from, and what of it can be pinned in the manifest."""

    load: Callable[[str, dict], torch.nn.Module]  # (entrypoint, keyword args) -> model
    pin: Callable[[], dict]  # repo, tag, commit, tree digest: what was actually loaded


def github_source(repo: str) -> HubSource:
    """torch.hub's GitHub download of "owner/name:tag" (the Processing job's network)."""
    name, tag = repo.split(":", 1)

    def load(entrypoint: str, args: dict) -> torch.nn.Module:
        # force_reload: a stale cache must not stand in for the tag; trust_repo: the config names it.
        return torch.hub.load(repo, entrypoint, source="github", force_reload=True, trust_repo=True, **args)

    def pin() -> dict:
        owner, repository = name.split("/")
        cached = Path(torch.hub.get_dir()) / f"{owner}_{repository}_{tag.replace('/', '_')}"
        return {
            "repo": name,
            "tag": tag,
            "commit": github_commit(name, tag),
            "tree_sha256": tree_sha256(cached) if cached.is_dir() else None,
        }

    return HubSource(load=load, pin=pin)


def local_source(repo_dir: str | Path) -> HubSource:
    """A hub repo on disk (torch.hub's source="local"): no network, e.g. sample-data/tiny-hub."""
    repo_dir = Path(repo_dir).resolve()

    def load(entrypoint: str, args: dict) -> torch.nn.Module:
        return torch.hub.load(str(repo_dir), entrypoint, source="local", **args)

    def pin() -> dict:
        return {"repo": str(repo_dir), "tag": None, "commit": None, "tree_sha256": tree_sha256(repo_dir)}

    return HubSource(load=load, pin=pin)


def github_commit(name: str, tag: str, timeout: float = 20.0) -> str | None:
    """The commit a tag points at, from GitHub's API; None when it cannot be read (rate limit, no network).

    torch.hub downloads the tag's zipball and drops the commit id, so this is read separately, right
    after the download; tree_sha256 in the manifest is the exact content whatever this returns.
    """
    request = urllib.request.Request(
        f"https://api.github.com/repos/{name}/commits/{tag}", headers={"Accept": "application/vnd.github.sha"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            commit = response.read().decode().strip()
    except OSError:
        return None
    return commit if len(commit) == 40 else None


def package(spec: dict, workdir: str | Path, source: HubSource | None = None) -> tuple[Path, dict]:
    """Load the spec's hub model once, script it, write workdir/model.tar.gz; returns it and the manifest."""
    source = source or github_source(spec["repo"])
    model = source.load(spec["entrypoint"], spec["args"]).eval()
    serving = serving_config(model, spec)
    model_dir = Path(workdir) / "model"
    shutil.rmtree(model_dir, ignore_errors=True)
    model_dir.mkdir(parents=True)
    method = save_torchscript(model, spec["task"], serving, model_dir / MODEL_FILE)
    add_serving_code(model_dir, "pytorch_inference.py", serving)
    tarball = write_tarball(model_dir, Path(workdir) / "model.tar.gz")
    manifest = {
        "spec": spec,
        "hub": source.pin(),
        "entrypoint": spec["entrypoint"],
        "args": spec["args"],
        "task": spec["task"],
        "torch_version": torch.__version__,
        "serialization": method,
        "labels": len(serving["labels"]),
    }
    return tarball, manifest


def serving_config(model: torch.nn.Module, spec: dict) -> dict:
    """Labels and preprocessing for code/inference.py, from the model's weights where it has them."""
    weights = getattr(model, "weights", None) or torchvision_weights(spec["entrypoint"], spec["args"])
    defaults = CLASSIFICATION_DEFAULTS if spec["task"] == "image-classification" else DETECTION_DEFAULTS
    config = {"task": spec["task"], **defaults}
    labels = None
    if weights is not None:
        labels = weights.meta.get("categories")
        transforms = weights.transforms()
        for key in ("resize_size", "crop_size"):
            size = getattr(transforms, key, None)
            if size is not None:
                config[key] = size[0] if size else None  # torchvision keeps sizes as one-item lists
        for key in ("mean", "std"):
            if hasattr(transforms, key):
                config[key] = list(getattr(transforms, key)) if getattr(transforms, key) else None
    config["labels"] = list(labels) if labels else [str(index) for index in range(class_count(model, config))]
    return config


def torchvision_weights(entrypoint: str, args: dict):
    """torchvision's weights enum entry named by args["weights"] (e.g. "IMAGENET1K_V2"), if any."""
    name = args.get("weights")
    if not isinstance(name, str):
        return None
    try:
        from torchvision.models import get_model_weights
    except ImportError:  # not a torchvision model (and none installed): labels fall back to indices
        return None
    try:
        enum = get_model_weights(entrypoint)
    except (ValueError, KeyError):
        return None
    return enum.DEFAULT if name == "DEFAULT" else enum[name.rsplit(".", 1)[-1]]


def class_count(model: torch.nn.Module, config: dict) -> int:
    """Number of classes when no labels are known: the classifier's output width."""
    if config["task"] != "image-classification":
        return 0  # detections carry their own label ids; unnamed ones are served as their index
    size = config["crop_size"] or 224
    with torch.no_grad():
        return int(model(torch.zeros(1, 3, size, size)).shape[-1])


def save_torchscript(model: torch.nn.Module, task: str, serving: dict, path: Path) -> str:
    """Script the model (trace a classifier that cannot be scripted); returns the method used."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit's deprecation: see the docstring
        try:
            scripted, method = torch.jit.script(model), "torchscript-script"
        except Exception as error:  # scripting fails with many error types (frontend, type inference)
            if task != "image-classification":
                raise RuntimeError(f"cannot script this {task} model for serving: {error}") from error
            size = serving["crop_size"] or 224
            example = torch.zeros(1, 3, size, size)
            scripted, method = torch.jit.trace(model, example, check_trace=False), "torchscript-trace"
        torch.jit.save(scripted, str(path))
    return method
