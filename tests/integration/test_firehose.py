"""Firehose delivery streams with boto3 and the AWS CLI: the API, and the objects they write into the lake."""

import base64
import gzip
import io
import json
import re
import struct
import time
import unittest
import zipfile
from datetime import datetime, timezone

from botocore.exceptions import ClientError

from harness import ServerTestCase, athena_wait, wait_for

ROLE = "arn:aws:iam::000000000000:role/firehose"


def code(ctx):
    return ctx.exception.response["Error"]["Code"]


def snappy_block(data):
    """Decodes one raw Snappy block (the format's spec, independently of the server's library)."""
    pos, n, shift = 0, 0, 0
    while True:
        b = data[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            break
    out = bytearray()
    while pos < len(data):
        tag = data[pos]
        pos += 1
        kind = tag & 3
        if kind == 0:
            length = tag >> 2
            if length >= 60:
                extra = length - 59
                length = int.from_bytes(data[pos:pos + extra], "little")
                pos += extra
            length += 1
            out += data[pos:pos + length]
            pos += length
            continue
        if kind == 1:
            length = ((tag >> 2) & 7) + 4
            offset = ((tag >> 5) << 8) | data[pos]
            pos += 1
        elif kind == 2:
            length = (tag >> 2) + 1
            offset = int.from_bytes(data[pos:pos + 2], "little")
            pos += 2
        else:
            length = (tag >> 2) + 1
            offset = int.from_bytes(data[pos:pos + 4], "little")
            pos += 4
        for _ in range(length):
            out.append(out[-offset])
    assert len(out) == n
    return bytes(out)


def snappy_framed(data):
    assert data[:10] == b"\xff\x06\x00\x00sNaPpY"
    pos, out = 10, b""
    while pos < len(data):
        kind, length = data[pos], int.from_bytes(data[pos + 1:pos + 4], "little")
        body = data[pos + 8:pos + 4 + length]
        out += snappy_block(body) if kind == 0 else body
        pos += 4 + length
    return out


def hadoop_snappy(data):
    pos, out = 0, b""
    while pos < len(data):
        raw, = struct.unpack(">I", data[pos:pos + 4])
        pos += 4
        got = 0
        while got < raw:
            length, = struct.unpack(">I", data[pos:pos + 4])
            chunk = snappy_block(data[pos + 4:pos + 4 + length])
            pos += 4 + length
            got += len(chunk)
            out += chunk
    return out


class FirehoseTest(ServerTestCase, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.f = cls.server.client("firehose")
        cls.s3 = cls.server.client("s3")
        cls.k = cls.server.client("kinesis")

    def stream(self, name, destination=None, **kwargs):
        dest = {"RoleARN": ROLE, "BucketARN": "arn:aws:s3:::raw", "Prefix": name + "/",
                "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0}}
        dest.update(destination or {})
        arn = self.f.create_delivery_stream(DeliveryStreamName=name, ExtendedS3DestinationConfiguration=dest,
                                            **kwargs)["DeliveryStreamARN"]
        self.addCleanup(lambda: self.f.delete_delivery_stream(DeliveryStreamName=name))
        return arn

    def objects(self, prefix, count, bucket="raw", timeout=15):
        """Waits until `count` objects are under `prefix`; returns {key: bytes}."""
        found = {}

        def ready():
            resp = self.s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
            found.clear()
            for o in resp.get("Contents", []):
                found[o["Key"]] = None
            return len(found) >= count

        wait_for(ready, timeout=timeout, interval=0.05, what="%d objects under %s" % (count, prefix))
        time.sleep(0.2)
        ready()
        for key in found:
            found[key] = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        return found

    def put(self, name, records):
        out = self.f.put_record_batch(DeliveryStreamName=name, Records=[{"Data": r} for r in records])
        self.assertEqual(out["FailedPutCount"], 0)
        return out

    # ---- the control plane ----

    def test_create_describe_list_delete(self):
        arn = self.stream("ctl-one")
        self.assertEqual(arn, "arn:aws:firehose:us-east-1:000000000000:deliverystream/ctl-one")
        d = self.f.describe_delivery_stream(DeliveryStreamName="ctl-one")["DeliveryStreamDescription"]
        self.assertEqual(d["DeliveryStreamStatus"], "ACTIVE")
        self.assertEqual(d["DeliveryStreamType"], "DirectPut")
        self.assertEqual(d["VersionId"], "1")
        self.assertFalse(d["HasMoreDestinations"])
        self.assertEqual(d["DeliveryStreamEncryptionConfiguration"]["Status"], "DISABLED")
        dest = d["Destinations"][0]
        self.assertEqual(dest["DestinationId"], "destinationId-000000000001")
        ext = dest["ExtendedS3DestinationDescription"]
        self.assertEqual(ext["BufferingHints"], {"SizeInMBs": 1, "IntervalInSeconds": 0})
        self.assertEqual(ext["CompressionFormat"], "UNCOMPRESSED")
        self.assertEqual(ext["EncryptionConfiguration"], {"NoEncryptionConfig": "NoEncryption"})
        self.assertEqual(ext["S3BackupMode"], "Disabled")
        self.assertEqual(dest["S3DestinationDescription"]["BucketARN"], "arn:aws:s3:::raw")
        self.assertIsInstance(d["CreateTimestamp"], datetime)

        self.stream("ctl-two")
        names = self.f.list_delivery_streams(Limit=10000)["DeliveryStreamNames"]
        self.assertIn("ctl-one", names)
        page = self.f.list_delivery_streams(Limit=1, ExclusiveStartDeliveryStreamName="ctl-one")
        self.assertEqual(page["DeliveryStreamNames"], ["ctl-two"])
        self.assertNotIn("ctl-one", self.f.list_delivery_streams(DeliveryStreamType="KinesisStreamAsSource",
                                                                 Limit=10000)["DeliveryStreamNames"])
        with self.assertRaises(ClientError) as e:
            self.stream("ctl-one")
        self.assertEqual(code(e), "ResourceInUseException")
        with self.assertRaises(ClientError) as e:
            self.f.describe_delivery_stream(DeliveryStreamName="nothing")
        self.assertEqual(code(e), "ResourceNotFoundException")
        with self.assertRaises(ClientError) as e:
            self.f.delete_delivery_stream(DeliveryStreamName="nothing")
        self.assertEqual(code(e), "ResourceNotFoundException")

    def test_validation(self):
        def refused(**kwargs):
            with self.assertRaises(ClientError) as e:
                self.f.create_delivery_stream(**kwargs)
            return code(e), e.exception.response["Error"]["Message"]

        good = {"RoleARN": ROLE, "BucketARN": "arn:aws:s3:::raw"}
        self.assertEqual(refused(DeliveryStreamName="bad name", ExtendedS3DestinationConfiguration=good)[0],
                         "ValidationException")
        self.assertEqual(refused(DeliveryStreamName="v1", ExtendedS3DestinationConfiguration=dict(
            good, BufferingHints={"SizeInMBs": 129, "IntervalInSeconds": 60}))[0], "ValidationException")
        self.assertEqual(refused(DeliveryStreamName="v1", ExtendedS3DestinationConfiguration=dict(
            good, Prefix="a/!{timestamp:yyyy}/"))[0], "InvalidArgumentException")  # needs ErrorOutputPrefix
        self.assertEqual(refused(DeliveryStreamName="v1", ExtendedS3DestinationConfiguration=dict(
            good, Prefix="a/!{timestamp:yyyy}/", ErrorOutputPrefix="e/!{timestamp:yyyy}/"))[0],
            "InvalidArgumentException")  # an error prefix with expressions names the error type
        self.assertEqual(refused(DeliveryStreamName="v1", ExtendedS3DestinationConfiguration=dict(
            good, Prefix="a/!{nope:x}/", ErrorOutputPrefix="e/!{firehose:error-output-type}/"))[0],
            "InvalidArgumentException")
        self.assertEqual(refused(DeliveryStreamName="v1", ExtendedS3DestinationConfiguration=dict(
            good, BucketARN="arn:aws:s3:::no-such-bucket"))[0], "InvalidArgumentException")
        c, msg = refused(DeliveryStreamName="v1", ExtendedS3DestinationConfiguration=dict(
            good, ProcessingConfiguration={"Enabled": True, "Processors": [
                {"Type": "Lambda", "Parameters": [{"ParameterName": "LambdaArn",
                                                   "ParameterValue": "arn:aws:lambda:us-east-1:000000000000:function:f"}]}]}))
        self.assertEqual(c, "InvalidArgumentException")
        self.assertIn("functions", msg)
        c, msg = refused(DeliveryStreamName="v1", ExtendedS3DestinationConfiguration=dict(
            good, Prefix="c=!{partitionKeyFromQuery:c}/", ErrorOutputPrefix="e/!{firehose:error-output-type}/",
            BufferingHints={"SizeInMBs": 64, "IntervalInSeconds": 0},
            DynamicPartitioningConfiguration={"Enabled": True},
            ProcessingConfiguration={"Enabled": True, "Processors": [{"Type": "MetadataExtraction", "Parameters": [
                {"ParameterName": "MetadataExtractionQuery", "ParameterValue": "{c: .c"},
                {"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"}]}]}))
        self.assertEqual(c, "InvalidArgumentException")
        self.assertIn("JQ", msg)
        self.assertEqual(refused(DeliveryStreamName="v1", RedshiftDestinationConfiguration={
            "RoleARN": ROLE, "ClusterJDBCURL": "jdbc:redshift://x", "CopyCommand": {"DataTableName": "t"},
            "Username": "u", "Password": "passwordpassword",
            "S3Configuration": good})[0], "InvalidArgumentException")
        # Put limits.
        self.stream("v-put")
        with self.assertRaises(ClientError) as e:
            self.f.put_record_batch(DeliveryStreamName="v-put", Records=[{"Data": b"x"}] * 501)
        self.assertEqual(code(e), "ValidationException")
        with self.assertRaises(ClientError) as e:
            self.f.put_record(DeliveryStreamName="v-put", Record={"Data": b"x" * 1024001})
        self.assertEqual(code(e), "ValidationException")
        with self.assertRaises(ClientError) as e:
            self.f.put_record_batch(DeliveryStreamName="v-put", Records=[{"Data": b"x" * 1000000}] * 5)
        self.assertEqual(code(e), "InvalidArgumentException")
        with self.assertRaises(ClientError) as e:
            self.f.put_record(DeliveryStreamName="nothing", Record={"Data": b"x"})
        self.assertEqual(code(e), "ResourceNotFoundException")

    def test_update_destination_versions(self):
        self.stream("upd", {"Prefix": "upd-a/"})
        self.put("upd", [b"before\n"])
        self.objects("upd-a/", 1)
        with self.assertRaises(ClientError) as e:
            self.f.update_destination(DeliveryStreamName="upd", CurrentDeliveryStreamVersionId="5",
                                      DestinationId="destinationId-000000000001",
                                      ExtendedS3DestinationUpdate={"Prefix": "upd-b/"})
        self.assertEqual(code(e), "ConcurrentModificationException")
        self.f.update_destination(DeliveryStreamName="upd", CurrentDeliveryStreamVersionId="1",
                                  DestinationId="destinationId-000000000001",
                                  ExtendedS3DestinationUpdate={"Prefix": "upd-b/", "CompressionFormat": "GZIP"})
        d = self.f.describe_delivery_stream(DeliveryStreamName="upd")["DeliveryStreamDescription"]
        self.assertEqual(d["VersionId"], "2")
        self.assertIn("LastUpdateTimestamp", d)
        ext = d["Destinations"][0]["ExtendedS3DestinationDescription"]
        self.assertEqual((ext["Prefix"], ext["CompressionFormat"]), ("upd-b/", "GZIP"))
        self.put("upd", [b"after\n"])
        (key, body), = self.objects("upd-b/", 1).items()
        self.assertRegex(key, r"/upd-2-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d-[0-9a-f-]{36}\.gz$")
        self.assertEqual(gzip.decompress(body), b"after\n")

    def test_tags_and_encryption(self):
        self.stream("tagged", Tags=[{"Key": "team", "Value": "data"}])
        self.f.tag_delivery_stream(DeliveryStreamName="tagged", Tags=[{"Key": "env", "Value": "test"}])
        tags = self.f.list_tags_for_delivery_stream(DeliveryStreamName="tagged")
        self.assertEqual(tags["Tags"], [{"Key": "env", "Value": "test"}, {"Key": "team", "Value": "data"}])
        self.assertFalse(tags["HasMoreTags"])
        page = self.f.list_tags_for_delivery_stream(DeliveryStreamName="tagged", Limit=1)
        self.assertTrue(page["HasMoreTags"])
        self.f.untag_delivery_stream(DeliveryStreamName="tagged", TagKeys=["env"])
        self.assertEqual(len(self.f.list_tags_for_delivery_stream(DeliveryStreamName="tagged")["Tags"]), 1)
        with self.assertRaises(ClientError) as e:
            self.f.tag_delivery_stream(DeliveryStreamName="tagged",
                                       Tags=[{"Key": "k%d" % i, "Value": ""} for i in range(50)])
        self.assertEqual(code(e), "LimitExceededException")

        self.f.start_delivery_stream_encryption(DeliveryStreamName="tagged", DeliveryStreamEncryptionConfigurationInput={
            "KeyType": "CUSTOMER_MANAGED_CMK", "KeyARN": "arn:aws:kms:us-east-1:000000000000:key/abc"})
        enc = self.f.describe_delivery_stream(DeliveryStreamName="tagged")["DeliveryStreamDescription"][
            "DeliveryStreamEncryptionConfiguration"]
        self.assertEqual(enc, {"KeyType": "CUSTOMER_MANAGED_CMK", "KeyARN": "arn:aws:kms:us-east-1:000000000000:key/abc",
                               "Status": "ENABLED"})
        self.assertTrue(self.f.put_record(DeliveryStreamName="tagged", Record={"Data": b"x"})["Encrypted"])
        self.f.stop_delivery_stream_encryption(DeliveryStreamName="tagged")
        enc = self.f.describe_delivery_stream(DeliveryStreamName="tagged")["DeliveryStreamDescription"][
            "DeliveryStreamEncryptionConfiguration"]
        self.assertEqual(enc["Status"], "DISABLED")

    # ---- what lands in the lake ----

    def test_default_prefix_and_object_names(self):
        self.f.create_delivery_stream(DeliveryStreamName="plain", ExtendedS3DestinationConfiguration={
            "RoleARN": ROLE, "BucketARN": "arn:aws:s3:::processed",
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0}})
        self.addCleanup(lambda: self.f.delete_delivery_stream(DeliveryStreamName="plain"))
        before = datetime.now(timezone.utc)
        out = self.f.put_record(DeliveryStreamName="plain", Record={"Data": b'{"a":1}'})
        self.assertTrue(out["RecordId"])
        self.assertFalse(out["Encrypted"])
        resp = self.put("plain", [b'{"a":2}', b'{"a":3}'])
        self.assertEqual(len({r["RecordId"] for r in resp["RequestResponses"]}), 2)
        found = self.objects(before.strftime("%Y/%m/%d/"), 1, bucket="processed")
        body = b"".join(found.values())
        self.assertEqual(sorted(re.findall(rb'\{"a":\d\}', body)), [b'{"a":1}', b'{"a":2}', b'{"a":3}'])
        for key in found:
            self.assertRegex(key, r"^\d{4}/\d\d/\d\d/\d\d/plain-1-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d-"
                                  r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
            hour = key[:14]
            stamp = datetime.strptime(key.split("plain-1-")[1][:19], "%Y-%m-%d-%H-%M-%S").replace(tzinfo=timezone.utc)
            self.assertEqual(hour, stamp.strftime("%Y/%m/%d/%H/"))
            self.assertLess(abs((stamp - before).total_seconds()), 30)

    def test_timestamp_prefix_with_time_zone_and_extension(self):
        self.stream("tz", {"Prefix": "tz/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/"
                                     "hour=!{timestamp:HH}/!{firehose:random-string}/",
                           "ErrorOutputPrefix": "tz-errors/!{firehose:error-output-type}/",
                           "CustomTimeZone": "Asia/Tokyo", "FileExtension": ".json"})
        now = datetime.now(timezone.utc)
        self.put("tz", [b'{"t":1}\n'])
        (key, body), = self.objects("tz/", 1).items()
        tokyo = datetime.fromtimestamp(now.timestamp() + 9 * 3600, timezone.utc)
        m = re.match(r"^tz/year=(\d{4})/month=(\d\d)/day=(\d\d)/hour=(\d\d)/([A-Za-z0-9]{11})/tz-1-.*\.json$", key)
        self.assertIsNotNone(m, key)
        self.assertEqual(m.group(1, 2, 3), (tokyo.strftime("%Y"), tokyo.strftime("%m"), tokyo.strftime("%d")))
        self.assertEqual(body, b'{"t":1}\n')

    def test_every_compression(self):
        expected = b"".join(b'{"n":%d,"pad":"%s"}\n' % (i, b"x" * 50) for i in range(2000))
        decoders = {"UNCOMPRESSED": (lambda b: b, ""), "GZIP": (gzip.decompress, ".gz"),
                    "ZIP": (lambda b: zipfile.ZipFile(io.BytesIO(b)).read(zipfile.ZipFile(io.BytesIO(b)).namelist()[0]),
                            ".zip"),
                    "Snappy": (snappy_framed, ".snappy"), "HADOOP_SNAPPY": (hadoop_snappy, ".hsnappy")}
        for fmt, (decode, ext) in decoders.items():
            with self.subTest(fmt=fmt):
                name = "cmp-" + fmt.lower().replace("_", "-")
                self.stream(name, {"CompressionFormat": fmt})
                self.put(name, [expected])
                (key, body), = self.objects(name + "/", 1).items()
                self.assertTrue(key.endswith("-" + key.rsplit("-", 1)[1]))
                if ext:
                    self.assertTrue(key.endswith(ext), key)
                else:
                    self.assertNotIn(".", key.rsplit("/", 1)[1])
                if fmt != "UNCOMPRESSED":
                    self.assertLess(len(body), len(expected) / 3)
                self.assertEqual(decode(body), expected)

    def test_buffering_by_size_and_interval(self):
        self.stream("buf", {"BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 2}})
        record = b"r" * (256 * 1024)
        for _ in range(4):  # 1 MiB: the size hint is reached at once
            self.put("buf", [record])
        first = self.objects("buf/", 1, timeout=1.5)
        self.assertEqual([len(v) for v in first.values()], [4 * len(record)])
        self.put("buf", [b"tail"])
        time.sleep(0.8)
        self.assertEqual(len(self.objects("buf/", 1)), 1)  # still buffered: 2 s have not passed
        found = self.objects("buf/", 2, timeout=5)
        self.assertIn(b"tail", found.values())

    def test_dynamic_partitioning(self):
        self.stream("dyn", {
            "Prefix": "dyn/customer=!{partitionKeyFromQuery:customer}/year=!{partitionKeyFromQuery:year}/",
            "ErrorOutputPrefix": "dyn-errors/!{firehose:error-output-type}/!{timestamp:yyyy}/",
            "BufferingHints": {"SizeInMBs": 64, "IntervalInSeconds": 0},
            "DynamicPartitioningConfiguration": {"Enabled": True, "RetryOptions": {"DurationInSeconds": 300}},
            "ProcessingConfiguration": {"Enabled": True, "Processors": [
                {"Type": "RecordDeAggregation", "Parameters": [{"ParameterName": "SubRecordType",
                                                                "ParameterValue": "JSON"}]},
                {"Type": "MetadataExtraction", "Parameters": [
                    {"ParameterName": "MetadataExtractionQuery",
                     "ParameterValue": '{customer: .customer_id, year: .ts | strftime("%Y")}'},
                    {"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"}]},
                {"Type": "AppendDelimiterToRecord", "Parameters": []}]}})
        self.put("dyn", [b'{"customer_id":"a","ts":1530918309}{"customer_id":"b","ts":1561000000}',
                         b'{"customer_id":"a","ts":1530918310}', b"not json", b'{"ts":1}'])
        found = self.objects("dyn/", 2)
        by_folder = {k.rsplit("/", 1)[0]: v for k, v in found.items()}
        self.assertEqual(by_folder["dyn/customer=a/year=2018"],
                         b'{"customer_id":"a","ts":1530918309}\n{"customer_id":"a","ts":1530918310}\n')
        self.assertEqual(by_folder["dyn/customer=b/year=2019"], b'{"customer_id":"b","ts":1561000000}\n')
        errors = self.objects("dyn-errors/processing-failed/", 1)
        lines = [json.loads(line) for body in errors.values() for line in body.splitlines()]
        self.assertEqual(sorted(base64.b64decode(e["rawData"]) for e in lines), [b"not json", b'{"ts":1}'])
        for e in lines:
            self.assertEqual(set(e), {"attemptsMade", "arrivalTimestamp", "errorCode", "errorMessage",
                                      "attemptEndingTimestamp", "rawData"})
            self.assertIn(e["errorCode"], ("Deaggregation.Failed", "DynamicPartitioning.MetadataExtractionFailed"))

    def test_backup_keeps_the_raw_records(self):
        self.stream("bak", {
            "S3BackupMode": "Enabled",
            "S3BackupConfiguration": {"RoleARN": ROLE, "BucketARN": "arn:aws:s3:::raw", "Prefix": "bak-source/",
                                      "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 1},
                                      "CompressionFormat": "GZIP"},
            "ProcessingConfiguration": {"Enabled": True, "Processors": [{"Type": "AppendDelimiterToRecord"}]}})
        self.put("bak", [b"one", b"two"])
        (_, processed), = self.objects("bak/", 1).items()
        self.assertEqual(processed, b"one\ntwo\n")
        (key, raw), = self.objects("bak-source/", 1).items()
        self.assertTrue(key.endswith(".gz"))
        self.assertEqual(gzip.decompress(raw), b"onetwo")

    def test_kinesis_stream_as_source(self):
        self.k.create_stream(StreamName="fh-source", ShardCount=2)
        self.addCleanup(lambda: self.k.delete_stream(StreamName="fh-source"))
        wait_for(lambda: self.k.describe_stream_summary(StreamName="fh-source")["StreamDescriptionSummary"][
            "StreamStatus"] == "ACTIVE")
        source_arn = self.k.describe_stream_summary(StreamName="fh-source")["StreamDescriptionSummary"]["StreamARN"]
        self.k.put_record(StreamName="fh-source", Data=b"before\n", PartitionKey="p")  # before: not delivered
        self.stream("from-kds", {"BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 1}},
                    DeliveryStreamType="KinesisStreamAsSource",
                    KinesisStreamSourceConfiguration={"KinesisStreamARN": source_arn, "RoleARN": ROLE})
        d = self.f.describe_delivery_stream(DeliveryStreamName="from-kds")["DeliveryStreamDescription"]
        self.assertEqual(d["DeliveryStreamType"], "KinesisStreamAsSource")
        self.assertEqual(d["Source"]["KinesisStreamSourceDescription"]["KinesisStreamARN"], source_arn)
        time.sleep(0.1)
        self.k.put_records(StreamName="fh-source",
                           Records=[{"Data": b"r%d\n" % i, "PartitionKey": "k%d" % i} for i in range(20)])
        found = self.objects("from-kds/", 1)
        lines = sorted(b"".join(found.values()).splitlines())
        self.assertEqual(lines, sorted(b"r%d" % i for i in range(20)))
        with self.assertRaises(ClientError) as e:
            self.f.put_record(DeliveryStreamName="from-kds", Record={"Data": b"x"})
        self.assertEqual(code(e), "InvalidArgumentException")

    def test_missing_bucket_shows_a_failure_and_retries(self):
        self.s3.create_bucket(Bucket="fh-gone")
        self.stream("gone", {"BucketARN": "arn:aws:s3:::fh-gone"})
        self.s3.delete_bucket(Bucket="fh-gone")
        self.put("gone", [b"kept"])
        wait_for(lambda: "FailureDescription" in self.f.describe_delivery_stream(
            DeliveryStreamName="gone")["DeliveryStreamDescription"], what="a failure description")
        failure = self.f.describe_delivery_stream(DeliveryStreamName="gone")["DeliveryStreamDescription"][
            "FailureDescription"]
        self.assertIn("fh-gone", failure["Details"])
        self.s3.create_bucket(Bucket="fh-gone")
        found = self.objects("gone/", 1, bucket="fh-gone", timeout=20)
        self.assertEqual(list(found.values()), [b"kept"])
        wait_for(lambda: "FailureDescription" not in self.f.describe_delivery_stream(
            DeliveryStreamName="gone")["DeliveryStreamDescription"], what="the failure to clear")
        for key in found:
            self.s3.delete_object(Bucket="fh-gone", Key=key)

    def athena_rows(self, sql):
        athena = self.server.client("athena")
        qid = athena.start_query_execution(QueryString=sql, QueryExecutionContext={"Database": "fhlake"})[
            "QueryExecutionId"]
        e = athena_wait(athena, qid, timeout=30)
        self.assertEqual(e["Status"]["State"], "SUCCEEDED", e["Status"].get("StateChangeReason"))
        out = athena.get_query_results(QueryExecutionId=qid)["ResultSet"]
        types = [c["Type"] for c in out["ResultSetMetadata"]["ColumnInfo"]]
        return types, [[d.get("VarCharValue") for d in r["Data"]] for r in out["Rows"][1:]]

    def test_parquet_conversion_queryable_at_once(self):
        glue = self.server.client("glue")
        glue.create_database(DatabaseInput={"Name": "fhlake"})
        self.addCleanup(lambda: glue.delete_database(Name="fhlake"))
        columns = [{"Name": "id", "Type": "bigint"}, {"Name": "user_name", "Type": "string"},
                   {"Name": "amount", "Type": "decimal(10,2)"}, {"Name": "at", "Type": "timestamp"},
                   {"Name": "tags", "Type": "array<string>"}]
        glue.create_table(DatabaseName="fhlake", TableInput={
            "Name": "orders", "TableType": "EXTERNAL_TABLE", "Parameters": {"classification": "parquet"},
            "PartitionKeys": [{"Name": "dt", "Type": "string"}],
            "StorageDescriptor": {
                "Columns": columns, "Location": "s3://processed/orders/",
                "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
                "SerdeInfo": {"SerializationLibrary":
                              "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"}}})
        self.stream("orders", {
            "BucketARN": "arn:aws:s3:::processed",
            "Prefix": "orders/dt=!{timestamp:yyyy-MM-dd}/",
            "ErrorOutputPrefix": "orders-errors/!{firehose:error-output-type}/",
            "BufferingHints": {"SizeInMBs": 64, "IntervalInSeconds": 0},
            "DataFormatConversionConfiguration": {
                "SchemaConfiguration": {"RoleARN": ROLE, "DatabaseName": "fhlake", "TableName": "orders",
                                        "Region": "us-east-1", "VersionId": "LATEST"},
                "InputFormatConfiguration": {"Deserializer": {"OpenXJsonSerDe": {
                    "ConvertDotsInJsonKeysToUnderscores": True}}},
                "OutputFormatConfiguration": {"Serializer": {"ParquetSerDe": {"Compression": "SNAPPY"}}}}})
        d = self.f.describe_delivery_stream(DeliveryStreamName="orders")["DeliveryStreamDescription"]
        ext = d["Destinations"][0]["ExtendedS3DestinationDescription"]
        self.assertTrue(ext["DataFormatConversionConfiguration"]["Enabled"])
        self.put("orders", [b'{"ID": 1, "user.name": "ada", "amount": 12.5, "at": "2024-06-01T10:00:00Z",'
                            b' "tags": ["a"]}',
                            b'{"id": 2, "User.Name": "bob", "amount": "7", "at": 1717236000}',
                            b'{"id": "three"}'])
        found = self.objects("orders/dt=", 1, bucket="processed")
        (key, body), = found.items()
        self.assertTrue(key.endswith(".parquet"), key)
        self.assertEqual(body[:4], b"PAR1")
        types, rows = self.athena_rows("SELECT id, user_name, amount, \"at\", tags, dt FROM orders ORDER BY id")
        self.assertEqual(types[:4], ["bigint", "varchar", "decimal", "timestamp"])
        self.assertEqual([r[:4] for r in rows], [["1", "ada", "12.50", "2024-06-01 10:00:00"],
                                                  ["2", "bob", "7.00", "2024-06-01 10:00:00"]])
        errors = self.objects("orders-errors/format-conversion-failed/", 1, bucket="processed")
        line = json.loads(list(errors.values())[0])
        self.assertEqual(base64.b64decode(line["rawData"]), b'{"id": "three"}')
        self.assertEqual(line["dataCatalogTable"]["tableName"], "orders")
        self.assertIn("id", line["lastErrorMessage"])

        # The table gains a column: new deliveries carry it, old files read it as NULL.
        table = glue.get_table(DatabaseName="fhlake", Name="orders")["Table"]
        sd = table["StorageDescriptor"]
        sd["Columns"].append({"Name": "channel", "Type": "string"})
        glue.update_table(DatabaseName="fhlake", TableInput={
            "Name": "orders", "TableType": "EXTERNAL_TABLE", "Parameters": table["Parameters"],
            "PartitionKeys": table["PartitionKeys"], "StorageDescriptor": sd})
        time.sleep(1.2)  # the stream looks for a new schema at most once a second
        self.put("orders", [b'{"id": 4, "channel": "web"}'])
        self.objects("orders/dt=", 2, bucket="processed")
        _, rows = self.athena_rows("SELECT id, channel FROM orders ORDER BY id")
        self.assertEqual(rows, [["1", None], ["2", None], ["4", "web"]])

    def test_cli(self):
        rc, out, err = self.server.aws(
            "firehose", "create-delivery-stream", "--delivery-stream-name", "cli-stream",
            "--extended-s3-destination-configuration",
            json.dumps({"RoleARN": ROLE, "BucketARN": "arn:aws:s3:::raw", "Prefix": "cli/",
                        "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 60}}))
        self.assertEqual(rc, 0, err)
        self.addCleanup(lambda: self.f.delete_delivery_stream(DeliveryStreamName="cli-stream"))
        # CLI 2.9's model predates zero buffering (it says 60 s at least); newer SDKs take 0.
        self.f.update_destination(DeliveryStreamName="cli-stream", CurrentDeliveryStreamVersionId="1",
                                  DestinationId="destinationId-000000000001",
                                  ExtendedS3DestinationUpdate={"BufferingHints": {"SizeInMBs": 1,
                                                                                  "IntervalInSeconds": 0}})
        rc, out, err = self.server.aws("firehose", "put-record", "--delivery-stream-name", "cli-stream",
                                       "--record", "Data=" + base64.b64encode(b"from the cli\n").decode())
        self.assertEqual(rc, 0, err)
        self.assertIn("RecordId", json.loads(out))
        rc, out, err = self.server.aws("firehose", "list-delivery-streams")
        self.assertEqual(rc, 0, err)
        self.assertIn("cli-stream", json.loads(out)["DeliveryStreamNames"])
        rc, out, err = self.server.aws("firehose", "describe-delivery-stream", "--delivery-stream-name", "cli-stream")
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(out)["DeliveryStreamDescription"]["DeliveryStreamStatus"], "ACTIVE")
        self.assertEqual(list(self.objects("cli/", 1).values()), [b"from the cli\n"])


if __name__ == "__main__":
    unittest.main()


class FirehoseCrashTest(unittest.TestCase):
    def test_sigkill_during_a_delivery_storm_loses_nothing_and_duplicates_nothing(self):
        import signal
        import threading
        from harness import Server

        s = Server().start()
        try:
            f = s.client("firehose")
            # One plain stream with zero buffering (objects written all the time), one dynamically
            # partitioned with a 1 s interval (buffers in memory when the server dies).
            f.create_delivery_stream(DeliveryStreamName="storm", ExtendedS3DestinationConfiguration={
                "RoleARN": ROLE, "BucketARN": "arn:aws:s3:::raw", "Prefix": "storm/",
                "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0},
                "ProcessingConfiguration": {"Enabled": True, "Processors": [{"Type": "AppendDelimiterToRecord"}]}})
            f.create_delivery_stream(DeliveryStreamName="storm-dp", ExtendedS3DestinationConfiguration={
                "RoleARN": ROLE, "BucketARN": "arn:aws:s3:::raw", "Prefix": "storm-dp/p=!{partitionKeyFromQuery:p}/",
                "ErrorOutputPrefix": "storm-dp-errors/!{firehose:error-output-type}/",
                "BufferingHints": {"SizeInMBs": 64, "IntervalInSeconds": 1},
                "DynamicPartitioningConfiguration": {"Enabled": True},
                "ProcessingConfiguration": {"Enabled": True, "Processors": [
                    {"Type": "MetadataExtraction", "Parameters": [
                        {"ParameterName": "MetadataExtractionQuery", "ParameterValue": "{p: .p}"},
                        {"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"}]},
                    {"Type": "AppendDelimiterToRecord"}]}})
            lock = threading.Lock()
            acked = {"storm": set(), "storm-dp": set()}
            stop = threading.Event()

            def storm(t):
                client = s.client("firehose")
                i = 0
                while not stop.is_set():
                    name = "storm" if i % 2 == 0 else "storm-dp"
                    ids = ["t%d-%d-%d" % (t, i, j) for j in range(50)]
                    i += 1
                    records = [{"Data": json.dumps({"id": x, "p": x[-1]}).encode()} for x in ids]
                    try:
                        out = client.put_record_batch(DeliveryStreamName=name, Records=records)
                    except Exception:
                        return  # the server is gone
                    with lock:
                        for x, r in zip(ids, out["RequestResponses"]):
                            if "RecordId" in r:
                                acked[name].add(x)

            threads = [threading.Thread(target=storm, args=(t,)) for t in range(4)]
            for t in threads:
                t.start()
            wait_for(lambda: len(acked["storm"]) + len(acked["storm-dp"]) > 20000, timeout=60,
                     what="acknowledged records")
            s.proc.send_signal(signal.SIGKILL)
            s.proc.wait()
            stop.set()
            for t in threads:
                t.join()

            s2 = Server(data_dir=s.data_dir).start()
            try:
                s3 = s2.client("s3")

                def delivered(prefix):
                    counts = {}
                    for page in s3.get_paginator("list_objects_v2").paginate(Bucket="raw", Prefix=prefix):
                        for o in page.get("Contents", []):
                            body = s3.get_object(Bucket="raw", Key=o["Key"])["Body"].read()
                            for line in body.splitlines():
                                x = json.loads(line)["id"]
                                counts[x] = counts.get(x, 0) + 1
                    return counts

                for name in ("storm", "storm-dp"):
                    wait_for(lambda: acked[name] <= set(delivered(name + "/")), timeout=60, interval=0.5,
                             what="every acknowledged record of %s in the lake" % name)
                time.sleep(2)  # anything still to come would be a duplicate
                for name in ("storm", "storm-dp"):
                    counts = delivered(name + "/")
                    self.assertFalse(acked[name] - set(counts), "acknowledged records of %s are missing" % name)
                    twice = {x: n for x, n in counts.items() if n > 1}
                    self.assertFalse(twice, "records of %s delivered more than once: %s" % (name, list(twice)[:5]))
                self.assertEqual(s3.list_objects_v2(Bucket="raw", Prefix="storm-dp-errors/")["KeyCount"], 0)
                self.assertEqual(s2.stop(), 0)
            finally:
                s2.cleanup()
        finally:
            s.cleanup()
