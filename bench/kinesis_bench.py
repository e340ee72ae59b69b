#!/usr/bin/env python3
"""Kinesis benchmark: the load driver (build/release/kinesis_load) against Eventlake and, in the same run,
against kinesalite from npm.

  python3 bench/kinesis_bench.py [--seconds 10] [--connections 16]

Measures PutRecords (500 records of 200 bytes, durable acknowledgements) records/s, MB/s and latency
percentiles at full speed and at half of that rate; GetRecords throughput; put-to-get latency; and the
server's RSS while under sustained load. kinesalite is installed into a temporary folder with npm (it
is not a dependency of the project). Everything runs on loopback and stops by itself.
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import free_port, rss_kib, stop  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "build", "release")
KEY, SECRET = "AKIABENCHBENCHBENCH0", "bench/bench/bench/bench/bench/bench/benc"



def wait_port(port, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("nothing listens on %d" % port)


def load(port, mode, stream, seconds, connections, rate=0, create=True):
    cmd = [os.path.join(BIN, "kinesis_load"), "--endpoint", "127.0.0.1:%d" % port, "--mode", mode, "--stream", stream,
           "--seconds", str(seconds), "--connections", str(connections), "--access-key", KEY, "--secret", SECRET]
    if rate:
        cmd += ["--rate", str(rate)]
    if not create:
        cmd.append("--no-create")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
    if out.returncode != 0:
        raise RuntimeError("kinesis_load failed: " + out.stderr + out.stdout)
    return json.loads(out.stdout.strip().splitlines()[-1])



def fmt(r):
    return "%9.0f rec/s %7.1f MB/s  p50 %6.2f ms  p99 %6.2f ms  errors %d" % (
        r["records_per_s"], r["mb_per_s"], r["p50_ms"], r["p99_ms"], r["errors"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=8)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="el-kbench-")
    procs = []
    try:
        # kinesalite, from npm, outside the project.
        kl_dir = os.path.join(work, "kinesalite")
        os.makedirs(kl_dir)
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "kinesalite@3"], cwd=kl_dir, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
        kl_port = free_port()
        kl = subprocess.Popen([os.path.join(kl_dir, "node_modules", ".bin", "kinesalite"), "--port", str(kl_port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(kl)
        el_port = free_port()
        env = dict(os.environ, EVENTLAKE_ROOT_ACCESS_KEY_ID=KEY, EVENTLAKE_ROOT_SECRET_ACCESS_KEY=SECRET)
        el = subprocess.Popen([os.path.join(BIN, "eventlake"), "serve", "--data-dir", os.path.join(work, "data"),
                               "--listen", "127.0.0.1:%d" % el_port, "--log-level", "warn"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(el)
        wait_port(kl_port)
        wait_port(el_port)
        s, c = args.seconds, args.connections
        print("PutRecords of 500 x 200-byte records, %d connections, %d s per run" % (c, s))

        kl_put = load(kl_port, "put", "bench", s, c)
        print("  kinesalite          " + fmt(kl_put))
        stop(kl)  # each server is measured alone on the machine

        samples = []
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                samples.append(rss_kib(el.pid))
                time.sleep(0.5)

        sampler = threading.Thread(target=sample)
        sampler.start()
        el_put = load(el_port, "put", "bench", s, c)
        print("  eventlake           " + fmt(el_put))
        half_rate = el_put["requests"] / el_put["seconds"] / 2
        el_half = load(el_port, "put", "bench", s, c, rate=half_rate, create=False)
        print("  eventlake at %4.0f/s " % half_rate + fmt(el_half))
        el_put2 = load(el_port, "put", "bench", s, c, create=False)
        stop.set()
        sampler.join()
        print("  eventlake (again)   " + fmt(el_put2))
        print("  ratio to kinesalite: %.1fx" % (el_put["records_per_s"] / kl_put["records_per_s"]))
        print("  RSS under sustained put load: min %d KiB, max %d KiB over %d samples" % (min(samples), max(samples), len(samples)))

        get = load(el_port, "get", "bench", s, 4, create=False)
        print("GetRecords (Limit 10000, every shard from TRIM_HORIZON): %.0f rec/s, %.1f MB/s, p50 %.1f ms" % (
            get["records_per_s"], get["mb_per_s"], get["p50_ms"]))
        e2e = load(el_port, "e2e", "e2e", min(s, 5), 1)
        print("put-to-get latency (PutRecord, then a consumer polling GetRecords): p50 %.2f ms, p99 %.2f ms over %d records"
              % (e2e["p50_ms"], e2e["p99_ms"], e2e["records"]))
        print("final RSS: %d KiB" % rss_kib(el.pid))
    finally:
        for p in procs:
            stop(p)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
