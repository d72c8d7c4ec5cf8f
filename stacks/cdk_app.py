"""The CDK App every mlkit synth runs in: `cdk synth`/`deploy` through app.py, the tests, the benchmarks."""

import os

import aws_cdk as cdk

# The CDK CLI turns this off for the app it runs; mlkit wants a cdk-nag finding to stop synth.
FAIL_ON_VALIDATION_ERRORS = {"@aws-cdk/core:failSynthOnValidationErrors": True}


def mlkit_app(**props) -> cdk.App:
    """A ``cdk.App`` with mlkit's settings; ``props`` (``outdir``, ``context``) pass through.

    CDK's built-in CloudFormation validation is off: it only warns by default, and starting its
    engine costs 2-3 s of every synth, diff and deploy (a third of the dev config's synth). mlkit
    gates its templates instead with cdk-nag at every synth (findings fail it) and with cfn-lint over
    every stack of every config kind in `make test`. ``CDK_VALIDATION=true`` turns it back on
    (CDK itself reads ``CDK_VALIDATION=false`` as off).
    """
    builtin_validation = os.environ.get("CDK_VALIDATION") == "true"
    return cdk.App(
        builtin_cloud_formation_validation=builtin_validation,
        post_cli_context=FAIL_ON_VALIDATION_ERRORS,
        **props,
    )
