#!/usr/bin/env python3
"""Front-door benchmark: small-request throughput of GET /health against nginx
serving a body of the same size, cold start to healthy, and memory when idle
and when holding many idle connections.

  python3 bench/http_bench.py [--duration 10] [--connections 64] [--rounds 3] [--idle 10000]

Needs the release build (./setup.sh serve or ./setup.sh test), wrk and nginx
(installed from Debian by this script when missing). Everything runs on
loopback; each step is bounded in time.
"""

import argparse
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import free_port, rss_kib  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.environ.get("EVENTLAKE_BIN", os.path.join(ROOT, "build", "release", "eventlake"))


def ensure_tools():
    missing = [p for p, exe in (("wrk", "wrk"), ("nginx-light", "nginx")) if not shutil.which(exe)]
    if missing:
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + missing, check=True,
                       stdout=subprocess.DEVNULL, env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))



def wait_healthy(url, proc, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited: %s" % proc.returncode)
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return r.read()
        except OSError:
            pass
        time.sleep(0.001)
    raise RuntimeError("not healthy within %ss" % timeout)



def start_eventlake(data_dir, port, threads):
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTLAKE_")}
    env.update({"EVENTLAKE_ROOT_ACCESS_KEY_ID": "AKIABENCHBENCHBENCH0",
                "EVENTLAKE_ROOT_SECRET_ACCESS_KEY": "bench/bench/bench/bench/bench/bench/benc"})
    return subprocess.Popen([BINARY, "serve", "--data-dir", data_dir, "--listen", "127.0.0.1:%d" % port,
                             "--threads", str(threads), "--log-level", "warn"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_nginx(work, port, body, workers):
    conf = os.path.join(work, "nginx.conf")
    escaped = body.decode().replace("\\", "\\\\").replace("'", "\\'")
    with open(conf, "w") as f:
        f.write("""
worker_processes %d;
daemon off;
pid %s/nginx.pid;
error_log %s/error.log warn;
events { worker_connections 16384; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  client_body_temp_path %s;
  proxy_temp_path %s; fastcgi_temp_path %s; uwsgi_temp_path %s; scgi_temp_path %s;
  server {
    listen 127.0.0.1:%d reuseport;
    location = /health { default_type application/json; return 200 '%s'; }
  }
}
""" % (workers, work, work, work, work, work, work, work, port, escaped))
    proc = subprocess.Popen(["nginx", "-c", conf, "-p", work], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    wait_healthy("http://127.0.0.1:%d/health" % port, proc)
    return proc


def wrk(url, threads, connections, duration):
    out = subprocess.run(["wrk", "-t%d" % threads, "-c%d" % connections, "-d%ds" % duration, "--latency", url],
                         capture_output=True, text=True, timeout=duration + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+\w+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError("wrk saw %s non-2xx responses from %s" % (errors.group(1), url))
    return rps, p99.group(1) if p99 else "?"


def stop(proc, sig=signal.SIGTERM):
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3, help="alternating wrk runs per server")
    ap.add_argument("--threads", type=int, default=2, help="server threads / nginx workers")
    ap.add_argument("--idle", type=int, default=10000, help="idle connections to hold for the RSS figure")
    ap.add_argument("--starts", type=int, default=10, help="cold starts to time")
    args = ap.parse_args()
    ensure_tools()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    work = tempfile.mkdtemp(prefix="el-bench-")
    try:
        el_port, nx_port = free_port(), free_port()
        el = start_eventlake(os.path.join(work, "data"), el_port, args.threads)
        body = wait_healthy("http://127.0.0.1:%d/health" % el_port, el)
        nx = start_nginx(work, nx_port, body, args.threads)
        print("GET /health, %d-byte body, wrk -t2 -c%d -d%ds, %d rounds, server threads/workers: %d"
              % (len(body), args.connections, args.duration, args.rounds, args.threads))
        el_runs, nx_runs = [], []
        for i in range(args.rounds):
            for name, port, runs in (("eventlake", el_port, el_runs), ("nginx", nx_port, nx_runs)):
                rps, p99 = wrk("http://127.0.0.1:%d/health" % port, 2, args.connections, args.duration)
                runs.append(rps)
                print("  round %d %-9s %10.0f req/s  p99 %s" % (i + 1, name, rps, p99))
        stop(nx, signal.SIGQUIT)
        el_med, nx_med = statistics.median(el_runs), statistics.median(nx_runs)
        print("median: eventlake %.0f req/s, nginx %.0f req/s, ratio %.2f" % (el_med, nx_med, el_med / nx_med))

        idle_rss = rss_kib(el.pid)
        socks = []
        for _ in range(args.idle):
            socks.append(socket.create_connection(("127.0.0.1", el_port)))
        time.sleep(0.5)
        wait_healthy("http://127.0.0.1:%d/health" % el_port, el)
        held_rss = rss_kib(el.pid)
        print("RSS after the load: %d KiB; holding %d idle connections: %d KiB (%.2f KiB each)"
              % (idle_rss, args.idle, held_rss, (held_rss - idle_rss) / max(args.idle, 1)))
        for s in socks:
            s.close()
        stop(el)

        cold, warm = [], []
        for i in range(args.starts):
            d = os.path.join(work, "start-%d" % i)
            port = free_port()
            for runs in (cold, warm):  # first start makes the data directory; second reuses it
                t0 = time.perf_counter()
                p = start_eventlake(d, port, args.threads)
                wait_healthy("http://127.0.0.1:%d/health" % port, p)
                runs.append((time.perf_counter() - t0) * 1000)
                if runs is cold and i == 0:
                    fresh_rss = rss_kib(p.pid)
                stop(p)
        print("start to healthy: new data dir median %.1f ms (min %.1f), existing median %.1f ms (min %.1f)"
              % (statistics.median(cold), min(cold), statistics.median(warm), min(warm)))
        print("idle RSS right after start: %d KiB" % fresh_rss)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
