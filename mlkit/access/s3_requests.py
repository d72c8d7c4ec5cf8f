"""What IAM checks for the S3 object calls the kit's runtime code makes, KMS included.

S3 authorizes the object action against the caller's policies and the bucket policy, and, for an object
in an SSE-KMS bucket, uses the key on the caller's behalf: a write needs the caller's kms:GenerateDataKey,
a read (and a multipart upload) its kms:Decrypt, with kms:ViaService set to S3.
"""

from __future__ import annotations

from mlkit.access.checks import Check, Lookups, Row, key_arn, via


def s3_object(env: Lookups, bucket: str, key: str) -> str:
    return f"arn:{env.partition}:s3:::{bucket}/{key}"


def s3_write_key(params: dict, env: Lookups) -> str | None:
    """The KMS key an object write encrypts with: the request's, or the bucket default's."""
    if params.get("ServerSideEncryption") == "aws:kms" and params.get("SSEKMSKeyId"):
        return key_arn(env, params["SSEKMSKeyId"])
    if params.get("ServerSideEncryption") not in (None, "aws:kms", "aws:kms:dsse"):
        return None  # the request chose S3-managed keys
    return env.bucket_key(params["Bucket"])


def s3_kms(env: Lookups, action: str, key: str | None, object_arn: str) -> list[Check]:
    if key is None:
        return []
    context = {**via(env, "s3"), "kms:EncryptionContext:aws:s3:arn": object_arn, "aws:ViaAWSService": True}
    return [Check(action, key, context, policy="key")]


def s3_put(params: dict, env: Lookups) -> list[Check]:
    target = s3_object(env, params["Bucket"], params["Key"])
    context = {
        "s3:x-amz-server-side-encryption": params.get("ServerSideEncryption"),
        "s3:x-amz-server-side-encryption-aws-kms-key-id": params.get("SSEKMSKeyId"),
        "s3:x-amz-acl": params.get("ACL"),
    }
    put = Check("s3:PutObject", target, {k: v for k, v in context.items() if v}, policy="bucket")
    return [put, *s3_kms(env, "kms:GenerateDataKey", s3_write_key(params, env), target)]


def s3_multipart_start(params: dict, env: Lookups) -> list[Check]:
    # A multipart upload also decrypts the data key for each part (S3's documentation of SSE-KMS).
    target = s3_object(env, params["Bucket"], params["Key"])
    return [*s3_put(params, env), *s3_kms(env, "kms:Decrypt", s3_write_key(params, env), target)]


def s3_get(params: dict, env: Lookups) -> list[Check]:
    target = s3_object(env, params["Bucket"], params["Key"])
    read = Check("s3:GetObject", target, policy="bucket")
    return [read, *s3_kms(env, "kms:Decrypt", env.object_key(params["Bucket"], params["Key"]), target)]


def s3_head(params: dict, env: Lookups) -> list[Check]:
    return [Check("s3:GetObject", s3_object(env, params["Bucket"], params["Key"]), policy="bucket")]


def s3_list(params: dict, env: Lookups) -> list[Check]:
    context = {"s3:prefix": params.get("Prefix"), "s3:delimiter": params.get("Delimiter")}
    context["s3:max-keys"] = params.get("MaxKeys")
    bucket = f"arn:{env.partition}:s3:::{params['Bucket']}"
    return [Check("s3:ListBucket", bucket, {k: v for k, v in context.items() if v is not None}, "bucket")]


def s3_delete_many(params: dict, env: Lookups) -> list[Check]:
    # AWS answers a denied key inside DeleteObjects as a per-key error; here the whole call is refused.
    return [
        Check("s3:DeleteObject", s3_object(env, params["Bucket"], item["Key"]), policy="bucket")
        for item in params["Delete"]["Objects"]
    ]


def s3_object_action(action: str) -> Row:
    return lambda params, env: [
        Check(action, s3_object(env, params["Bucket"], params["Key"]), policy="bucket")
    ]


# (botocore operation of the s3 client) -> its checks.
ROWS: dict[tuple[str, str], Row] = {
    ("s3", "PutObject"): s3_put,
    ("s3", "CreateMultipartUpload"): s3_multipart_start,
    ("s3", "UploadPart"): s3_object_action("s3:PutObject"),
    ("s3", "CompleteMultipartUpload"): s3_object_action("s3:PutObject"),
    ("s3", "AbortMultipartUpload"): s3_object_action("s3:AbortMultipartUpload"),
    ("s3", "GetObject"): s3_get,
    ("s3", "HeadObject"): s3_head,
    ("s3", "ListObjectsV2"): s3_list,
    ("s3", "ListObjects"): s3_list,
    ("s3", "DeleteObject"): s3_object_action("s3:DeleteObject"),
    ("s3", "DeleteObjects"): s3_delete_many,
}
