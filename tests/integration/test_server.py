"""The server process: start-up, credentials, the data-directory lock, HTTP
limits and keep-alive, configuration, the audit trail and an orderly stop."""

import http.client
import json
import os
import resource
import signal
import socket
import stat
import subprocess
import tempfile
import time
import unittest

from harness import BINARY, SECRET_KEY, Server, ServerTestCase, wait_for


class Reader:
    """Reads HTTP responses one by one from a raw socket, keeping what follows."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        self.buf += chunk

    def response(self):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        status = int(lines[0].split()[1])
        headers = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:] if ":" in l}
        length = int(headers.get("content-length", "0"))
        while len(self.buf) < length:
            self._fill()
        body, self.buf = self.buf[:length], self.buf[length:]
        return status, headers, body


def read_response(sock):
    return Reader(sock).response()


def closed_by_peer(sock, timeout=10):
    """True when the server closed (or reset: still in the listen backlog at stop) the connection."""
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


class VersionTest(unittest.TestCase):
    def test_version_names_eventlake_and_the_pinned_duckdb(self):
        out = subprocess.run([BINARY, "version"], capture_output=True, text=True, check=True).stdout
        self.assertRegex(out, r"^eventlake \d+\.\d+\.\d+ \(DuckDB v1\.4\.4\)")


class HttpTest(ServerTestCase, unittest.TestCase):
    def test_health_is_small_json(self):
        status, body = self.server.health()
        self.assertEqual(status, 200)
        self.assertEqual(body["status"], "ok")
        self.assertIn("http", body["rooms"])

    def test_keep_alive_and_pipelining(self):
        sock = self.server.connect()
        reader = Reader(sock)
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n" * 3)
        for _ in range(3):
            status, headers, body = reader.response()
            self.assertEqual(status, 200)
            self.assertNotEqual(headers.get("connection"), "close")
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(reader.response()[0], 200)
        sock.close()

    def test_oversized_body_is_refused_before_it_is_sent(self):
        sock = self.server.connect()
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: Kinesis_20131202.PutRecords\r\n"
                     b"Content-Type: application/x-amz-json-1.1\r\nContent-Length: 104857600\r\n\r\n")
        status, headers, body = read_response(sock)
        self.assertEqual(status, 413)
        self.assertEqual(json.loads(body)["__type"], "RequestEntityTooLargeException")
        self.assertTrue(closed_by_peer(sock))

    def test_unauthenticated_upload_is_refused_before_its_body_is_sent(self):
        for head, code in ((b"PUT /raw/big.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 33554432\r\n\r\n",
                            b"<Code>AccessDenied</Code>"),
                           (b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: Kinesis_20131202.PutRecords\r\n"
                            b"Content-Type: application/x-amz-json-1.1\r\nContent-Length: 8000000\r\n\r\n",
                            b"MissingAuthenticationTokenException")):
            sock = self.server.connect()
            sock.sendall(head)  # and none of the body
            status, headers, body = read_response(sock)
            self.assertEqual(status, 403 if b"AccessDenied" in code else 400)
            self.assertIn(code, body)
            self.assertTrue(closed_by_peer(sock))

    def test_oversized_headers_get_431(self):
        sock = self.server.connect()
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100000 + b"\r\n\r\n")
        self.assertEqual(read_response(sock)[0], 431)

    def test_garbage_gets_400_and_the_server_lives_on(self):
        for junk in (b"\x00\x01\x02 nonsense\r\n\r\n", b"GET / HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
                     b"GET /health HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"):
            sock = self.server.connect()
            sock.sendall(junk)
            self.assertEqual(read_response(sock)[0], 400, junk)
            sock.close()
        self.assertEqual(self.server.health()[0], 200)

    def test_a_thousand_idle_connections_are_held(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < 1200:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
        socks = [self.server.connect() for _ in range(1000)]
        try:
            self.assertEqual(self.server.health()[0], 200)
            s = socks[500]
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertEqual(read_response(s)[0], 200)
        finally:
            for s in socks:
                s.close()

    def test_every_api_request_is_audited(self):
        self.server.client("sts").get_caller_identity()
        path = os.path.join(self.server.data_dir, "audit", "audit.jsonl")

        def record():
            if not os.path.exists(path):
                return None
            with open(path) as f:
                for line in f:
                    r = json.loads(line)
                    if r["action"] == "sts:GetCallerIdentity":
                        return r
            return None

        r = wait_for(record, what="an audit record")
        self.assertEqual(r["principal"], "arn:aws:iam::000000000000:root")
        self.assertEqual(r["outcome"], "Success")
        self.assertEqual(r["sourceIPAddress"], "127.0.0.1")
        self.assertEqual(r["httpStatus"], 200)
        self.assertIn("Boto3", r["userAgent"])


class LifecycleTest(unittest.TestCase):
    def setUp(self):
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            s.cleanup()

    def start(self, **kw):
        s = Server(**kw)
        self.servers.append(s)
        return s.start()

    def test_generated_credentials_are_printed_once_stored_0600_and_reused(self):
        first = self.start(credentials=False)
        path = os.path.join(first.data_dir, "root-credentials.json")
        with open(path) as f:
            creds = json.load(f)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        self.assertTrue(creds["AccessKeyId"].startswith("AKIA"))
        self.assertIn(creds["SecretAccessKey"], first.stdout())
        out = first.client("sts", key=creds["AccessKeyId"], secret=creds["SecretAccessKey"]).get_caller_identity()
        self.assertEqual(out["Account"], "000000000000")
        self.assertEqual(first.stop(), 0)

        second = self.start(data_dir=first.data_dir, credentials=False)
        self.assertNotIn(creds["SecretAccessKey"], second.stdout())
        out = second.client("sts", key=creds["AccessKeyId"], secret=creds["SecretAccessKey"]).get_caller_identity()
        self.assertEqual(out["Arn"], "arn:aws:iam::000000000000:root")
        self.assertEqual(second.stop(), 0)

    def test_second_server_on_the_same_data_directory_is_refused(self):
        first = self.start()
        second = Server(data_dir=first.data_dir)
        self.servers.append(second)
        second.start(wait=False)
        code = second.proc.wait(timeout=20)
        self.assertNotEqual(code, 0)
        self.assertIn("already using this data directory", second.stderr())
        self.assertEqual(first.health()[0], 200)

    def test_sigterm_and_sigint_stop_cleanly_with_idle_connections_open(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            with self.subTest(sig=sig):
                s = self.start()
                idle = [s.connect() for _ in range(20)]
                self.assertEqual(s.stop(sig), 0, s.stderr())
                self.assertTrue(all(closed_by_peer(c) for c in idle))
                self.assertFalse(os.path.exists(os.path.join(s.data_dir, "endpoint")))

    def test_idle_connections_time_out(self):
        s = self.start(args=["--idle-timeout", "1"])
        sock = s.connect()
        self.assertTrue(closed_by_peer(sock, timeout=15))
        slow = s.connect()
        slow.sendall(b"GET /health HTTP/1.1\r\n")  # and never the rest of the headers
        self.assertTrue(closed_by_peer(slow, timeout=15))

    def test_config_file_then_environment_then_flags(self):
        s0 = Server()
        self.servers.append(s0)
        cfg = os.path.join(s0.data_dir, "..", os.path.basename(s0.data_dir) + ".toml")
        with open(cfg, "w") as f:
            f.write('region = "eu-west-1"\naccount-id = "123456789012"\n')
        s = self.start(args=["--config", cfg])
        self.assertEqual(s.client("sts", region="eu-west-1").get_caller_identity()["Account"], "123456789012")
        s.stop()
        s2 = self.start(args=["--config", cfg], env={"EVENTLAKE_REGION": "ap-south-1"})
        self.assertEqual(s2.client("sts", region="ap-south-1").get_caller_identity()["Account"], "123456789012")
        s2.stop()
        s3 = self.start(args=["--config", cfg, "--region", "us-west-2"], env={"EVENTLAKE_REGION": "ap-south-1"})
        self.assertEqual(s3.client("sts", region="us-west-2").get_caller_identity()["Account"], "123456789012")
        s3.stop()
        os.remove(cfg)

    def test_bad_configuration_fails_fast_with_a_message(self):
        s = Server(args=["--region", "Mars"])
        self.servers.append(s)
        s.start(wait=False)
        self.assertNotEqual(s.proc.wait(timeout=20), 0)
        self.assertIn("--region", s.stderr())

    def test_signature_checks_can_be_turned_off(self):
        s = self.start(args=["--verify-signatures", "false"])
        out = s.client("sts", secret="anything", key="AKIAANYTHING0000000").get_caller_identity()
        self.assertEqual(out["Arn"], "arn:aws:iam::000000000000:root")


if __name__ == "__main__":
    unittest.main()
