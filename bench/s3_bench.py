#!/usr/bin/env python3
"""S3 benchmark: PUT and GET throughput of 1 MiB and 64 MiB objects side by side with dd writing
(conv=fsync, copying the same random bytes from memory) and reading (page cache dropped first, for both)
the same bytes on the same disk, small-object PUT and GET per second, and
ListObjectsV2 latency over 100,000 keys.

  python3 bench/s3_bench.py [--large-count 8] [--small-count 4000] [--keys 100000] [--threads 8] [--rounds 5]

The client signs with SigV4 and sends UNSIGNED-PAYLOAD bodies over keep-alive connections (so that
it does not spend the machine's two cores hashing what the server hashes anyway); the server still
computes each object's MD5 ETag and fsyncs it before answering. Everything runs on loopback in a
temporary data directory and stops by itself.
"""

import argparse
import concurrent.futures
import http.client
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import botocore.auth
import botocore.awsrequest
import botocore.credentials

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import rss_kib, start_server, stop  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEY, SECRET = "AKIABENCHBENCHBENCH0", "bench/bench/bench/bench/bench/bench/benc"
CREDS = botocore.credentials.Credentials(KEY, SECRET)


class Client:
    """One keep-alive connection; signs each request."""

    def __init__(self, port):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def request(self, method, path, body=b"", read=True):
        url = "http://127.0.0.1:%d%s" % (self.port, path)
        req = botocore.awsrequest.AWSRequest(method=method, url=url, data=b"",
                                             headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
        botocore.auth.SigV4Auth(CREDS, "s3", "us-east-1").add_auth(req)
        headers = dict(req.headers.items())
        headers["Content-Length"] = str(len(body))
        self.conn.request(method, path, body=body, headers=headers)
        resp = self.conn.getresponse()
        self.last_headers = dict(resp.getheaders())
        n = 0
        if read:
            while True:
                chunk = resp.read(1 << 20)
                if not chunk:
                    break
                n += len(chunk)
        else:
            resp.read()
        if resp.status >= 300:
            raise RuntimeError("%s %s: %d" % (method, path, resp.status))
        return n


def drop_caches():
    """Reads in the comparison come from the disk, for dd and the server alike (needs root; else skipped)."""
    os.sync()
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
    except OSError:
        pass


def dd(args):
    out = subprocess.run(["dd"] + args, capture_output=True, text=True, check=True)
    return out.stderr


def random_source(size):
    """`size` random bytes in a file on tmpfs (memory), and the bytes: dd copies the same bytes the
    server receives (zeros can be cheaper for the host to store), without reading them from the disk."""
    body = os.urandom(size)
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()
    path = os.path.join(shm, "el-s3bench-%d-%d" % (os.getpid(), size))
    with open(path, "wb") as f:
        f.write(body)
    return path, body


def dd_rate(work, size, count, source):
    """dd copying `source` to `count` files of `size` bytes with fsync, then reading them back: MB/s each way."""
    path = os.path.join(work, "dd.bin")
    mib = size // (1 << 20)
    t = time.perf_counter()
    for i in range(count):
        dd(["if=%s" % source, "of=%s.%d" % (path, i), "bs=1M", "count=%d" % mib, "conv=fsync", "status=none"])
    write = size * count / (time.perf_counter() - t) / 1e6
    drop_caches()
    t = time.perf_counter()
    for i in range(count):
        dd(["if=%s.%d" % (path, i), "of=/dev/null", "bs=1M", "status=none"])
    read = size * count / (time.perf_counter() - t) / 1e6
    for i in range(count):
        os.remove("%s.%d" % (path, i))
    return write, read


def object_rate(port, bucket, size, count, body):
    c = Client(port)
    t = time.perf_counter()
    for i in range(count):
        c.request("PUT", "/%s/obj-%d-%d" % (bucket, size, i), body)
    put = size * count / (time.perf_counter() - t) / 1e6
    drop_caches()
    t = time.perf_counter()
    got = 0
    for i in range(count):
        got += c.request("GET", "/%s/obj-%d-%d" % (bucket, size, i))
    get = got / (time.perf_counter() - t) / 1e6
    return put, get


def parallel_rate(port, bucket, size, count, connections, body, part=8 << 20):
    """As the AWS CLI and boto3's transfer manager move large objects: a multipart upload of `part`-sized
    parts and ranged GETs of the same size, `connections` at a time."""
    local = threading.local()

    def client():
        if not hasattr(local, "c"):
            local.c = Client(port)
        return local.c

    def put_part(args):
        key, upload, number = args
        c = client()
        url = "/%s/%s?partNumber=%d&uploadId=%s" % (bucket, key, number, upload)
        c.request("PUT", url, body[(number - 1) * part:number * part])
        return number, c.last_headers["ETag"]

    def get_range(args):
        key, start = args
        c = client()
        url = "http://127.0.0.1:%d/%s/%s" % (port, bucket, key)
        req = botocore.awsrequest.AWSRequest(method="GET", url=url, data=b"", headers={
            "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD", "Range": "bytes=%d-%d" % (start, start + part - 1)})
        botocore.auth.SigV4Auth(CREDS, "s3", "us-east-1").add_auth(req)
        c.conn.request("GET", "/%s/%s" % (bucket, key), headers=dict(req.headers.items()))
        resp = c.conn.getresponse()
        n = 0
        while True:
            chunk = resp.read(1 << 20)
            if not chunk:
                break
            n += len(chunk)
        return n

    import re
    t = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(connections) as pool:
        for i in range(count):
            key = "mp-%d" % i
            c = client()
            url = "http://127.0.0.1:%d/%s/%s?uploads" % (port, bucket, key)
            req = botocore.awsrequest.AWSRequest(method="POST", url=url, data=b"",
                                                 headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
            botocore.auth.SigV4Auth(CREDS, "s3", "us-east-1").add_auth(req)
            c.conn.request("POST", "/%s/%s?uploads" % (bucket, key), headers=dict(req.headers.items()))
            upload = re.search(rb"<UploadId>([^<]+)</UploadId>", c.conn.getresponse().read()).group(1).decode()
            parts = list(pool.map(put_part, [(key, upload, n) for n in range(1, size // part + 1)]))
            done = "<CompleteMultipartUpload>" + "".join(
                "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>" % p for p in parts) + \
                "</CompleteMultipartUpload>"
            c.request("POST", "/%s/%s?uploadId=%s" % (bucket, key, upload), done.encode())
    put = size * count / (time.perf_counter() - t) / 1e6
    drop_caches()
    t = time.perf_counter()
    got = 0
    with concurrent.futures.ThreadPoolExecutor(connections) as pool:
        for i in range(count):
            got += sum(pool.map(get_range, [("mp-%d" % i, start) for start in range(0, size, part)]))
    get = got / (time.perf_counter() - t) / 1e6
    return put, get


def small_rate(port, bucket, count, threads):
    body = b"x" * 1024
    local = threading.local()
    lat = []

    def one(i, method):
        if not hasattr(local, "c"):
            local.c = Client(port)
        t = time.perf_counter()
        local.c.request(method, "/%s/small/%07d" % (bucket, i), body if method == "PUT" else b"")
        lat.append(time.perf_counter() - t)

    out = {}
    for method in ("PUT", "GET"):
        lat.clear()
        t = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda i: one(i, method), range(count)))
        elapsed = time.perf_counter() - t
        lat.sort()
        out[method] = (count / elapsed, lat[len(lat) // 2] * 1000, lat[int(len(lat) * 0.99)] * 1000)
    return out


def fill_keys(port, bucket, keys, threads):
    local = threading.local()

    def one(i):
        if not hasattr(local, "c"):
            local.c = Client(port)
        local.c.request("PUT", "/%s/keys/%02d/%08d.json" % (bucket, i % 100, i), b"{}")

    t = time.perf_counter()
    done = 0
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        for _ in pool.map(one, range(keys)):
            done += 1
            if done % 20000 == 0:
                print("    %d keys written (%.0f/s)" % (done, done / (time.perf_counter() - t)), flush=True)
    return keys / (time.perf_counter() - t)


def list_latency(port, bucket, keys):
    c = Client(port)
    pages, seen, times = 0, 0, []
    token = None
    t_all = time.perf_counter()
    while True:
        path = "/%s?list-type=2&max-keys=1000" % bucket
        if token:
            path += "&continuation-token=" + token
        t = time.perf_counter()
        url = "http://127.0.0.1:%d%s" % (port, path)
        req = botocore.awsrequest.AWSRequest(method="GET", url=url, data=b"",
                                             headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
        botocore.auth.SigV4Auth(CREDS, "s3", "us-east-1").add_auth(req)
        c.conn.request("GET", path, headers=dict(req.headers.items()))
        body = c.conn.getresponse().read()
        times.append(time.perf_counter() - t)
        pages += 1
        seen += body.count(b"<Key>")
        if b"<NextContinuationToken>" not in body:
            break
        import urllib.parse
        token = urllib.parse.quote(body.split(b"<NextContinuationToken>")[1].split(b"<")[0].decode(), safe="")
    total = time.perf_counter() - t_all
    times.sort()
    # A delimiter listing of the top level (100 common prefixes) and a prefix listing of one of them.
    t = time.perf_counter()
    c.request("GET", "/%s?list-type=2&delimiter=%%2F&prefix=keys%%2F" % bucket)
    delim = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    c.request("GET", "/%s?list-type=2&prefix=keys%%2F57%%2F" % bucket)
    prefix = (time.perf_counter() - t) * 1000
    return seen, pages, total, statistics.median(times) * 1000, times[-1] * 1000, delim, prefix


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--large-count", type=int, default=8)
    ap.add_argument("--small-count", type=int, default=4000)
    ap.add_argument("--keys", type=int, default=100000)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    work, port, server = start_server("el-s3bench-", KEY, SECRET)
    try:
        deadline = time.time() + 20
        while True:
            try:
                Client(port).request("GET", "/")
                break
            except Exception:
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
        Client(port).request("PUT", "/bench", b"")
        sources = {size: random_source(size) for size in (1 << 20, 64 << 20)}
        print("Objects (one connection, sequential), side by side with dd on the same disk:")
        # dd on this kind of machine varies several-fold from one run to the next (the host caches
        # fsyncs), so the two alternate for a few rounds and the medians are compared.
        for size, count in ((1 << 20, 64 * args.large_count), (64 << 20, args.large_count)):
            source, body = sources[size]
            rounds = []
            for r in range(args.rounds):
                rounds.append(dd_rate(work, size, count, source) + object_rate(port, "bench", size, count, body))
            dw, dr, pw, pr = (statistics.median(x[i] for x in rounds) for i in range(4))
            print("  %3d MiB x %-4d PUT %7.0f MB/s (dd write+fsync %7.0f MB/s, %3.0f%%)   GET %7.0f MB/s (dd read %7.0f "
                  "MB/s, %3.0f%%)   medians of %d rounds" % (size >> 20, count, pw, dw, 100 * pw / dw, pr, dr,
                                                         100 * pr / dr, args.rounds))
            for i, (a, b, c, d) in enumerate(rounds):
                print("      round %d: PUT %5.0f vs dd %5.0f   GET %5.0f vs dd %5.0f" % (i + 1, c, a, d, b))
        source, body = sources[64 << 20]
        rounds = []
        for r in range(args.rounds):
            rounds.append(dd_rate(work, 64 << 20, args.large_count, source) +
                          parallel_rate(port, "bench", 64 << 20, args.large_count, 4, body))
        dw, dr, pw, pr = (statistics.median(x[i] for x in rounds) for i in range(4))
        print("   64 MiB x %-4d multipart PUT (8 MiB parts, 4 connections) %7.0f MB/s (dd %7.0f MB/s, %3.0f%%)   "
              "ranged GET (8 MiB, 4 connections) %7.0f MB/s (dd %7.0f MB/s, %3.0f%%)   medians of %d rounds" % (
                  args.large_count, pw, dw, 100 * pw / dw, pr, dr, 100 * pr / dr, args.rounds))
        for i, (a, b, c, d) in enumerate(rounds):
            print("      round %d: PUT %5.0f vs dd %5.0f   GET %5.0f vs dd %5.0f" % (i + 1, c, a, d, b))
        small = small_rate(port, "bench", args.small_count, args.threads)
        for method, (rate, p50, p99) in small.items():
            print("Small objects (1 KiB, %d threads): %s %6.0f/s  p50 %.2f ms  p99 %.2f ms" % (
                args.threads, method, rate, p50, p99))
        print("Writing %d keys for the listing ..." % args.keys, flush=True)
        rate = fill_keys(port, "bench", args.keys, args.threads)
        print("  at %.0f PUT/s" % rate)
        seen, pages, total, p50, worst, delim, prefix = list_latency(port, "bench", args.keys)
        print("ListObjectsV2 over %d keys: %d pages of 1,000 in %.2f s (page p50 %.1f ms, max %.1f ms); "
              "delimiter listing %.1f ms; prefix listing of 1,000 keys %.1f ms" % (seen, pages, total, p50, worst,
                                                                                delim, prefix))
        print("server RSS: %d KiB" % rss_kib(server.pid))
    finally:
        stop(server)
        shutil.rmtree(work, ignore_errors=True)
        for size in (1 << 20, 64 << 20):
            path = os.path.join("/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir(),
                                "el-s3bench-%d-%d" % (os.getpid(), size))
            if os.path.exists(path):
                os.remove(path)


if __name__ == "__main__":
    sys.exit(main())
