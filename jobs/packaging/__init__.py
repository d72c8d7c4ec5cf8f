"""Packaging of hub models (PyTorch Hub, TensorFlow Hub) into self-contained SageMaker model.tar.gz files.

Runs once per model spec in a SageMaker Processing job (the only place with network to the hub); the
endpoint then serves the tarball with network isolation. `spec` has no framework import, so the CDK app
can import it at synth time.
"""
