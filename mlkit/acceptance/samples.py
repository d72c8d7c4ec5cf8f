"""Each model's sample request, and what its answer through the API must look like.

The requests are the ones `make local` sends, made real: the hub models' sample image
(sources/hub/local.py), CSV rows of the curated dataset, features only, as the trained models'
route checks send them (mlkit/local_training.py `feature_rows`), and JSON text for the rest. A real
model decodes what it is sent, so an image route gets an image and an audio route a WAV, never text.

The expected answer follows from the route (lambdas/router.py): a Bedrock model answers 200 with the
Converse text; an async endpoint 202 with where its answer will land; any other endpoint 200 with its
own body, typed as the request's Accept asked.
"""

import csv
import io
import json
import random
import struct
import tempfile
import uuid
import wave
from pathlib import Path
from typing import NamedTuple

from lambdas.shared.registry import BEDROCK_SOURCE
from mlkit import local_training
from mlkit.client import Answer, error_line, media_type, parsed_json
from mlkit.report import StepFailed
from mlkit.route_proof import as_bytes, sample_request
from sources import source_of
from sources.hub.local import PNG, sample_image
from sources.training.local import CSV, REQUEST_ROWS

JSON = "application/json"
WAV = "audio/wav"
IMAGE_TYPES = ("image/", "application/x-image")
TEXT = "mlkit acceptance: the kit is deployed and this model answers"
# Hugging Face tasks whose "inputs" is not one string (the HF inference toolkit's pipelines' shapes).
TASK_INPUTS = {
    "question-answering": {"question": "What answers?", "context": TEXT},
    "sentence-similarity": {"source_sentence": TEXT, "sentences": [TEXT, "a kit that answers"]},
    "fill-mask": "The kit is deployed and the model [MASK].",  # BERT's mask token; RoBERTa's is <mask>
}
TASK_PARAMETERS = {
    "zero-shot-classification": {"candidate_labels": ["deployment", "cooking"]},
    "text-generation": {"max_new_tokens": 16},  # a short answer: the check needs one, not an essay
}


class Sample(NamedTuple):
    body: bytes
    content_type: str
    accept: str
    what: str  # for the report: "5 curated rows", "a 64x48 PNG"
    rows: int = 0  # CSV rows sent: a CSV answer has one line for each


def first_of(content_types, kinds: tuple[str, ...], preferred: str) -> str | None:
    """``preferred`` if the route declares it, else its first type of ``kinds``, else None."""
    if preferred in content_types:
        return preferred
    return next((kind for kind in content_types if kind.startswith(kinds)), None)


def sample_for(model, rows_of) -> Sample:
    """The request to send ``model``; ``rows_of(model)`` gives curated CSV rows (trained models)."""
    if model.source == BEDROCK_SOURCE:
        return Sample(json.dumps({"prompt": TEXT}).encode(), JSON, JSON, "a prompt")
    content_types = source_of(model).content_types(model)
    if source_of(model).trains_on_dataset and CSV in content_types:
        rows = rows_of(model)
        count = len(rows.splitlines())
        return Sample(rows.encode(), CSV, CSV, f"{count} curated rows", count)
    image = first_of(content_types, IMAGE_TYPES, PNG)
    if image:
        picture = sample_image()
        return Sample(picture, image, JSON, f"a {len(picture)}-byte PNG")
    audio = first_of(content_types, ("audio/",), WAV)
    if audio:
        return Sample(silent_wav(), audio, JSON, "one second of WAV")
    task = getattr(model, "task", None)
    payload = {"inputs": TASK_INPUTS.get(task, f"{TEXT} ({uuid.uuid4().hex[:8]})")}
    if task in TASK_PARAMETERS:
        payload["parameters"] = TASK_PARAMETERS[task]
    body, kind = sample_request(content_types, JSON, json.dumps(payload))
    return Sample(as_bytes(body), kind, JSON, f"JSON for {task or 'the model'}")


def silent_wav(seconds: float = 1.0, rate: int = 16000) -> bytes:
    """A mono 16-bit WAV of silence: what a speech model decodes without a sample file."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(rate)
        audio.writeframes(struct.pack("<h", 0) * int(seconds * rate))
    return buffer.getvalue()


def curated_rows(s3, bucket: str, model, count: int = REQUEST_ROWS) -> str:
    """``count`` random rows of the model's curated dataset as it is served: features only, no header."""
    if model.source == "autopilot":
        return autopilot_rows(s3, bucket, model, count)
    prefix = f"{model.dataset}/xgboost/validation/"
    with tempfile.TemporaryDirectory() as directory:
        if not local_training.download_prefix(s3, bucket, prefix, Path(directory)):
            raise StepFailed(f"no curated rows under s3://{bucket}/{prefix}: was the dataset prepared?")
        return local_training.feature_rows(Path(directory), count, random.Random())


def autopilot_rows(s3, bucket: str, model, count: int) -> str:
    """Autopilot's input has a header naming the target: its rows without that column."""
    prefix = f"{model.dataset}/autopilot/"
    keys = [key for key in local_training.object_keys(s3, bucket, prefix) if key.endswith(".csv")]
    if not keys:
        raise StepFailed(f"no curated CSV under s3://{bucket}/{prefix}: was the dataset prepared?")
    text = s3.get_object(Bucket=bucket, Key=keys[0])["Body"].read().decode("utf-8")
    header, *records = list(csv.reader(io.StringIO(text)))
    if model.target not in header:
        raise StepFailed(f"s3://{bucket}/{keys[0]} has no {model.target!r} column: {header}")
    target = header.index(model.target)
    chosen = random.Random().sample(records, min(count, len(records)))
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(
        [v for i, v in enumerate(r) if i != target] for r in chosen
    )
    return out.getvalue().rstrip("\n")


def check_answer(model, sample: Sample, answer: Answer) -> str:
    """What the answer showed, or StepFailed naming the status, type or shape that is wrong."""
    hosting = model.hosting.type if getattr(model, "hosting", None) else "bedrock"
    wanted_status = 202 if hosting == "async" else 200
    if answer.status != wanted_status:
        raise StepFailed(f"answered {error_line(answer)} ({hosting} hosting answers {wanted_status})")
    wanted_type = JSON if hosting == "async" else sample.accept
    if media_type(answer.content_type) != wanted_type:
        raise StepFailed(f"answered {answer.content_type or 'no Content-Type'}, not {wanted_type}")
    if hosting == "async":
        return queued_shape(answer)
    if wanted_type == CSV:
        return csv_shape(answer, sample.rows)
    payload = parsed_json(answer)
    if payload is None:
        raise StepFailed(f"answered {answer.body[:80]!r}, which is not JSON")
    if model.source == BEDROCK_SOURCE:
        return converse_shape(model, payload)
    if payload in ({}, [], None, ""):
        raise StepFailed(f"answered an empty {json.dumps(payload)}")
    return f"200 {JSON}: {json.dumps(payload)[:80]}"


def csv_shape(answer: Answer, rows: int) -> str:
    lines = [line for line in answer.body.decode("utf-8", "replace").splitlines() if line.strip()]
    if len(lines) != rows:
        raise StepFailed(f"answered {len(lines)} CSV lines for {rows} rows: {answer.body[:80]!r}")
    return f"200 {CSV}: {rows} lines for {rows} rows, first {lines[0][:40]!r}"


def converse_shape(model, payload) -> str:
    text = payload.get("text") if isinstance(payload, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise StepFailed(f"answered no text: {json.dumps(payload)[:120]}")
    if payload.get("model_id") != model.model_id:
        raise StepFailed(f"answered from {payload.get('model_id')!r}, not {model.model_id!r}")
    usage = payload.get("usage") or {}
    return f"200 {JSON}: {len(text)} characters of text, {usage.get('output_tokens')} output tokens"


def queued_shape(answer: Answer) -> str:
    payload = parsed_json(answer)
    payload = payload if isinstance(payload, dict) else {}
    inference, output = payload.get("inference_id"), payload.get("output_location")
    if not inference or not isinstance(output, str) or not output.startswith("s3://"):
        raise StepFailed(f"answered 202 without inference_id and an s3:// output_location: {payload}")
    return f"202 {JSON}: inference {inference}, answer due at {output}"
