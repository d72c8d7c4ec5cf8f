"""`make local`, Hugging Face models: the endpoint CloudFormation made, and the router's call to it."""

from mlkit.route_checks import check_pretrained_endpoint

NOT_EMULATED = "the answer is the emulator's seeded one: no Hugging Face container runs offline"


def run_locally(report, run, label: str, model) -> None:
    check_pretrained_endpoint(report, run, label, model, NOT_EMULATED)
