"""Starts the real eventlake binary on an ephemeral loopback port for a test."""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get("EVENTLAKE_BIN", os.path.join(ROOT, "build", "release", "eventlake"))
AWS_CLI = os.environ.get("EVENTLAKE_AWS_CLI", "/usr/bin/aws")

ACCESS_KEY = "AKIAEVENTLAKETEST001"
SECRET_KEY = "eventlake/test/secret/0000000000000000000"
REGION = "us-east-1"


def wait_for(predicate, timeout=15.0, interval=0.02, what="condition"):
    """Polls predicate() until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(interval)


def athena_wait(athena, qid, timeout=60):
    """Waits for an Athena query execution to end; returns its QueryExecution."""
    deadline = time.time() + timeout
    while True:
        e = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
        if e["Status"]["State"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            return e
        if time.time() > deadline:
            raise AssertionError("query %s still %s" % (qid, e["Status"]["State"]))
        time.sleep(0.05)


class Server:
    """One eventlake process with its own data directory."""

    def __init__(self, data_dir=None, env=None, args=(), credentials=True):
        self.owns_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="el-it-")
        self.env = dict(os.environ)
        for k in list(self.env):
            if k.startswith("EVENTLAKE_") and k != "EVENTLAKE_BIN":
                del self.env[k]
        if credentials:
            self.env["EVENTLAKE_ROOT_ACCESS_KEY_ID"] = ACCESS_KEY
            self.env["EVENTLAKE_ROOT_SECRET_ACCESS_KEY"] = SECRET_KEY
        self.env.update(env or {})
        self.args = list(args)
        self.proc = None
        self.endpoint = None
        self.stdout_path = os.path.join(self.data_dir, "..", os.path.basename(self.data_dir) + ".stdout")
        self.stderr_path = os.path.join(self.data_dir, "..", os.path.basename(self.data_dir) + ".stderr")

    def start(self, wait=True):
        os.makedirs(self.data_dir, exist_ok=True)
        endpoint_file = os.path.join(self.data_dir, "endpoint")
        if os.path.exists(endpoint_file):
            os.remove(endpoint_file)
        argv = [BINARY, "serve", "--data-dir", self.data_dir, "--listen", "127.0.0.1:0", "--log-level", "warn"]
        argv += self.args
        self._out = open(self.stdout_path, "wb")
        self._err = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(argv, env=self.env, stdout=self._out, stderr=self._err,
                                     stdin=subprocess.DEVNULL)
        if wait:
            self.endpoint = wait_for(lambda: self._read_endpoint(endpoint_file), what="the endpoint file")
            wait_for(lambda: self.health()[0] == 200, what="/health")
        return self

    def _read_endpoint(self, path):
        if self.proc.poll() is not None:
            raise AssertionError("server exited with %s: %s" % (self.proc.returncode, self.stderr()))
        try:
            with open(path) as f:
                return f.read().strip() or None
        except FileNotFoundError:
            return None

    @property
    def host_port(self):
        hp = self.endpoint.split("//", 1)[1]
        host, port = hp.rsplit(":", 1)
        return host, int(port)

    def health(self):
        try:
            conn = http.client.HTTPConnection(*self.host_port, timeout=5)
            conn.request("GET", "/health")
            resp = conn.getresponse()
            body = resp.read()
            conn.close()
            return resp.status, json.loads(body or b"{}")
        except OSError:
            return 0, {}

    def connect(self):
        return socket.create_connection(self.host_port, timeout=10)

    def stdout(self):
        self._out.flush()
        with open(self.stdout_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stderr(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Stops the server; returns its exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("server did not stop within %ss of %s" % (timeout, sig))
        self._out.close()
        self._err.close()
        return self.proc.returncode

    def cleanup(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.owns_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            for p in (self.stdout_path, self.stderr_path):
                if os.path.exists(p):
                    os.remove(p)

    # Clients -----------------------------------------------------------------

    def client(self, service, secret=SECRET_KEY, key=ACCESS_KEY, region=REGION, **config):
        import boto3
        import botocore.config

        cfg = botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"}, **config)
        return boto3.client(service, endpoint_url=self.endpoint, region_name=region, aws_access_key_id=key,
                            aws_secret_access_key=secret, config=cfg)

    def signed_raw(self, service, headers, body, method="POST", path="/"):
        """Signs a raw request with botocore's own SigV4 signer and sends it.
        Returns (status, headers, body bytes)."""
        import botocore.auth
        import botocore.awsrequest
        import botocore.credentials

        host, port = self.host_port
        req = botocore.awsrequest.AWSRequest(method=method, url=self.endpoint + path, data=body, headers=headers)
        botocore.auth.SigV4Auth(botocore.credentials.Credentials(ACCESS_KEY, SECRET_KEY), service, REGION).add_auth(req)
        conn = http.client.HTTPConnection(host, port, timeout=30)
        conn.request(method, path, body=body, headers=dict(req.headers.items()))
        resp = conn.getresponse()
        out = resp.status, dict(resp.getheaders()), resp.read()
        conn.close()
        return out

    def kinesis_raw(self, operation, payload):
        """A raw Kinesis JSON call; returns (status, parsed body)."""
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        status, _, out = self.signed_raw("kinesis", {"Content-Type": "application/x-amz-json-1.1",
                                                     "X-Amz-Target": "Kinesis_20131202." + operation}, body)
        return status, json.loads(out or b"{}")

    def aws(self, *args, secret=SECRET_KEY, key=ACCESS_KEY, region=REGION, env=None):
        """Runs the AWS CLI v2 against this server; returns (exit code, stdout, stderr)."""
        e = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        e.update({"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret, "AWS_DEFAULT_REGION": region,
                  "AWS_PAGER": "", "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
                  "AWS_MAX_ATTEMPTS": "1"})
        e.update(env or {})
        p = subprocess.run([AWS_CLI, "--endpoint-url", self.endpoint, "--output", "json"] + list(args), env=e,
                           capture_output=True, text=True, timeout=60)
        return p.returncode, p.stdout, p.stderr


class ServerTestCase:
    """Mixin: one server for the whole TestCase class."""

    server_args = ()

    @classmethod
    def setUpClass(cls):
        cls.server = Server(args=cls.server_args).start()

    @classmethod
    def tearDownClass(cls):
        code = cls.server.stop()
        cls.server.cleanup()
        assert code == 0, "server exited with %s" % code
