"""Proof that the `platform` package stands in for the standard library module: the things that
break first when it does not (uuid, boto3, stripe) are exercised from any process."""

from __future__ import annotations

import importlib
import uuid
from typing import Any

# typed as Any: mypy knows our package, not the standard library names it re-exports
platform: Any = importlib.import_module("platform")


def platform_selfcheck() -> dict[str, Any]:
    import boto3
    import stripe

    s3 = boto3.client(
        "s3",
        region_name="ap-east-1",
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="selfcheck",
        aws_secret_access_key="selfcheck",  # noqa: S106 - never used to call AWS
    )
    client = stripe.StripeClient("sk_test_selfcheck", base_addresses={"api": "http://127.0.0.1:9"})
    request_options = stripe.RequestOptions(idempotency_key=str(uuid.uuid4()))
    return {
        "platform_module": platform.__file__,
        "system": platform.system(),
        "python": platform.python_version(),
        "uuid": str(uuid.uuid4()),
        "boto3_region": s3.meta.region_name,
        "stripe_client": type(client).__name__,
        "stripe_idempotency_key": request_options["idempotency_key"],
    }
