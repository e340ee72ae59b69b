#!/usr/bin/env python3
"""Firehose: PutRecordBatch throughput with durable acknowledgements (beside Kinesis PutRecords in the same run),
JSON to Parquet conversion on one core, and freshness: the time from a PutRecordBatch acknowledgement to the rows
coming back from a query through the Athena API, with zero buffering and Parquet conversion into a partitioned table.

  python3 bench/firehose_bench.py [--seconds 10] [--connections 8] [--samples 200]

Needs the release build (build/release: eventlake, kinesis_load, convert_bench).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import start_server, stop  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build", "release")
KEY = "AKIABENCHBENCHBENCH0"
SECRET = "bench/bench/bench/bench/bench/bench/benc"
ROLE = "arn:aws:iam::000000000000:role/bench"


def load(port, service, stream, seconds, connections):
    cmd = [os.path.join(BUILD, "kinesis_load"), "--endpoint", "127.0.0.1:%d" % port, "--service", service,
           "--interval", "1",
           "--mode", "put", "--stream", stream, "--seconds", str(seconds), "--connections", str(connections),
           "--records", "500", "--record-bytes", "200", "--access-key", KEY, "--secret", SECRET]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))]


def client(port, service):
    import boto3
    import botocore.config
    return boto3.client(service, endpoint_url="http://127.0.0.1:%d" % port, region_name="us-east-1",
                        aws_access_key_id=KEY, aws_secret_access_key=SECRET,
                        config=botocore.config.Config(retries={"max_attempts": 1}))


def catch_up(port, prefix, expected_bytes):
    """Seconds after the load until every acknowledged byte is in objects of the lake."""
    s3 = client(port, "s3")
    start = time.monotonic()
    while True:
        total = 0
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket="raw", Prefix=prefix + "/"):
            total += sum(o["Size"] for o in page.get("Contents", []))
        if total >= expected_bytes:
            return {"seconds": time.monotonic() - start, "bytes": total}
        if time.monotonic() - start > 300:
            return {"seconds": None, "bytes": total}
        time.sleep(0.2)


def freshness(port, samples):
    glue, firehose, athena = client(port, "glue"), client(port, "firehose"), client(port, "athena")
    glue.create_database(DatabaseInput={"Name": "fresh"})
    glue.create_table(DatabaseName="fresh", TableInput={
        "Name": "events", "TableType": "EXTERNAL_TABLE", "Parameters": {"classification": "parquet"},
        "PartitionKeys": [{"Name": "dt", "Type": "string"}],
        "StorageDescriptor": {
            "Columns": [{"Name": "id", "Type": "string"}, {"Name": "n", "Type": "bigint"},
                        {"Name": "at", "Type": "timestamp"}],
            "Location": "s3://processed/fresh/",
            "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
            "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"}}})
    firehose.create_delivery_stream(DeliveryStreamName="fresh", ExtendedS3DestinationConfiguration={
        "RoleARN": ROLE, "BucketARN": "arn:aws:s3:::processed", "Prefix": "fresh/dt=!{timestamp:yyyy-MM-dd}/",
        "ErrorOutputPrefix": "fresh-errors/!{firehose:error-output-type}/",
        "BufferingHints": {"SizeInMBs": 64, "IntervalInSeconds": 0},
        "DataFormatConversionConfiguration": {
            "SchemaConfiguration": {"RoleARN": ROLE, "DatabaseName": "fresh", "TableName": "events"},
            "InputFormatConfiguration": {"Deserializer": {"OpenXJsonSerDe": {}}},
            "OutputFormatConfiguration": {"Serializer": {"ParquetSerDe": {}}}}})
    latencies, queries = [], []
    for i in range(samples):
        marker = uuid.uuid4().hex
        records = [{"Data": json.dumps({"id": marker, "n": j, "at": time.time()}).encode()} for j in range(10)]
        out = firehose.put_record_batch(DeliveryStreamName="fresh", Records=records)
        acked = time.monotonic()
        assert out["FailedPutCount"] == 0
        polls = 0
        while True:
            polls += 1
            qid = athena.start_query_execution(QueryString="SELECT count(*) FROM events WHERE id = '%s'" % marker,
                                               QueryExecutionContext={"Database": "fresh"})["QueryExecutionId"]
            while True:
                state = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]["State"]
                if state in ("SUCCEEDED", "FAILED", "CANCELLED"):
                    break
                time.sleep(0.005)
            assert state == "SUCCEEDED", state
            rows = athena.get_query_results(QueryExecutionId=qid)["ResultSet"]["Rows"]
            if rows[1]["Data"][0]["VarCharValue"] == "10":
                break
            if time.monotonic() - acked > 30:
                raise SystemExit("rows of %s not visible after 30 s" % marker)
        latencies.append((time.monotonic() - acked) * 1000)
        queries.append(polls)
    return {"samples": samples, "p50_ms": pct(latencies, 0.5), "p90_ms": pct(latencies, 0.9),
            "p99_ms": pct(latencies, 0.99), "max_ms": max(latencies),
            "queries_per_sample_p50": pct(queries, 0.5)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--records", type=int, default=1000000, help="records for the conversion measure")
    args = ap.parse_args()

    results = {}
    work, port, server = start_server("el-bench-firehose-", KEY, SECRET)
    try:
        time.sleep(0.5)
        results["kinesis_put_records"] = load(port, "kinesis", "kbench", args.seconds, args.connections)
        results["firehose_put_record_batch"] = load(port, "firehose", "fbench", args.seconds, args.connections)
        results["firehose_catch_up"] = catch_up(port, "fbench", results["firehose_put_record_batch"]["records"] * 200)
        results["freshness"] = freshness(port, args.samples)
    finally:
        stop(server)
        shutil.rmtree(work, ignore_errors=True)
    out = subprocess.run([os.path.join(BUILD, "convert_bench"), "--records", str(args.records)], capture_output=True,
                         text=True, check=True, timeout=600)
    results["conversion_one_core"] = json.loads(out.stdout.strip().splitlines()[-1])

    k, f, c, fr = (results["kinesis_put_records"], results["firehose_put_record_batch"],
                   results["conversion_one_core"], results["freshness"])
    print(json.dumps(results, indent=2))
    print()
    print("| measure | result |")
    print("|---|---|")
    print("| Kinesis PutRecords (same run, for reference) | %d rec/s, p50 %.1f ms, p99 %.1f ms |" % (
        k["records_per_s"], k["p50_ms"], k["p99_ms"]))
    print("| Firehose PutRecordBatch, 500 x 200 B, durable | %d rec/s (%.1f MB/s), p50 %.1f ms, p99 %.1f ms, %d errors |"
          % (f["records_per_s"], f["mb_per_s"], f["p50_ms"], f["p99_ms"], f["errors"]))
    print("| ... all of it in the lake | %.1f s after the load ended (%d MB in objects) |" % (
        results["firehose_catch_up"]["seconds"] or -1, results["firehose_catch_up"]["bytes"] / 1e6))
    print("| JSON to Parquet (%s), one core | %.1f MiB/s (%d records/s; check %.2f s, append %.2f s, write %.2f s) |"
          % (c["compression"], c["mib_per_s"], c["records_per_s"], c["check_s"], c["append_s"], c["write_s"]))
    print("| Freshness, ack to rows in an Athena query (%d samples) | p50 %.0f ms, p90 %.0f ms, p99 %.0f ms, max %.0f ms |"
          % (fr["samples"], fr["p50_ms"], fr["p90_ms"], fr["p99_ms"], fr["max_ms"]))


if __name__ == "__main__":
    main()
