"""Serving handlers copied into model.tar.gz as code/inference.py; each file stands alone (stdlib, the
framework, numpy and Pillow only) because the serving containers import it as a single file."""
