"""An endpoint's data capture: where SageMaker writes it, the grants for that, and a table to query it."""

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_glue as glue
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks import names
from stacks.constructs.execution_role import ExecutionRole
from stacks.constructs.hosting_settings import data_capture_config

# SageMaker's capture file format: one JSON line per request (docs: "View captured data").
CAPTURE_RECORD = (
    "struct<"
    "endpointInput:struct<observedContentType:string,mode:string,data:string,encoding:string>,"
    "endpointOutput:struct<observedContentType:string,mode:string,data:string,encoding:string>>"
)
COLUMNS = {
    "captureData": CAPTURE_RECORD,
    "eventMetadata": "struct<eventId:string,inferenceId:string,inferenceTime:string>",
    "eventVersion": "string",
}


def capture_for(
    hosting, *, model_label: str, bucket: s3.IBucket, key: kms.IKey, execution_role: ExecutionRole
) -> dict[str, Any] | None:
    """The endpoint config's DataCaptureConfig for ``hosting.capture`` (None without one), after
    letting the model's role (SageMaker writes captures as it) write its prefix with the key."""
    if getattr(hosting, "capture", None) is None:
        return None
    prefix = names.capture_prefix(model_label)
    execution_role.allow_prefixes(bucket, write=[prefix])
    execution_role.allow_key_use(key)
    return data_capture_config(
        hosting.capture, destination=bucket.s3_url_for_object(prefix.rstrip("/")), kms_key_arn=key.key_arn
    )


class CaptureTable(Construct):
    """A Glue table ``capture_<model>`` in ``database_name`` over the model's captures (JSON lines under
    ``captures/<model>/<endpoint>/<variant>/yyyy/mm/dd/hh/``), so Athena reads them as they land."""

    def __init__(
        self, scope: Construct, construct_id: str, *, model_label: str, bucket_name: str, database_name: str
    ) -> None:
        super().__init__(scope, construct_id)
        self.table_name = f"capture_{model_label.replace('-', '_')}"
        glue.CfnTable(
            self,
            "Table",
            catalog_id=cdk.Stack.of(self).account,
            database_name=database_name,
            table_input=glue.CfnTable.TableInputProperty(
                name=self.table_name,
                description=f"mlkit: captured requests and answers of model {model_label}",
                table_type="EXTERNAL_TABLE",
                parameters={"classification": "json"},
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    location=f"s3://{bucket_name}/{names.capture_prefix(model_label)}",
                    input_format="org.apache.hadoop.mapred.TextInputFormat",
                    output_format="org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                    serde_info=glue.CfnTable.SerdeInfoProperty(
                        serialization_library="org.openx.data.jsonserde.JsonSerDe"
                    ),
                    columns=[glue.CfnTable.ColumnProperty(name=n, type=t) for n, t in COLUMNS.items()],
                ),
            ),
        )
