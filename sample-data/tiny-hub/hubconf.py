"""A tiny torch.hub repo for tests and `make local`: load it with
`torch.hub.load("sample-data/tiny-hub", "tiny_classifier", source="local")`.

Weights come from a fixed seed, so every load gives the same model. Each model carries a `weights`
object shaped like torchvision's (`meta["categories"]`, `transforms()` with resize/crop/mean/std), which
is where the packager reads labels and preprocessing from.
"""

from types import SimpleNamespace

import torch
from torch import nn

dependencies = ["torch"]

CATEGORIES = ["cat", "dog", "bird", "fish", "horse", "frog", "ship"]
IMAGE_SIZE = 32
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


class TinyClassifier(nn.Module):
    """Two layers: a 3x3 convolution, then a linear layer over the pooled features."""

    def __init__(self, num_classes: int):
        super().__init__()
        self.features = nn.Conv2d(3, 8, kernel_size=3, padding=1)
        self.classifier = nn.Linear(8, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        pooled = torch.relu(self.features(images)).mean(dim=(2, 3))
        return self.classifier(pooled)


class TinyDetector(nn.Module):
    """Scores a fixed 2x2 grid of boxes per image; outputs are torchvision's detection format."""

    def __init__(self, num_classes: int):
        super().__init__()
        self.head = nn.Conv2d(3, num_classes, kernel_size=3, padding=1)

    def forward(self, images: list[torch.Tensor]) -> list[dict[str, torch.Tensor]]:
        detections: list[dict[str, torch.Tensor]] = []
        for image in images:
            height, width = image.shape[-2], image.shape[-1]
            # One cell per quadrant: its class scores are the head's mean over that quadrant.
            cells = nn.functional.adaptive_avg_pool2d(self.head(image.unsqueeze(0)), 2)[0]
            probabilities = torch.softmax(cells.flatten(1).transpose(0, 1), dim=1)
            scores, labels = probabilities.max(dim=1)
            rows = torch.tensor([0.0, 0.0, 1.0, 1.0]) * (height / 2)
            columns = torch.tensor([0.0, 1.0, 0.0, 1.0]) * (width / 2)
            boxes = torch.stack([columns, rows, columns + width / 2, rows + height / 2], dim=1)
            order = torch.argsort(scores, descending=True)
            detections.append({"boxes": boxes[order], "labels": labels[order], "scores": scores[order]})
        return detections


def _weights(num_classes: int, resize_size: list[int], crop_size: list[int], normalize: bool):
    categories = CATEGORIES[:num_classes] if num_classes <= len(CATEGORIES) else None
    transforms = SimpleNamespace(
        resize_size=resize_size,
        crop_size=crop_size,
        mean=MEAN if normalize else None,
        std=STD if normalize else None,
    )
    return SimpleNamespace(meta={"categories": categories}, transforms=lambda: transforms)


def _seeded(model: nn.Module, seed: int) -> nn.Module:
    generator = torch.Generator().manual_seed(seed)  # a private generator: the global RNG stays untouched
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.5)
    return model.eval()


def tiny_classifier(pretrained: bool = True, num_classes: int = 3) -> nn.Module:
    """Image classifier over 32x32 RGB images; `pretrained` gives the fixed-seed weights."""
    model = TinyClassifier(num_classes)
    if pretrained:
        _seeded(model, seed=1234)
        model.weights = _weights(num_classes, [IMAGE_SIZE], [IMAGE_SIZE], normalize=True)
    return model.eval()


def tiny_detector(pretrained: bool = True, num_classes: int = 3) -> nn.Module:
    """Object detector over images of any size, taking [0, 1] floats like torchvision's detectors."""
    model = TinyDetector(num_classes)
    if pretrained:
        _seeded(model, seed=4321)
        model.weights = _weights(num_classes, [], [], normalize=False)
    return model.eval()
