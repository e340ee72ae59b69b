#!/usr/bin/env python3
"""Query benchmark: one SQL query over 10 million events stored as Parquet, end to end through the Athena API
(StartQueryExecution, polling, GetQueryResults until every row is read), side by side in the same run with the same
SQL run by DuckDB directly over the same files (bench program duckdb_direct, same thread count); and the time a
Glue crawler takes over 10,000 files.

  python3 bench/query_bench.py [--rows 10000000] [--files 40] [--runs 5] [--crawl-files 10000]

Goal: Eventlake's end-to-end time at most 1.2 x DuckDB's + 50 ms. Everything runs on loopback in a temporary
data directory under the repository and stops by itself.
"""

import argparse
import concurrent.futures
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time

import boto3
import botocore.config

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import rss_kib, start_server, stop  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIRECT = os.path.join(ROOT, "build", "release", "duckdb_direct")
KEY, SECRET = "AKIABENCHBENCHBENCH0", "bench/bench/bench/bench/bench/bench/benc"
QUERIES = [
    ("aggregate", "SELECT kind, count(*) AS n, sum(amount) AS total, avg(ms) AS avg_ms FROM {table} "
                  "GROUP BY kind ORDER BY kind"),
    ("filter + partition", "SELECT country, count(*) AS n, max(amount) AS top FROM {table} "
                           "WHERE dt = '2026-11-03' AND ms > 2500 GROUP BY country ORDER BY country"),
]


def client(service, port):
    return boto3.client(service, endpoint_url="http://127.0.0.1:%d" % port, region_name="us-east-1",
                        aws_access_key_id=KEY, aws_secret_access_key=SECRET,
                        config=botocore.config.Config(retries={"max_attempts": 1}, max_pool_connections=16))


def athena_run(athena, sql):
    """End to end: start, poll, read every page. Seconds, and the rows (no header)."""
    t = time.perf_counter()
    qid = athena.start_query_execution(QueryString=sql, QueryExecutionContext={"Database": "bench"})["QueryExecutionId"]
    while True:
        e = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
        state = e["Status"]["State"]
        if state == "SUCCEEDED":
            break
        if state in ("FAILED", "CANCELLED"):
            raise RuntimeError("%s: %s" % (state, e["Status"].get("StateChangeReason")))
        time.sleep(0.01)  # a client polling every 10 ms
    rows = []
    token = None
    while True:
        kw = {"QueryExecutionId": qid, "MaxResults": 1000}
        if token:
            kw["NextToken"] = token
        page = athena.get_query_results(**kw)
        rows += [[d.get("VarCharValue") for d in r["Data"]] for r in page["ResultSet"]["Rows"]]
        token = page.get("NextToken")
        if not token:
            break
    return time.perf_counter() - t, rows[1:], e["Statistics"]


def same_rows(a, b):
    """Equal, but for the last digits of floating-point sums (parallel aggregation adds in any order)."""
    if len(a) != len(b):
        return False
    for ra, rb in zip(a, b):
        if len(ra) != len(rb):
            return False
        for x, y in zip(ra, rb):
            x = "NULL" if x is None else x
            if x == y:
                continue
            try:
                if not math.isclose(float(x), float(y), rel_tol=1e-9):
                    return False
            except ValueError:
                return False
    return True


def wait_crawler(glue, name):
    t = time.perf_counter()
    glue.start_crawler(Name=name)
    while glue.get_crawler(Name=name)["Crawler"]["State"] != "READY":
        time.sleep(0.02)
    elapsed = time.perf_counter() - t
    c = glue.get_crawler(Name=name)["Crawler"]
    if c["LastCrawl"]["Status"] != "SUCCEEDED":
        raise RuntimeError("crawl %s: %s" % (c["LastCrawl"]["Status"], c["LastCrawl"].get("ErrorMessage")))
    return elapsed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--files", type=int, default=40)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--crawl-files", type=int, default=10_000)
    args = ap.parse_args()
    work, port, server = start_server("el-querybench-", KEY, SECRET)
    try:
        files = os.path.join(work, "files")
        t = time.perf_counter()
        subprocess.run([DIRECT, "generate", "--dir", files, "--rows", str(args.rows), "--files", str(args.files)],
                       check=True)
        print("Generated %d events in %d Parquet files (%.0f MB) in %.1f s" % (
            args.rows, args.files, sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(files)
                                       for f in fs) / 1e6, time.perf_counter() - t))
        deadline = time.time() + 20
        while True:
            try:
                client("s3", port).list_buckets()
                break
            except Exception:
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
        s3, glue, athena = client("s3", port), client("glue", port), client("athena", port)
        for d, _, fs in os.walk(files):
            for f in fs:
                rel = os.path.relpath(os.path.join(d, f), files)
                with open(os.path.join(d, f), "rb") as body:
                    s3.put_object(Bucket="raw", Key="events/" + rel, Body=body)
        glue.create_database(DatabaseInput={"Name": "bench"})
        glue.create_crawler(Name="events", Role="r", DatabaseName="bench",
                            Targets={"S3Targets": [{"Path": "s3://raw/events/"}]})
        print("Crawled the %d Parquet files in %.2f s" % (args.files, wait_crawler(glue, "events")))

        # Both sides start from a settled disk: the writes above are flushed before anything is timed.
        os.sync()
        time.sleep(2)
        glob = os.path.join(files, "*", "*.parquet")
        print("\nQuery over %d events: Eventlake end to end (Athena API) vs DuckDB directly, medians of %d runs:" % (
            args.rows, args.runs))
        for name, sql in QUERIES:
            out = subprocess.run([DIRECT, "query", "--glob", glob, "--sql", sql, "--runs", str(args.runs),
                                  "--threads", "2"], check=True, capture_output=True, text=True).stdout
            direct_ms = statistics.median(float(l.split()[1]) for l in out.splitlines() if l.startswith("run_ms"))
            direct_rows = [l[4:].split("\t") for l in out.splitlines() if l.startswith("row ")]
            times = []
            for _ in range(args.runs):
                seconds, rows, stats = athena_run(athena, sql.replace("{table}", "events"))
                times.append(seconds * 1000)
            el_ms = statistics.median(times)
            same = same_rows(rows, direct_rows)
            goal = 1.2 * direct_ms + 50
            print("  %-20s Eventlake %7.1f ms   DuckDB %7.1f ms   goal <= %7.1f ms: %s   results %s   scanned %.1f MB" % (
                name, el_ms, direct_ms, goal, "met" if el_ms <= goal else "NOT met", "match" if same else "DIFFER",
                stats["DataScannedInBytes"] / 1e6))
            print("      runs (ms): Eventlake %s   last run: engine %d ms, planning %d ms, queue %d ms, "
                  "writing results %d ms" % (" ".join("%.0f" % x for x in times), stats["EngineExecutionTimeInMillis"],
                                             stats["QueryPlanningTimeInMillis"], stats["QueryQueueTimeInMillis"],
                                             stats["ServiceProcessingTimeInMillis"]))

        # A crawler over many small files: 100 folders (partitions) of 100 JSON files each.
        n = args.crawl_files
        per_folder = 100
        t = time.perf_counter()

        def put(i):
            folder = "dt=2026-%02d-%02d" % (1 + (i // per_folder) // 28 % 12, 1 + (i // per_folder) % 28)
            body = "\n".join(json.dumps({"id": i * 10 + j, "kind": "k%d" % (j % 3), "v": j * 1.5})
                             for j in range(10)) + "\n"
            s3.put_object(Bucket="raw", Key="many/%s/file-%05d.json" % (folder, i), Body=body.encode())

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(put, range(n)))
        print("\nWrote %d small JSON files in %d folders in %.1f s" % (n, (n + per_folder - 1) // per_folder,
                                                                      time.perf_counter() - t))
        glue.create_crawler(Name="many", Role="r", DatabaseName="bench",
                            Targets={"S3Targets": [{"Path": "s3://raw/many/"}]})
        first = wait_crawler(glue, "many")
        parts = sum(len(p["Partitions"]) for p in glue.get_paginator("get_partitions").paginate(
            DatabaseName="bench", TableName="many"))
        again = wait_crawler(glue, "many")
        print("Crawl of %d files: %.2f s (table with %d partitions); again with nothing new: %.2f s" % (
            n, first, parts, again))
        seconds, rows, _ = athena_run(athena, "SELECT count(*) FROM many")
        print("  SELECT count(*) over them: %s rows in %.0f ms" % (rows[0][0], seconds * 1000))
        print("server RSS: %d KiB" % rss_kib(server.pid))
    finally:
        stop(server)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
