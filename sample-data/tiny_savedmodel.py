"""Write sample-data/tiny-savedmodel/: a SavedModel as a TF Hub archive holds it, for `make local`.

Mean colour, then a dense layer: logits for four colour classes, from fixed weights; it takes images of
any size, as a TF Hub classifier takes 224x224. Committed (a few KB) so `make local` packages it
without importing TensorFlow. Regenerate: python sample-data/tiny_savedmodel.py
"""

from pathlib import Path

import numpy as np
import tensorflow as tf

TARGET = Path(__file__).resolve().parent / "tiny-savedmodel"
LABELS = ["red", "green", "blue", "gray"]


class TinyClassifier(tf.Module):
    def __init__(self):
        super().__init__()
        rng = np.random.default_rng(3)
        self.kernel = tf.Variable(rng.normal(size=(3, 4)).astype(np.float32) * 4)
        self.bias = tf.Variable(rng.normal(size=(4,)).astype(np.float32))

    def classify(self, images):
        return {"logits": tf.matmul(tf.reduce_mean(images, axis=[1, 2]), self.kernel) + self.bias}


def write(target: Path, image_size: int | None = None) -> None:
    """The classifier as a TF Hub archive holds it, its labels among the assets. Its signature takes
    images of any size, or only ``image_size`` square ones (tests/jobs/test_hub_tensorflow.py)."""
    module = TinyClassifier()
    images = tf.TensorSpec([None, image_size, image_size, 3], tf.float32, name="images")
    serving = tf.function(module.classify, input_signature=[images])
    tf.saved_model.save(module, str(target), signatures={"serving_default": serving})
    (target / "assets").mkdir(exist_ok=True)
    (target / "assets" / "labels.txt").write_text("\n".join(LABELS) + "\n")


if __name__ == "__main__":
    write(TARGET)
    print(f"wrote {TARGET}")
