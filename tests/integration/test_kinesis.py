"""Kinesis Data Streams with boto3 (and raw requests for what boto3 would refuse to send)."""

import base64
import concurrent.futures
import hashlib
import json
import threading
import unittest

from botocore.exceptions import ClientError

import cbor_codec
from harness import ServerTestCase, Server, wait_for


def code(ctx):
    return ctx.exception.response["Error"]["Code"]


class KinesisTest(ServerTestCase, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.k = cls.server.client("kinesis")
        cls.counter = 0

    def new_stream(self, shards=2, **kw):
        KinesisTest.counter += 1
        name = "s%d-%s" % (KinesisTest.counter, self._testMethodName[:40].replace("_", "-"))
        if "StreamModeDetails" in kw:
            self.k.create_stream(StreamName=name, **kw)
        else:
            self.k.create_stream(StreamName=name, ShardCount=shards, **kw)
        self.k.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 50})
        return name

    def read_all(self, name):
        """Every record of every shard, by shard id, following iterators to the end."""
        out = {}
        for sh in self.k.list_shards(StreamName=name)["Shards"]:
            it = self.k.get_shard_iterator(StreamName=name, ShardId=sh["ShardId"],
                                           ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            recs = []
            while it:
                r = self.k.get_records(ShardIterator=it, Limit=1000)
                recs += r["Records"]
                if not r["Records"]:
                    break
                it = r.get("NextShardIterator")
            out[sh["ShardId"]] = recs
        return out

    def test_create_describe_list_delete(self):
        name = self.new_stream(3, Tags={"team": "lake"})
        d = self.k.describe_stream(StreamName=name)["StreamDescription"]
        self.assertEqual(d["StreamStatus"], "ACTIVE")
        self.assertEqual(len(d["Shards"]), 3)
        self.assertEqual(d["Shards"][0]["HashKeyRange"]["StartingHashKey"], "0")
        self.assertEqual(d["Shards"][-1]["HashKeyRange"]["EndingHashKey"], str(2 ** 128 - 1))
        self.assertEqual(d["RetentionPeriodHours"], 24)
        s = self.k.describe_stream_summary(StreamARN=d["StreamARN"])["StreamDescriptionSummary"]
        self.assertEqual(s["OpenShardCount"], 3)
        self.assertRegex(s["StreamId"], r"^[a-z0-9]{20}-[a-z0-9]{3}$")
        # boto3 sends StreamId to a host of its own making, so ask by raw request.
        status, body = self.server.kinesis_raw("DescribeStreamSummary", {"StreamId": s["StreamId"]})
        self.assertEqual(body["StreamDescriptionSummary"]["StreamName"], name)
        self.assertIn(name, self.k.list_streams()["StreamNames"])
        self.assertEqual(self.k.list_tags_for_stream(StreamName=name)["Tags"], [{"Key": "team", "Value": "lake"}])
        with self.assertRaises(ClientError) as ctx:
            self.k.create_stream(StreamName=name, ShardCount=1)
        self.assertEqual(code(ctx), "ResourceInUseException")
        self.k.delete_stream(StreamName=name)
        with self.assertRaises(ClientError) as ctx:
            self.k.describe_stream(StreamName=name)
        self.assertEqual(code(ctx), "ResourceNotFoundException")

    def test_list_streams_pages(self):
        names = [self.new_stream(1) for _ in range(3)]
        seen, token = [], None
        while True:
            page = self.k.list_streams(Limit=1, **({"NextToken": token} if token else {}))
            seen += page["StreamNames"]
            token = page.get("NextToken")
            if not page["HasMoreStreams"]:
                break
        for n in names:
            self.assertIn(n, seen)
        self.assertEqual(len(seen), len(set(seen)))

    def test_put_record_routes_by_md5_of_the_partition_key(self):
        name = self.new_stream(4)
        shards = self.k.list_shards(StreamName=name)["Shards"]
        for pk in ("alpha", "beta", "gamma", "delta", "epsilon"):
            h = int(hashlib.md5(pk.encode()).hexdigest(), 16)
            expect = [s["ShardId"] for s in shards if int(s["HashKeyRange"]["StartingHashKey"]) <= h <= int(s["HashKeyRange"]["EndingHashKey"])][0]
            self.assertEqual(self.k.put_record(StreamName=name, Data=pk.encode(), PartitionKey=pk)["ShardId"], expect)
        out = self.k.put_record(StreamName=name, Data=b"x", PartitionKey="any", ExplicitHashKey=str(2 ** 128 - 1))
        self.assertEqual(out["ShardId"], shards[-1]["ShardId"])

    def test_put_records_and_read_back_in_sequence_order(self):
        name = self.new_stream(2)
        sent = {}
        for batch in range(3):
            recs = [{"Data": ("%d-%d" % (batch, i)).encode(), "PartitionKey": "pk%d" % (i % 7)} for i in range(200)]
            out = self.k.put_records(StreamName=name, Records=recs)
            self.assertEqual(out["FailedRecordCount"], 0)
            self.assertEqual(len(out["Records"]), 200)
            for r, rec in zip(out["Records"], recs):
                sent[r["SequenceNumber"]] = (r["ShardId"], rec["Data"])
        got = self.read_all(name)
        total = 0
        for shard, recs in got.items():
            seqs = [r["SequenceNumber"] for r in recs]
            self.assertEqual(seqs, sorted(seqs, key=int))
            for r in recs:
                self.assertEqual(sent[r["SequenceNumber"]], (shard, r["Data"]))
                self.assertEqual(r["EncryptionType"], "NONE")
            total += len(recs)
        self.assertEqual(total, 600)

    def test_iterator_types(self):
        name = self.new_stream(1)
        seqs = [self.k.put_record(StreamName=name, Data=b"%d" % i, PartitionKey="p")["SequenceNumber"] for i in range(5)]
        shard = "shardId-000000000000"

        def first(**kw):
            it = self.k.get_shard_iterator(StreamName=name, ShardId=shard, **kw)["ShardIterator"]
            return [r["Data"] for r in self.k.get_records(ShardIterator=it)["Records"]]

        self.assertEqual(first(ShardIteratorType="TRIM_HORIZON")[0], b"0")
        self.assertEqual(first(ShardIteratorType="AT_SEQUENCE_NUMBER", StartingSequenceNumber=seqs[2])[0], b"2")
        self.assertEqual(first(ShardIteratorType="AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=seqs[2])[0], b"3")
        self.assertEqual(first(ShardIteratorType="LATEST"), [])
        it = self.k.get_shard_iterator(StreamName=name, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        ts = self.k.get_records(ShardIterator=it)["Records"][3]["ApproximateArrivalTimestamp"]
        self.assertIn(first(ShardIteratorType="AT_TIMESTAMP", Timestamp=ts)[0], (b"0", b"1", b"2", b"3"))
        latest = self.k.get_shard_iterator(StreamName=name, ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]
        self.k.put_record(StreamName=name, Data=b"new", PartitionKey="p")
        self.assertEqual([r["Data"] for r in self.k.get_records(ShardIterator=latest)["Records"]], [b"new"])

    def test_split_merge_and_child_shards(self):
        name = self.new_stream(1)
        self.k.put_record(StreamName=name, Data=b"old", PartitionKey="p")
        self.k.split_shard(StreamName=name, ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2 ** 127))
        self.assertEqual(self.k.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"], "UPDATING")
        self.k.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 50})
        shards = self.k.list_shards(StreamName=name)["Shards"]
        self.assertEqual([s["ShardId"] for s in shards], ["shardId-000000000000", "shardId-000000000001", "shardId-000000000002"])
        self.assertIn("EndingSequenceNumber", shards[0]["SequenceNumberRange"])
        self.assertEqual(shards[1]["ParentShardId"], "shardId-000000000000")
        it = self.k.get_shard_iterator(StreamName=name, ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        r = self.k.get_records(ShardIterator=it)
        self.assertEqual([x["Data"] for x in r["Records"]], [b"old"])
        self.assertNotIn("NextShardIterator", r)
        self.assertEqual(sorted(c["ShardId"] for c in r["ChildShards"]), ["shardId-000000000001", "shardId-000000000002"])
        open_ids = [s["ShardId"] for s in self.k.list_shards(StreamName=name, ShardFilter={"Type": "AT_LATEST"})["Shards"]]
        self.assertEqual(open_ids, ["shardId-000000000001", "shardId-000000000002"])
        self.k.merge_shards(StreamName=name, ShardToMerge="shardId-000000000001", AdjacentShardToMerge="shardId-000000000002")
        self.k.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 50})
        merged = self.k.list_shards(StreamName=name)["Shards"][-1]
        self.assertEqual(merged["AdjacentParentShardId"], "shardId-000000000002")
        out = self.k.update_shard_count(StreamName=name, TargetShardCount=2, ScalingType="UNIFORM_SCALING")
        self.assertEqual((out["CurrentShardCount"], out["TargetShardCount"]), (1, 2))

    def test_list_shards_pages_with_next_token(self):
        name = self.new_stream(5)
        page = self.k.list_shards(StreamName=name, MaxResults=2)
        ids = [s["ShardId"] for s in page["Shards"]]
        while "NextToken" in page:
            page = self.k.list_shards(NextToken=page["NextToken"], MaxResults=2)
            ids += [s["ShardId"] for s in page["Shards"]]
        self.assertEqual(ids, ["shardId-%012d" % i for i in range(5)])
        after = self.k.list_shards(StreamName=name, ShardFilter={"Type": "AFTER_SHARD_ID", "ShardId": "shardId-000000000002"})
        self.assertEqual([s["ShardId"] for s in after["Shards"]], ["shardId-000000000003", "shardId-000000000004"])

    def test_retention_tags_encryption_mode_monitoring_limits(self):
        name = self.new_stream(1)
        arn = self.k.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
        self.k.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=48)
        with self.assertRaises(ClientError) as ctx:
            self.k.decrease_stream_retention_period(StreamName=name, RetentionPeriodHours=12)
        self.assertEqual(code(ctx), "InvalidArgumentException")
        self.k.add_tags_to_stream(StreamName=name, Tags={"a": "1", "b": "2"})
        self.k.remove_tags_from_stream(StreamName=name, TagKeys=["a"])
        self.k.tag_resource(ResourceARN=arn, Tags={"c": "3"})
        self.k.untag_resource(ResourceARN=arn, TagKeys=["b"])
        self.assertEqual(self.k.list_tags_for_resource(ResourceARN=arn)["Tags"], [{"Key": "c", "Value": "3"}])
        self.k.start_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId="alias/aws/kinesis")
        s = self.k.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        self.assertEqual((s["EncryptionType"], s["KeyId"], s["RetentionPeriodHours"]), ("KMS", "alias/aws/kinesis", 48))
        self.k.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 50})
        self.assertEqual(self.k.put_record(StreamName=name, Data=b"x", PartitionKey="p")["EncryptionType"], "KMS")
        self.k.stop_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId="alias/aws/kinesis")
        self.k.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 50})
        self.k.update_stream_mode(StreamARN=arn, StreamModeDetails={"StreamMode": "ON_DEMAND"})
        s = self.k.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        self.assertEqual(s["StreamModeDetails"]["StreamMode"], "ON_DEMAND")
        m = self.k.enable_enhanced_monitoring(StreamName=name, ShardLevelMetrics=["IncomingBytes"])
        self.assertEqual(m["DesiredShardLevelMetrics"], ["IncomingBytes"])
        m = self.k.disable_enhanced_monitoring(StreamName=name, ShardLevelMetrics=["ALL"])
        self.assertEqual(m["DesiredShardLevelMetrics"], [])
        limits = self.k.describe_limits()
        self.assertEqual(limits["ShardLimit"], 500)
        self.assertGreaterEqual(limits["OpenShardCount"], 1)

    def test_consumers(self):
        name = self.new_stream(1)
        arn = self.k.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
        c = self.k.register_stream_consumer(StreamARN=arn, ConsumerName="app")["Consumer"]
        self.assertTrue(c["ConsumerARN"].startswith(arn + "/consumer/app:"))
        self.assertEqual(self.k.describe_stream_consumer(ConsumerARN=c["ConsumerARN"])["ConsumerDescription"]["ConsumerName"], "app")
        self.assertEqual([x["ConsumerName"] for x in self.k.list_stream_consumers(StreamARN=arn)["Consumers"]], ["app"])
        with self.assertRaises(ClientError) as ctx:
            self.k.register_stream_consumer(StreamARN=arn, ConsumerName="app")
        self.assertEqual(code(ctx), "ResourceInUseException")
        self.k.deregister_stream_consumer(StreamARN=arn, ConsumerName="app")
        self.assertEqual(self.k.list_stream_consumers(StreamARN=arn)["Consumers"], [])

    def test_errors_clients_can_act_on(self):
        name = self.new_stream(1)
        cases = [
            (lambda: self.k.describe_stream(StreamName="nope"), "ResourceNotFoundException"),
            (lambda: self.k.put_record(StreamName="nope", Data=b"x", PartitionKey="p"), "ResourceNotFoundException"),
            (lambda: self.k.get_shard_iterator(StreamName=name, ShardId="shardId-000000000009", ShardIteratorType="LATEST"),
             "ResourceNotFoundException"),
            (lambda: self.k.get_records(ShardIterator="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
             "InvalidArgumentException"),
            (lambda: self.k.put_record(StreamName=name, Data=b"x" * (1024 * 1024 + 1), PartitionKey="p"), "ValidationException"),
            (lambda: self.k.put_record(StreamName=name, Data=b"x", PartitionKey="p", ExplicitHashKey=str(2 ** 128)),
             "InvalidArgumentException"),
            (lambda: self.k.get_shard_iterator(StreamName=name, ShardId="shardId-000000000000", ShardIteratorType="AT_SEQUENCE_NUMBER",
                                               StartingSequenceNumber="12345"), "InvalidArgumentException"),
        ]
        for call, expected in cases:
            with self.subTest(expected=expected), self.assertRaises(ClientError) as ctx:
                call()
            self.assertEqual(code(ctx), expected)
        # Iterators cannot be altered: flip one character of a real one.
        it = self.k.get_shard_iterator(StreamName=name, ShardId="shardId-000000000000", ShardIteratorType="LATEST")["ShardIterator"]
        forged = it[:10] + ("A" if it[10] != "A" else "B") + it[11:]
        with self.assertRaises(ClientError) as ctx:
            self.k.get_records(ShardIterator=forged)
        self.assertEqual(code(ctx), "InvalidArgumentException")

    def test_malformed_requests_get_serialization_and_validation_errors(self):
        name = self.new_stream(1)
        raw = self.server.kinesis_raw
        status, body = raw("PutRecord", {"StreamName": name, "Data": "not base64!", "PartitionKey": "p"})
        self.assertEqual((status, body["__type"]), (400, "SerializationException"))
        status, body = raw("PutRecord", {"StreamName": name, "Data": "eA==", "PartitionKey": ""})
        self.assertEqual(body["__type"], "ValidationException")
        status, body = raw("PutRecord", {"StreamName": name, "Data": "eA==", "PartitionKey": "p" * 257})
        self.assertEqual(body["__type"], "ValidationException")
        status, body = raw("PutRecord", {"StreamName": name, "Data": "eA==", "PartitionKey": 5})
        self.assertEqual(body["__type"], "SerializationException")
        status, body = raw("PutRecords", {"StreamName": name, "Records": [{"Data": "eA==", "PartitionKey": "p"}] * 501})
        self.assertEqual(body["__type"], "ValidationException")
        status, body = raw("CreateStream", {"StreamName": "bad name!", "ShardCount": 1})
        self.assertEqual(body["__type"], "ValidationException")
        status, body = raw("CreateStream", {"StreamName": "x", "ShardCount": "one"})
        self.assertEqual(body["__type"], "SerializationException")
        status, body = raw("ListStreams", b"{not json")
        self.assertEqual(body["__type"], "SerializationException")

    def cbor(self, operation, payload):
        status, headers, body = self.server.signed_raw(
            "kinesis", {"Content-Type": "application/x-amz-cbor-1.1", "X-Amz-Target": "Kinesis_20131202." + operation},
            cbor_codec.dumps(payload))
        self.assertEqual(headers["Content-Type"], "application/x-amz-cbor-1.1")
        return status, cbor_codec.loads(body)

    def test_cbor_as_the_java_sdk_sends_it(self):
        name = self.new_stream(1)
        status, out = self.cbor("PutRecord", {"StreamName": name, "Data": b"\x00binary\xff", "PartitionKey": "pk"})
        self.assertEqual(status, 200, out)
        self.assertEqual(out["ShardId"], "shardId-000000000000")
        status, out = self.cbor("PutRecords", {"StreamName": name, "Records": [
            {"Data": b"two", "PartitionKey": "pk"}, {"Data": b"three", "PartitionKey": "pk"}]})
        self.assertEqual(out["FailedRecordCount"], 0)
        status, out = self.cbor("GetShardIterator", {"StreamName": name, "ShardId": "shardId-000000000000",
                                                      "ShardIteratorType": "AT_TIMESTAMP",
                                                      "Timestamp": cbor_codec.Tag(1, 0)})
        self.assertEqual(status, 200, out)
        status, out = self.cbor("GetRecords", {"ShardIterator": out["ShardIterator"]})
        self.assertEqual([r["Data"] for r in out["Records"]], [b"\x00binary\xff", b"two", b"three"])
        ts = out["Records"][0]["ApproximateArrivalTimestamp"]
        self.assertIsInstance(ts, cbor_codec.Tag)
        self.assertEqual(ts.tag, 1)
        self.assertIsInstance(ts.value, int)  # epoch milliseconds, the Kinesis rule
        self.assertGreater(ts.value, 1_600_000_000_000)
        status, out = self.cbor("DescribeStreamSummary", {"StreamName": "no-such-stream"})
        self.assertEqual((status, out["__type"]), (400, "ResourceNotFoundException"))
        status, headers, body = self.server.signed_raw(
            "kinesis", {"Content-Type": "application/x-amz-cbor-1.1", "X-Amz-Target": "Kinesis_20131202.ListStreams"},
            b"\xbf\x63abc")
        self.assertEqual(cbor_codec.loads(body)["__type"], "SerializationException")

    def test_concurrent_producers_every_record_once_in_order(self):
        name = self.new_stream(2)

        def produce(t):
            client = self.server.client("kinesis")
            acked = []
            for b in range(5):
                recs = [{"Data": ("%d-%d-%d" % (t, b, i)).encode(), "PartitionKey": "t%d" % t} for i in range(50)]
                out = client.put_records(StreamName=name, Records=recs)
                self.assertEqual(out["FailedRecordCount"], 0)
                acked += [(r["SequenceNumber"], rec["Data"]) for r, rec in zip(out["Records"], recs)]
            return acked

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            acked = [x for part in pool.map(produce, range(8)) for x in part]
        got = self.read_all(name)
        flat = [(r["SequenceNumber"], r["Data"]) for recs in got.values() for r in recs]
        self.assertEqual(len(flat), 8 * 5 * 50)
        self.assertEqual(sorted(flat), sorted(acked))
        for recs in got.values():  # per producer (one partition key each), its own order
            by_producer = {}
            for r in recs:
                t, b, i = map(int, r["Data"].decode().split("-"))
                by_producer.setdefault(t, []).append(b * 1000 + i)
            for seq in by_producer.values():
                self.assertEqual(seq, sorted(seq))


class KinesisShardLimitsTest(ServerTestCase, unittest.TestCase):
    server_args = ("--kinesis-shard-limits", "true")

    def test_past_the_shard_limits_clients_see_throughput_exceeded(self):
        k = self.server.client("kinesis")
        k.create_stream(StreamName="limited", ShardCount=1)
        k.get_waiter("stream_exists").wait(StreamName="limited", WaiterConfig={"Delay": 0.1, "MaxAttempts": 50})
        failed = []
        for _ in range(3):  # 1,500 records at once against 1,000 records/s
            out = k.put_records(StreamName="limited", Records=[{"Data": b"x", "PartitionKey": "p"}] * 500)
            failed += [r for r in out["Records"] if "ErrorCode" in r]
        self.assertGreater(len(failed), 0)
        self.assertEqual({r["ErrorCode"] for r in failed}, {"ProvisionedThroughputExceededException"})
        self.assertIn("Rate exceeded for shard shardId-000000000000", failed[0]["ErrorMessage"])
        it = k.get_shard_iterator(StreamName="limited", ShardId="shardId-000000000000", ShardIteratorType="LATEST")["ShardIterator"]
        # Raw calls: botocore would back off and retry a throttled read on its own.
        codes = []
        for _ in range(10):  # 5 reads per second
            status, body = self.server.kinesis_raw("GetRecords", {"ShardIterator": it})
            codes.append(body.get("__type", status))
            it = body.get("NextShardIterator", it)
        self.assertEqual(codes[:5], [200] * 5)
        self.assertIn("ProvisionedThroughputExceededException", codes)


class KinesisDurabilityTest(unittest.TestCase):
    def test_records_survive_restart_and_sigkill_mid_storm(self):
        import signal
        s = Server().start()
        try:
            k = s.client("kinesis")
            k.create_stream(StreamName="durable", ShardCount=2)
            k.get_waiter("stream_exists").wait(StreamName="durable", WaiterConfig={"Delay": 0.1, "MaxAttempts": 50})
            acked = set()
            lock = threading.Lock()
            stop = threading.Event()

            def storm(t):
                client = s.client("kinesis")
                i = 0
                while not stop.is_set():
                    recs = [{"Data": ("%d-%d-%d" % (t, i, j)).encode(), "PartitionKey": "p%d" % j} for j in range(20)]
                    i += 1
                    try:
                        out = client.put_records(StreamName="durable", Records=recs)
                    except Exception:
                        return  # the server is gone
                    with lock:
                        for r, rec in zip(out["Records"], recs):
                            if "SequenceNumber" in r:
                                acked.add((r["SequenceNumber"], rec["Data"]))

            threads = [threading.Thread(target=storm, args=(t,)) for t in range(4)]
            for t in threads:
                t.start()
            wait_for(lambda: len(acked) > 2000, timeout=60, what="acknowledged records")
            s.proc.send_signal(signal.SIGKILL)
            s.proc.wait()
            stop.set()
            for t in threads:
                t.join()
            with lock:
                acked_before_kill = set(acked)

            s2 = Server(data_dir=s.data_dir).start()
            try:
                k2 = s2.client("kinesis")
                seen = []
                for sh in k2.list_shards(StreamName="durable")["Shards"]:
                    it = k2.get_shard_iterator(StreamName="durable", ShardId=sh["ShardId"], ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
                    while it:
                        r = k2.get_records(ShardIterator=it, Limit=10000)
                        seen += [(x["SequenceNumber"], x["Data"]) for x in r["Records"]]
                        if not r["Records"]:
                            break
                        it = r.get("NextShardIterator")
                self.assertEqual(len(seen), len(set(seen)), "a record appears twice")
                missing = acked_before_kill - set(seen)
                self.assertFalse(missing, "%d acknowledged records lost" % len(missing))
                self.assertEqual(s2.stop(), 0)
            finally:
                s2.cleanup()
        finally:
            s.cleanup()


if __name__ == "__main__":
    unittest.main()
