"""The deployed API, called as `make invoke` calls it (mlkit/client.py): SigV4-signed, by the caller.

The transport is a parameter: the tests hand the signed request to the real router handler in-process.
"""

import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

import boto3
from botocore.exceptions import BotoCoreError

from mlkit import client

Transport = Callable[[urllib.request.Request, float], client.Answer]


@dataclass
class Api:
    url: str  # the stage's base URL, no trailing slash
    region: str  # the region requests are signed for
    session: boto3.Session
    transport: Transport = client.send
    timeout: float = client.DEFAULT_TIMEOUT_SECONDS

    @classmethod
    def connect(
        cls, session: boto3.Session, env: str, url: str | None = None, transport: Transport | None = None
    ) -> "Api":
        """The API of ``env``: ``url``, else mlkit-<env>-api's ApiUrl output; raises client.Unreachable."""
        try:
            base = url or client.api_url(session, env, None)
        except BotoCoreError as error:
            raise client.Unreachable(str(error)) from None
        if urllib.parse.urlsplit(base).scheme not in ("http", "https"):
            raise client.Unreachable(f"{base!r} is not an http(s) URL")
        region = client.signing_region(base, None, client.session_region(session))
        return cls(base.rstrip("/"), region, session, transport or client.send)

    def call(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        """The API's answer (error statuses included); client.Unreachable when none came."""
        try:
            # Frozen per call: a run lasts hours, and SSO or role credentials refresh meanwhile.
            signer = client.credentials(self.session)
        except BotoCoreError as error:
            raise client.Unreachable(str(error)) from None
        request = client.signed_request(signer, self.region, method, self.url + path, body, headers or {})
        return self.transport(request, self.timeout)

    def invoke(self, label: str, body: bytes, content_type: str, accept: str) -> client.Answer:
        name = urllib.parse.quote(label, safe="")
        headers = {"Content-Type": content_type, "Accept": accept}
        return self.call("POST", f"/models/{name}/invoke", body, headers)
