#!/usr/bin/env python3
"""Ingestion while SQL runs: Kinesis PutRecords latency at a fixed rate, alone and while two clients run heavy
queries back to back over 10 million events (Parquet), on the same server. Query and crawler threads run at a
lower scheduling priority (nice 10) than the threads that accept and log records, so ingestion should keep its
pace and its latency when the processor is saturated.

  python3 bench/ingest_bench.py [--rate 500] [--seconds 10] [--rows 10000000]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import query_bench as qb  # noqa: E402
from common import start_server, stop  # noqa: E402

LOAD = os.path.join(qb.ROOT, "build", "release", "kinesis_load")
HEAVY = ("SELECT user_id % 1000 AS bucket, count(*) AS n, sum(amount) AS total, avg(ms) AS avg_ms "
         "FROM events GROUP BY bucket ORDER BY total DESC LIMIT 10")


def load(port, seconds, rate, create):
    cmd = [LOAD, "--endpoint", "127.0.0.1:%d" % port, "--mode", "put", "--stream", "ingest", "--seconds", str(seconds),
           "--connections", "4", "--rate", str(rate), "--access-key", qb.KEY, "--secret", qb.SECRET]
    if not create:
        cmd.append("--no-create")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=int, default=500, help="PutRecords requests per second")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--rows", type=int, default=10_000_000)
    args = ap.parse_args()
    work, port, server = start_server("el-ingestbench-", qb.KEY, qb.SECRET)
    try:
        files = os.path.join(work, "files")
        subprocess.run([qb.DIRECT, "generate", "--dir", files, "--rows", str(args.rows), "--files", "40"], check=True)
        deadline = time.time() + 20
        while True:
            try:
                qb.client("s3", port).list_buckets()
                break
            except Exception:
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
        s3, glue, athena = qb.client("s3", port), qb.client("glue", port), qb.client("athena", port)
        for d, _, fs in os.walk(files):
            for f in fs:
                with open(os.path.join(d, f), "rb") as body:
                    s3.put_object(Bucket="raw", Key="events/" + os.path.relpath(os.path.join(d, f), files), Body=body)
        glue.create_database(DatabaseInput={"Name": "bench"})
        glue.create_crawler(Name="events", Role="r", DatabaseName="bench",
                            Targets={"S3Targets": [{"Path": "s3://raw/events/"}]})
        qb.wait_crawler(glue, "events")
        os.sync()
        time.sleep(2)
        load(port, 3, args.rate, True)  # creates the stream and warms up
        alone = load(port, args.seconds, args.rate, False)

        stop_queries = threading.Event()
        done = []

        def query_loop():
            a = qb.client("athena", port)
            while not stop_queries.is_set():
                seconds, _, _ = qb.athena_run(a, HEAVY)
                done.append(seconds)

        loops = [threading.Thread(target=query_loop) for _ in range(2)]
        for t in loops:
            t.start()
        time.sleep(1)
        busy = load(port, args.seconds, args.rate, False)
        stop_queries.set()
        for t in loops:
            t.join()
        print("PutRecords at %d requests/s for %d s, 4 connections:" % (args.rate, args.seconds))
        for name, r in (("alone", alone), ("with 2 query loops", busy)):
            print("  %-20s %9.0f rec/s  p50 %6.2f ms  p99 %6.2f ms  errors %d" % (
                name, r["records_per_s"], r["p50_ms"], r["p99_ms"], r["errors"]))
        print("  queries completed meanwhile: %d (median %.0f ms each)" % (
            len(done), 1000 * sorted(done)[len(done) // 2] if done else 0))
    finally:
        stop(server)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
