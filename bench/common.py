"""Helpers shared by the benchmark scripts."""

import signal
import socket
import subprocess


def free_port():
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid):
    """The resident set size of a process, in KiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def stop(proc, timeout=30):
    """SIGTERM, then SIGKILL if the process has not exited within `timeout` seconds."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()


def start_server(prefix, key, secret):
    """A release server on a free loopback port, in a new temporary directory under the repository (or $BENCH_DIR,
    so on the disk being measured), with the given root credentials. Returns (work dir, port, process). Its log goes
    to $EL_BENCH_SERVER_LOG when that is set."""
    import os
    import tempfile
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    work = tempfile.mkdtemp(prefix=prefix, dir=os.environ.get("BENCH_DIR", root))
    port = free_port()
    env = dict(os.environ, EVENTLAKE_ROOT_ACCESS_KEY_ID=key, EVENTLAKE_ROOT_SECRET_ACCESS_KEY=secret)
    log = os.environ.get("EL_BENCH_SERVER_LOG")
    server = subprocess.Popen([os.path.join(root, "build", "release", "eventlake"), "serve", "--data-dir",
                               os.path.join(work, "data"), "--listen", "127.0.0.1:%d" % port, "--log-level", "warn"],
                              env=env, stdout=subprocess.DEVNULL,
                              stderr=open(log, "w") if log else subprocess.DEVNULL)
    return work, port, server
