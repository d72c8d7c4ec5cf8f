"""text/csv for the TensorFlow sample's SavedModel on TF Serving (shipped as code/inference.py).

Without this file the endpoint takes only TF Serving's REST JSON, `{"instances": [[…8 floats…]]}`.
With it, a request is text/csv rows of encoded features (no label, no header, an empty field is
missing) and the answer is text/csv, one positive-class probability per line. A missing value is
sent to TF Serving as NaN, which its JSON parser accepts and the SavedModel replaces with the
training median. The image's Python has no TensorFlow: stdlib and numpy only.
"""

import json

import numpy as np

CSV_CONTENT_TYPE = "text/csv"


def parse_rows(body: str) -> list[list[float]]:
    """CSV rows of numbers; an empty field is NaN."""
    rows = []
    for line in body.strip().splitlines():
        if line.strip():
            try:
                rows.append([float(field) if field.strip() else float("nan") for field in line.split(",")])
            except ValueError as error:
                raise ValueError(f"features must be numbers (schema.json's encodings): {error}") from error
    if not rows or len({len(row) for row in rows}) != 1:
        raise ValueError("send one or more CSV rows with the same number of features")
    return rows


def input_handler(data, context) -> str:
    """The request body (a stream) as TF Serving's REST JSON."""
    media_type = (context.request_content_type or "").split(";")[0].strip().lower()
    if media_type != CSV_CONTENT_TYPE:
        raise ValueError(
            f"unsupported content type {context.request_content_type!r}; send {CSV_CONTENT_TYPE}"
        )
    body = data.read() if hasattr(data, "read") else data
    return json.dumps({"instances": parse_rows(body.decode("utf-8") if isinstance(body, bytes) else body)})


def output_handler(response, context) -> tuple[str, str]:
    """TF Serving's `{"predictions": [[p], …]}` (a requests.Response) as one score per line."""
    if response.status_code != 200:
        raise ValueError(f"TensorFlow Serving answered {response.status_code}: {response.content.decode()}")
    predictions = np.asarray(json.loads(response.content)["predictions"], dtype=np.float64).reshape(-1)
    return "\n".join(f"{score:.6g}" for score in predictions), CSV_CONTENT_TYPE
