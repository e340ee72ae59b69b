"""The S3 API with boto3, the AWS CLI and hand-made requests (aws-chunked bodies, bad digests)."""

import base64
import concurrent.futures
import datetime
import hashlib
import hmac
import http.client
import os
import tempfile
import time
import unittest
import zlib

import botocore.auth
import botocore.awsrequest
import botocore.credentials
from botocore.exceptions import ClientError

from harness import ACCESS_KEY, REGION, SECRET_KEY, ServerTestCase


def crc32c_of(data):
    """CRC-32C (Castagnoli), bit by bit: slow, and only for test data."""
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    crc = 0xFFFFFFFF
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def crc64nvme_of(data):
    """CRC-64/NVME, bit by bit: slow, and only for test data."""
    poly = 0x9A6C9329AC4BC9B5
    crc = 0xFFFFFFFFFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFFFFFFFFFF


def code(ctx):
    return ctx.exception.response["Error"]["Code"]


def status(ctx):
    return ctx.exception.response["ResponseMetadata"]["HTTPStatusCode"]


class S3Test(ServerTestCase, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3 = cls.server.client("s3")
        cls.counter = 0

    def bucket(self):
        S3Test.counter += 1
        name = "b%d-%s" % (S3Test.counter, self._testMethodName[5:30].replace("_", "-").lower().strip("-"))
        self.s3.create_bucket(Bucket=name)
        return name

    # Requests boto3 would not make ---------------------------------------------

    def raw(self, method, path, body=b"", headers=None, sign_headers=None, host=None):
        """Signs (S3 rules: the x-amz-content-sha256 header is what is signed) and sends."""
        h, p = self.server.host_port
        headers = dict(headers or {})
        req = botocore.awsrequest.AWSRequest(method=method, url=self.server.endpoint + path, data=b"",
                                             headers=dict(headers, **(sign_headers or {})))
        if host:
            req.headers["Host"] = host
        if "X-Amz-Content-SHA256" not in req.headers:
            req.headers["X-Amz-Content-SHA256"] = hashlib.sha256(body).hexdigest()
        # SigV4Auth signs the x-amz-content-sha256 header as given (S3SigV4Auth would replace it).
        botocore.auth.SigV4Auth(botocore.credentials.Credentials(ACCESS_KEY, SECRET_KEY), "s3", REGION).add_auth(req)
        conn = http.client.HTTPConnection(h, p, timeout=30)
        out_headers = dict(req.headers.items())
        if body is None:
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            if not any(k.lower() == "host" for k in out_headers):
                out_headers["Host"] = "%s:%d" % (h, p)
            for k, v in out_headers.items():
                conn.putheader(k, v)
            conn.endheaders()
            return conn, out_headers
        conn.request(method, path, body=body, headers=out_headers)
        resp = conn.getresponse()
        out = resp.status, dict(resp.getheaders()), resp.read()
        conn.close()
        return out

    @staticmethod
    def signing_key():
        date = datetime.datetime.utcnow().strftime("%Y%m%d")
        k = hmac.new(("AWS4" + SECRET_KEY).encode(), date.encode(), hashlib.sha256).digest()
        for part in (REGION, "s3", "aws4_request"):
            k = hmac.new(k, part.encode(), hashlib.sha256).digest()
        return k

    def streaming_put(self, bucket, key, chunks, tamper=False):
        """PUT with STREAMING-AWS4-HMAC-SHA256-PAYLOAD: every chunk signed in a chain."""
        data = b"".join(chunks)
        headers = {"X-Amz-Content-SHA256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "Content-Encoding": "aws-chunked",
                   "X-Amz-Decoded-Content-Length": str(len(data))}
        h, p = self.server.host_port
        req = botocore.awsrequest.AWSRequest(method="PUT", url="%s/%s/%s" % (self.server.endpoint, bucket, key),
                                             data=b"", headers=headers)
        botocore.auth.SigV4Auth(botocore.credentials.Credentials(ACCESS_KEY, SECRET_KEY), "s3", REGION).add_auth(req)
        seed = req.headers["Authorization"].split("Signature=")[1]
        amz_date = req.headers["X-Amz-Date"]
        scope = "%s/%s/s3/aws4_request" % (amz_date[:8], REGION)
        key_bytes = self.signing_key()
        prev, body = seed, b""
        empty = hashlib.sha256(b"").hexdigest()
        for chunk in list(chunks) + [b""]:
            sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, prev, empty,
                             hashlib.sha256(chunk).hexdigest()])
            sig = hmac.new(key_bytes, sts.encode(), hashlib.sha256).hexdigest()
            sent = chunk
            if tamper and chunk:
                sent = chunk[:-1] + bytes([chunk[-1] ^ 1])
            body += b"%x;chunk-signature=%s\r\n" % (len(chunk), sig.encode()) + sent + b"\r\n"
            prev = sig
        conn = http.client.HTTPConnection(h, p, timeout=30)
        conn.request("PUT", "/%s/%s" % (bucket, key), body=body, headers=dict(req.headers.items()))
        resp = conn.getresponse()
        out = resp.status, dict(resp.getheaders()), resp.read()
        conn.close()
        return out

    # Buckets ---------------------------------------------------------------------

    def test_zones_and_bucket_lifecycle(self):
        names = [b["Name"] for b in self.s3.list_buckets()["Buckets"]]
        self.assertIn("raw", names)
        self.assertIn("processed", names)
        b = self.bucket()
        self.s3.head_bucket(Bucket=b)
        self.assertIsNone(self.s3.get_bucket_location(Bucket=b)["LocationConstraint"])
        with self.assertRaises(ClientError) as ctx:
            self.s3.create_bucket(Bucket=b)
        self.assertEqual(code(ctx), "BucketAlreadyOwnedByYou")
        self.assertEqual(status(ctx), 409)
        with self.assertRaises(ClientError) as ctx:
            self.s3.create_bucket(Bucket="Bad_Name")
        self.assertEqual(code(ctx), "InvalidBucketName")
        with self.assertRaises(ClientError) as ctx:
            self.s3.create_bucket(Bucket="elsewhere-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        self.assertEqual(code(ctx), "IllegalLocationConstraintException")
        self.s3.put_object(Bucket=b, Key="k", Body=b"x")
        with self.assertRaises(ClientError) as ctx:
            self.s3.delete_bucket(Bucket=b)
        self.assertEqual((code(ctx), status(ctx)), ("BucketNotEmpty", 409))
        self.s3.delete_object(Bucket=b, Key="k")
        self.s3.delete_bucket(Bucket=b)
        with self.assertRaises(ClientError) as ctx:
            self.s3.head_bucket(Bucket=b)
        self.assertEqual(status(ctx), 404)
        with self.assertRaises(ClientError) as ctx:
            self.s3.list_objects_v2(Bucket=b)
        self.assertEqual((code(ctx), status(ctx)), ("NoSuchBucket", 404))

    # Objects ---------------------------------------------------------------------

    def test_put_get_head_with_metadata_and_content_headers(self):
        b = self.bucket()
        r = self.s3.put_object(Bucket=b, Key="doc.json", Body=b'{"a":1}', ContentType="application/json",
                               Metadata={"Owner": "team-a"}, CacheControl="no-cache", ContentDisposition="inline")
        self.assertEqual(r["ETag"], '"%s"' % hashlib.md5(b'{"a":1}').hexdigest())
        g = self.s3.get_object(Bucket=b, Key="doc.json")
        self.assertEqual(g["Body"].read(), b'{"a":1}')
        self.assertEqual(g["ContentType"], "application/json")
        self.assertEqual(g["Metadata"], {"owner": "team-a"})
        self.assertEqual(g["CacheControl"], "no-cache")
        self.assertEqual(g["ContentDisposition"], "inline")
        self.assertEqual(g["ServerSideEncryption"], "AES256")
        h = self.s3.head_object(Bucket=b, Key="doc.json")
        self.assertEqual(h["ContentLength"], 7)
        g = self.s3.get_object(Bucket=b, Key="doc.json", ResponseContentType="text/plain")
        self.assertEqual(g["ContentType"], "text/plain")
        with self.assertRaises(ClientError) as ctx:
            self.s3.get_object(Bucket=b, Key="nope")
        self.assertEqual((code(ctx), status(ctx)), ("NoSuchKey", 404))
        with self.assertRaises(ClientError) as ctx:
            self.s3.head_object(Bucket=b, Key="nope")
        self.assertEqual(status(ctx), 404)
        with self.assertRaises(ClientError) as ctx:
            self.s3.put_object(Bucket=b, Key="m", Body=b"x", Metadata={"big": "v" * 3000})
        self.assertEqual(code(ctx), "MetadataTooLarge")

    def test_every_checksum_algorithm_is_verified_and_returned(self):
        b = self.bucket()
        data = os.urandom(100_000)
        for algo in ("CRC32", "SHA1", "SHA256"):  # CRC32C: boto3 needs the CRT for it (see below)
            put = self.s3.put_object(Bucket=b, Key=algo, Body=data, ChecksumAlgorithm=algo)
            value = put["Checksum" + algo]
            g = self.s3.get_object(Bucket=b, Key=algo, ChecksumMode="ENABLED")
            self.assertEqual(g["Body"].read(), data)  # boto3 validates the checksum it gets back
            self.assertEqual(g["Checksum" + algo], value)
        self.assertEqual(self.s3.head_object(Bucket=b, Key="SHA256", ChecksumMode="ENABLED")["ChecksumSHA256"],
                         base64.b64encode(hashlib.sha256(data).digest()).decode())
        self.assertEqual(self.s3.head_object(Bucket=b, Key="CRC32", ChecksumMode="ENABLED")["ChecksumCRC32"],
                         base64.b64encode((zlib.crc32(data) & 0xFFFFFFFF).to_bytes(4, "big")).decode())
        crc32c = base64.b64encode(crc32c_of(data).to_bytes(4, "big")).decode()
        st, headers, out = self.raw("PUT", "/%s/c" % b, data, {"x-amz-checksum-crc32c": crc32c})
        self.assertEqual(st, 200, out)
        self.assertEqual(headers["x-amz-checksum-crc32c"], crc32c)
        st, _, out = self.raw("PUT", "/%s/c" % b, data, {"x-amz-checksum-crc32c": "AAAAAA=="})
        self.assertEqual(st, 400)
        self.assertEqual(self.s3.head_object(Bucket=b, Key="c", ChecksumMode="ENABLED")["ChecksumCRC32C"], crc32c)
        small = data[:3000]  # the test's own CRC64 is slow
        crc64 = base64.b64encode(crc64nvme_of(small).to_bytes(8, "big")).decode()
        st, headers, out = self.raw("PUT", "/%s/n" % b, small, {"x-amz-checksum-crc64nvme": crc64})
        self.assertEqual(st, 200, out)
        self.assertEqual(headers["x-amz-checksum-crc64nvme"], crc64)
        st, _, out = self.raw("PUT", "/%s/n" % b, small, {"x-amz-checksum-crc64nvme": "AAAAAAAAAAA="})
        self.assertEqual(st, 400)
        self.assertIn(b"BadDigest", out)
        # A multipart upload in CRC64NVME has a full-object checksum, combined from the parts'.
        up = self.s3.create_multipart_upload(Bucket=b, Key="mp64", ChecksumAlgorithm="CRC64NVME")
        self.assertEqual(up["ChecksumType"], "FULL_OBJECT")
        p1, p2 = b"x" * (5 * 1024 * 1024), b"tail of the upload"
        etags = []
        for n, part in ((1, p1), (2, p2)):
            path = "/%s/mp64?partNumber=%d&uploadId=%s" % (b, n, up["UploadId"])
            st, headers, out = self.raw("PUT", path, part)
            self.assertEqual(st, 200, out)
            etags.append(headers["ETag"])
        done = self.s3.complete_multipart_upload(Bucket=b, Key="mp64", UploadId=up["UploadId"], MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": etags[0]}, {"PartNumber": 2, "ETag": etags[1]}]})
        self.assertEqual(done["ChecksumType"], "FULL_OBJECT")
        # The same bytes in one PUT: the server's CRC in one pass equals the one combined from the parts.
        st, headers, out = self.raw("PUT", "/%s/whole64" % b, p1 + p2, {"x-amz-sdk-checksum-algorithm": "CRC64NVME"})
        self.assertEqual(st, 200, out)
        self.assertEqual(done["ChecksumCRC64NVME"], headers["x-amz-checksum-crc64nvme"])

    def test_bodies_that_do_not_match_their_digests_are_refused_and_not_stored(self):
        b = self.bucket()
        body = b"hello world"
        st, _, out = self.raw("PUT", "/%s/crc" % b, body, {"x-amz-checksum-crc32": "AAAAAA=="})
        self.assertEqual(st, 400)
        self.assertIn(b"<Code>BadDigest</Code>", out)
        st, _, out = self.raw("PUT", "/%s/md5" % b, body,
                              {"Content-MD5": base64.b64encode(hashlib.md5(b"other").digest()).decode()})
        self.assertEqual(st, 400)
        self.assertIn(b"<Code>BadDigest</Code>", out)
        st, _, out = self.raw("PUT", "/%s/sha" % b, body, sign_headers={
            "X-Amz-Content-SHA256": hashlib.sha256(b"something else").hexdigest()})
        self.assertEqual(st, 400)
        self.assertIn(b"<Code>XAmzContentSHA256Mismatch</Code>", out)
        self.assertEqual(self.s3.list_objects_v2(Bucket=b)["KeyCount"], 0)
        st, _, _ = self.raw("PUT", "/%s/good" % b, body, {
            "x-amz-checksum-crc32": base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()})
        self.assertEqual(st, 200)

    def test_signed_aws_chunked_uploads_check_every_chunk(self):
        b = self.bucket()
        chunks = [os.urandom(65536), os.urandom(65536), os.urandom(1000)]
        st, headers, out = self.streaming_put(b, "chunked", chunks)
        self.assertEqual(st, 200, out)
        self.assertEqual(self.s3.get_object(Bucket=b, Key="chunked")["Body"].read(), b"".join(chunks))
        st, _, out = self.streaming_put(b, "tampered", chunks, tamper=True)
        self.assertEqual(st, 403)
        self.assertIn(b"SignatureDoesNotMatch", out)
        with self.assertRaises(ClientError):
            self.s3.head_object(Bucket=b, Key="tampered")

    def test_unsigned_trailer_uploads_without_content_length(self):
        b = self.bucket()
        data = b"hello world"
        crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
        conn, _ = self.raw("PUT", "/%s/trailer" % b, None, {
            "Content-Encoding": "aws-chunked", "Transfer-Encoding": "chunked", "X-Amz-Trailer": "x-amz-checksum-crc32",
            "X-Amz-Decoded-Content-Length": str(len(data))},
            sign_headers={"X-Amz-Content-SHA256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER"})
        framed = b"b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:" + crc.encode() + b"\r\n\r\n"
        conn.send(b"%x\r\n" % len(framed) + framed + b"\r\n0\r\n\r\n")  # HTTP chunked around aws-chunked
        resp = conn.getresponse()
        self.assertEqual(resp.status, 200, resp.read())
        self.assertEqual(resp.getheader("x-amz-checksum-crc32"), crc)
        conn.close()
        g = self.s3.get_object(Bucket=b, Key="trailer", ChecksumMode="ENABLED")
        self.assertEqual(g["Body"].read(), data)
        self.assertEqual(g["ChecksumCRC32"], crc)

    def test_ranges_and_conditional_requests(self):
        b = self.bucket()
        data = bytes(range(256)) * 40
        etag = self.s3.put_object(Bucket=b, Key="r", Body=data)["ETag"]
        for rng, want in (("bytes=0-9", data[:10]), ("bytes=10-", data[10:]), ("bytes=-5", data[-5:]),
                          ("bytes=100-99999", data[100:])):
            g = self.s3.get_object(Bucket=b, Key="r", Range=rng)
            self.assertEqual(g["Body"].read(), want, rng)
            self.assertEqual(g["ResponseMetadata"]["HTTPStatusCode"], 206)
        self.assertEqual(self.s3.get_object(Bucket=b, Key="r", Range="bytes=0-9")["ContentRange"],
                         "bytes 0-9/%d" % len(data))
        with self.assertRaises(ClientError) as ctx:
            self.s3.get_object(Bucket=b, Key="r", Range="bytes=999999-")
        self.assertEqual((code(ctx), status(ctx)), ("InvalidRange", 416))
        with self.assertRaises(ClientError) as ctx:
            self.s3.get_object(Bucket=b, Key="r", IfNoneMatch=etag)
        self.assertEqual(status(ctx), 304)
        with self.assertRaises(ClientError) as ctx:
            self.s3.get_object(Bucket=b, Key="r", IfMatch='"0000"')
        self.assertEqual((code(ctx), status(ctx)), ("PreconditionFailed", 412))
        self.assertEqual(self.s3.get_object(Bucket=b, Key="r", IfMatch=etag)["ContentLength"], len(data))
        future = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
        with self.assertRaises(ClientError) as ctx:
            self.s3.get_object(Bucket=b, Key="r", IfModifiedSince=future)
        self.assertEqual(status(ctx), 304)
        with self.assertRaises(ClientError) as ctx:
            self.s3.put_object(Bucket=b, Key="r", Body=b"new", IfNoneMatch="*")
        self.assertEqual(status(ctx), 412)

    def test_awkward_keys_round_trip_exactly(self):
        b = self.bucket()
        keys = ["a/b", "a/b/c", "../../etc/passwd", "//double", "/leading", "sp ace", "plus+sign", "per%cent",
                "ünïcødé/ключ/鍵", "q?uery#hash", "amp&er=sand", "tab\tin", "a" * 1024, "dots/./and/../x"]
        for k in keys:
            self.s3.put_object(Bucket=b, Key=k, Body=k.encode())
        for k in keys:
            self.assertEqual(self.s3.get_object(Bucket=b, Key=k)["Body"].read(), k.encode(), k)
        listed = [o["Key"] for o in self.s3.list_objects_v2(Bucket=b)["Contents"]]
        self.assertEqual(listed, sorted(keys, key=lambda s: s.encode()))
        v1 = [o["Key"] for o in self.s3.list_objects(Bucket=b)["Contents"]]
        self.assertEqual(v1, listed)
        with self.assertRaises(ClientError) as ctx:
            self.s3.put_object(Bucket=b, Key="k" * 1025, Body=b"x")
        self.assertEqual(code(ctx), "KeyTooLongError")

    def test_listing_with_delimiters_and_pages(self):
        b = self.bucket()
        keys = ["logs/2026/%02d/%03d.json" % (m, i) for m in range(1, 4) for i in range(400)] + ["top.txt"]
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda k: self.s3.put_object(Bucket=b, Key=k, Body=b"{}"), keys))
        seen = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=b, PaginationConfig={"PageSize": 333}):
            seen += [o["Key"] for o in page.get("Contents", [])]
        self.assertEqual(seen, sorted(keys))
        top = self.s3.list_objects_v2(Bucket=b, Delimiter="/")
        self.assertEqual([p["Prefix"] for p in top["CommonPrefixes"]], ["logs/"])
        self.assertEqual([o["Key"] for o in top["Contents"]], ["top.txt"])
        months = self.s3.list_objects_v2(Bucket=b, Prefix="logs/2026/", Delimiter="/", MaxKeys=2)
        self.assertEqual([p["Prefix"] for p in months["CommonPrefixes"]], ["logs/2026/01/", "logs/2026/02/"])
        self.assertTrue(months["IsTruncated"])
        rest = self.s3.list_objects_v2(Bucket=b, Prefix="logs/2026/", Delimiter="/",
                                       ContinuationToken=months["NextContinuationToken"])
        self.assertEqual([p["Prefix"] for p in rest["CommonPrefixes"]], ["logs/2026/03/"])
        after = self.s3.list_objects_v2(Bucket=b, StartAfter="logs/2026/03/398.json")
        self.assertEqual([o["Key"] for o in after["Contents"]], ["logs/2026/03/399.json", "top.txt"])
        # Pages of one: a common prefix handed back as the marker resumes after everything under it.
        for op in ("list_objects", "list_objects_v2"):
            pages = list(self.s3.get_paginator(op).paginate(Bucket=b, Delimiter="/", PaginationConfig={"PageSize": 1}))
            self.assertEqual([p["Prefix"] for page in pages for p in page.get("CommonPrefixes", [])], ["logs/"], op)
            self.assertEqual([o["Key"] for page in pages for o in page.get("Contents", [])], ["top.txt"], op)
        pages = list(self.s3.get_paginator("list_object_versions").paginate(
            Bucket=b, Prefix="logs/2026/", Delimiter="/", PaginationConfig={"PageSize": 1}))
        self.assertEqual([p["Prefix"] for page in pages for p in page.get("CommonPrefixes", [])],
                         ["logs/2026/01/", "logs/2026/02/", "logs/2026/03/"])
        marker = self.s3.list_objects(Bucket=b, Marker="logs/2026/03/399.json")
        self.assertEqual([o["Key"] for o in marker["Contents"]], ["top.txt"])
        with self.assertRaises(ClientError) as ctx:
            self.s3.list_objects_v2(Bucket=b, ContinuationToken="not-a-token")
        self.assertEqual(code(ctx), "InvalidArgument")

    def test_versioning_and_delete_markers(self):
        b = self.bucket()
        self.assertNotIn("Status", self.s3.get_bucket_versioning(Bucket=b))
        self.s3.put_object(Bucket=b, Key="k", Body=b"before")
        self.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
        self.assertEqual(self.s3.get_bucket_versioning(Bucket=b)["Status"], "Enabled")
        v1 = self.s3.put_object(Bucket=b, Key="k", Body=b"one")["VersionId"]
        v2 = self.s3.put_object(Bucket=b, Key="k", Body=b"two")["VersionId"]
        self.assertNotEqual(v1, v2)
        self.assertEqual(self.s3.get_object(Bucket=b, Key="k", VersionId=v1)["Body"].read(), b"one")
        self.assertEqual(self.s3.get_object(Bucket=b, Key="k", VersionId="null")["Body"].read(), b"before")
        d = self.s3.delete_object(Bucket=b, Key="k")
        self.assertTrue(d["DeleteMarker"])
        with self.assertRaises(ClientError) as ctx:
            self.s3.get_object(Bucket=b, Key="k")
        self.assertEqual(status(ctx), 404)
        self.assertEqual(ctx.exception.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-delete-marker"], "true")
        with self.assertRaises(ClientError) as ctx:
            self.s3.head_object(Bucket=b, Key="k", VersionId=d["VersionId"])
        self.assertEqual(status(ctx), 405)
        vs = self.s3.list_object_versions(Bucket=b)
        self.assertEqual([v["VersionId"] for v in vs["Versions"]], [v2, v1, "null"])
        self.assertEqual([(m["VersionId"], m["IsLatest"]) for m in vs["DeleteMarkers"]], [(d["VersionId"], True)])
        self.assertNotIn("Contents", self.s3.list_objects_v2(Bucket=b))
        self.s3.delete_object(Bucket=b, Key="k", VersionId=d["VersionId"])
        self.assertEqual(self.s3.get_object(Bucket=b, Key="k")["Body"].read(), b"two")
        self.s3.delete_object(Bucket=b, Key="k", VersionId=v2)
        self.assertEqual(self.s3.get_object(Bucket=b, Key="k")["Body"].read(), b"one")
        # An older version copied over the key becomes current again (a restore).
        self.s3.copy_object(Bucket=b, Key="k", CopySource={"Bucket": b, "Key": "k", "VersionId": "null"})
        self.assertEqual(self.s3.get_object(Bucket=b, Key="k")["Body"].read(), b"before")
        self.s3.delete_object(Bucket=b, Key="k", VersionId=self.s3.head_object(Bucket=b, Key="k")["VersionId"])
        self.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Suspended"})
        self.assertEqual(self.s3.put_object(Bucket=b, Key="k", Body=b"s").get("VersionId"), "null")
        vs = self.s3.list_object_versions(Bucket=b)
        self.assertEqual([v["VersionId"] for v in vs["Versions"]], ["null", v1])
        pages = list(self.s3.get_paginator("list_object_versions").paginate(Bucket=b, PaginationConfig={"PageSize": 1}))
        self.assertEqual(sum(len(p.get("Versions", [])) for p in pages), 2)

    def test_copy_object(self):
        b, c = self.bucket(), self.bucket()
        self.s3.put_object(Bucket=b, Key="src", Body=b"payload", ContentType="text/plain", Metadata={"m": "1"})
        r = self.s3.copy_object(Bucket=c, Key="dst", CopySource={"Bucket": b, "Key": "src"})
        self.assertEqual(r["CopyObjectResult"]["ETag"], '"%s"' % hashlib.md5(b"payload").hexdigest())
        g = self.s3.get_object(Bucket=c, Key="dst")
        self.assertEqual((g["Body"].read(), g["ContentType"], g["Metadata"]), (b"payload", "text/plain", {"m": "1"}))
        self.s3.put_object_tagging(Bucket=b, Key="src", Tagging={"TagSet": [{"Key": "t", "Value": "v"}]})
        self.s3.copy_object(Bucket=b, Key="src", CopySource={"Bucket": b, "Key": "src"}, MetadataDirective="REPLACE",
                            ContentType="application/json", Metadata={"m": "2"})
        self.assertEqual(self.s3.head_object(Bucket=b, Key="src")["Metadata"], {"m": "2"})
        self.assertEqual(self.s3.get_object_tagging(Bucket=b, Key="src")["TagSet"], [{"Key": "t", "Value": "v"}])
        with self.assertRaises(ClientError) as ctx:
            self.s3.copy_object(Bucket=b, Key="src", CopySource={"Bucket": b, "Key": "src"})
        self.assertEqual(code(ctx), "InvalidRequest")
        with self.assertRaises(ClientError) as ctx:
            self.s3.copy_object(Bucket=b, Key="x", CopySource={"Bucket": b, "Key": "missing"})
        self.assertEqual(code(ctx), "NoSuchKey")

    def test_delete_objects_in_one_request(self):
        b = self.bucket()
        for i in range(5):
            self.s3.put_object(Bucket=b, Key="k%d" % i, Body=b"x")
        r = self.s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "k%d" % i} for i in range(4)] + [{"Key": "nope"}]})
        self.assertEqual(sorted(d["Key"] for d in r["Deleted"]), ["k0", "k1", "k2", "k3", "nope"])
        self.assertEqual([o["Key"] for o in self.s3.list_objects_v2(Bucket=b)["Contents"]], ["k4"])
        r = self.s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "k4"}], "Quiet": True})
        self.assertNotIn("Deleted", r)

    def test_object_and_bucket_tags(self):
        b = self.bucket()
        self.s3.put_object(Bucket=b, Key="k", Body=b"x", Tagging="team=data&tier=raw")
        self.assertEqual(self.s3.head_object(Bucket=b, Key="k")["ResponseMetadata"]["HTTPHeaders"]["x-amz-tagging-count"], "2")
        tags = self.s3.get_object_tagging(Bucket=b, Key="k")["TagSet"]
        self.assertEqual(sorted((t["Key"], t["Value"]) for t in tags), [("team", "data"), ("tier", "raw")])
        self.s3.put_object_tagging(Bucket=b, Key="k", Tagging={"TagSet": [{"Key": "x", "Value": "y"}]})
        self.assertEqual(self.s3.get_object_tagging(Bucket=b, Key="k")["TagSet"], [{"Key": "x", "Value": "y"}])
        self.s3.delete_object_tagging(Bucket=b, Key="k")
        self.assertEqual(self.s3.get_object_tagging(Bucket=b, Key="k")["TagSet"], [])
        with self.assertRaises(ClientError) as ctx:
            self.s3.put_object_tagging(Bucket=b, Key="k", Tagging={"TagSet": [{"Key": "k%d" % i, "Value": "v"} for i in range(11)]})
        self.assertEqual(code(ctx), "BadRequest")
        with self.assertRaises(ClientError) as ctx:
            self.s3.get_bucket_tagging(Bucket=b)
        self.assertEqual((code(ctx), status(ctx)), ("NoSuchTagSet", 404))
        self.s3.put_bucket_tagging(Bucket=b, Tagging={"TagSet": [{"Key": "env", "Value": "test"}]})
        self.assertEqual(self.s3.get_bucket_tagging(Bucket=b)["TagSet"], [{"Key": "env", "Value": "test"}])
        self.s3.delete_bucket_tagging(Bucket=b)
        with self.assertRaises(ClientError):
            self.s3.get_bucket_tagging(Bucket=b)

    def test_bucket_encryption_and_lifecycle_documents(self):
        b = self.bucket()
        enc = self.s3.get_bucket_encryption(Bucket=b)["ServerSideEncryptionConfiguration"]
        self.assertEqual(enc["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"], "AES256")
        self.s3.put_bucket_encryption(Bucket=b, ServerSideEncryptionConfiguration={"Rules": [
            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/lake"}}]})
        enc = self.s3.get_bucket_encryption(Bucket=b)["ServerSideEncryptionConfiguration"]
        self.assertEqual(enc["Rules"][0]["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"], "alias/lake")
        with self.assertRaises(ClientError) as ctx:
            self.s3.get_bucket_lifecycle_configuration(Bucket=b)
        self.assertEqual(code(ctx), "NoSuchLifecycleConfiguration")

    def test_the_bucket_settings_terraform_reads(self):
        b = self.bucket()
        self.s3.put_object(Bucket=b, Key="k", Body=b"x")
        acl = self.s3.get_bucket_acl(Bucket=b)
        self.assertEqual(acl["Grants"][0]["Permission"], "FULL_CONTROL")
        self.s3.put_bucket_acl(Bucket=b, ACL="private")
        self.assertEqual(self.s3.get_object_acl(Bucket=b, Key="k")["Grants"][0]["Permission"], "FULL_CONTROL")
        self.s3.put_object_acl(Bucket=b, Key="k", ACL="private")
        missing = {"get_bucket_policy": "NoSuchBucketPolicy", "get_bucket_cors": "NoSuchCORSConfiguration",
                   "get_bucket_website": "NoSuchWebsiteConfiguration",
                   "get_bucket_replication": "ReplicationConfigurationNotFoundError",
                   "get_object_lock_configuration": "ObjectLockConfigurationNotFoundError",
                   "get_bucket_ownership_controls": "OwnershipControlsNotFoundError",
                   "get_public_access_block": "NoSuchPublicAccessBlockConfiguration"}
        for op, error in missing.items():
            with self.assertRaises(ClientError) as ctx:
                getattr(self.s3, op)(Bucket=b)
            self.assertEqual((code(ctx), status(ctx)), (error, 404), op)
        self.assertNotIn("LoggingEnabled", self.s3.get_bucket_logging(Bucket=b))
        self.assertEqual(self.s3.get_bucket_request_payment(Bucket=b)["Payer"], "BucketOwner")
        self.assertNotIn("Status", self.s3.get_bucket_accelerate_configuration(Bucket=b))
        policy = '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*",' \
                 '"Resource":"arn:aws:s3:::%s/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}' % b
        self.s3.put_bucket_policy(Bucket=b, Policy=policy)
        self.assertEqual(self.s3.get_bucket_policy(Bucket=b)["Policy"], policy)
        with self.assertRaises(ClientError) as ctx:
            self.s3.put_bucket_policy(Bucket=b, Policy="{not json")
        self.assertEqual(code(ctx), "MalformedPolicy")
        self.s3.delete_bucket_policy(Bucket=b)
        cors = {"CORSRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]}]}
        self.s3.put_bucket_cors(Bucket=b, CORSConfiguration=cors)
        self.assertEqual(self.s3.get_bucket_cors(Bucket=b)["CORSRules"][0]["AllowedMethods"], ["GET"])
        self.s3.put_public_access_block(Bucket=b, PublicAccessBlockConfiguration={"BlockPublicAcls": True})
        self.assertTrue(self.s3.get_public_access_block(Bucket=b)["PublicAccessBlockConfiguration"]["BlockPublicAcls"])

    def test_virtual_hosted_style_addressing(self):
        b = self.bucket()
        h, p = self.server.host_port
        st, _, out = self.raw("PUT", "/v.txt", b"virtual", host="%s.localhost:%d" % (b, p))
        self.assertEqual(st, 200, out)
        self.assertEqual(self.s3.get_object(Bucket=b, Key="v.txt")["Body"].read(), b"virtual")
        st, _, out = self.raw("GET", "/?list-type=2", host="%s.localhost:%d" % (b, p))
        self.assertEqual(st, 200)
        self.assertIn(b"<Key>v.txt</Key>", out)
        st, _, out = self.raw("GET", "/v.txt", host="%s.s3.localhost:%d" % (b, p))  # the longest domain decides
        self.assertEqual((st, out), (200, b"virtual"))
        st, _, out = self.raw("GET", "/%s/v.txt" % b, host="s3.localhost:%d" % p)  # the endpoint itself: path-style
        self.assertEqual((st, out), (200, b"virtual"))

    def test_a_large_streamed_upload_and_download(self):
        b = self.bucket()
        data = os.urandom(7 * 1024 * 1024 + 123)  # below the CLI's multipart threshold, well past one chunk
        with tempfile.NamedTemporaryFile() as f:
            f.write(data)
            f.flush()
            self.s3.upload_file(f.name, b, "big", Config=__import__("boto3").s3.transfer.TransferConfig(
                multipart_threshold=64 * 1024 * 1024))
        got = self.s3.get_object(Bucket=b, Key="big")["Body"].read()
        self.assertEqual(hashlib.sha256(got).hexdigest(), hashlib.sha256(data).hexdigest())

    def test_multipart_upload_of_200_mib_with_ranged_reads(self):
        b = self.bucket()
        import boto3.s3.transfer
        part = 8 * 1024 * 1024
        block = os.urandom(1024 * 1024)
        with tempfile.NamedTemporaryFile() as f:
            digest = hashlib.sha256()
            for i in range(200):
                piece = bytes([i]) + block[1:]
                f.write(piece)
                digest.update(piece)
            f.flush()
            cfg = boto3.s3.transfer.TransferConfig(multipart_threshold=part, multipart_chunksize=part, max_concurrency=4)
            self.s3.upload_file(f.name, b, "big.bin", Config=cfg)
            head = self.s3.head_object(Bucket=b, Key="big.bin", ChecksumMode="ENABLED")
            self.assertEqual(head["ContentLength"], 200 * 1024 * 1024)
            self.assertTrue(head["ETag"].endswith('-25"'), head["ETag"])
            # Ranged reads across part boundaries.
            for start in (0, part - 10, 3 * part + 5, 200 * 1024 * 1024 - 100):
                got = self.s3.get_object(Bucket=b, Key="big.bin", Range="bytes=%d-%d" % (start, start + 99))["Body"].read()
                f.seek(start)
                self.assertEqual(got, f.read(100), start)
            second = self.s3.get_object(Bucket=b, Key="big.bin", PartNumber=2)
            self.assertEqual(second["ContentLength"], part)
            self.assertEqual(second["PartsCount"], 25)
            with tempfile.NamedTemporaryFile() as back:
                self.s3.download_file(b, "big.bin", back.name, Config=cfg)
                h = hashlib.sha256()
                with open(back.name, "rb") as r:
                    for chunk in iter(lambda: r.read(1 << 20), b""):
                        h.update(chunk)
                self.assertEqual(h.hexdigest(), digest.hexdigest())

    def test_multipart_api_and_its_errors(self):
        b = self.bucket()
        up = self.s3.create_multipart_upload(Bucket=b, Key="mp", ChecksumAlgorithm="SHA256")["UploadId"]
        five = 5 * 1024 * 1024
        p1 = self.s3.upload_part(Bucket=b, Key="mp", UploadId=up, PartNumber=1, Body=b"a" * five, ChecksumAlgorithm="SHA256")
        p2 = self.s3.upload_part(Bucket=b, Key="mp", UploadId=up, PartNumber=2, Body=b"tail", ChecksumAlgorithm="SHA256")
        parts = self.s3.list_parts(Bucket=b, Key="mp", UploadId=up)["Parts"]
        self.assertEqual([(p["PartNumber"], p["Size"]) for p in parts], [(1, five), (2, 4)])
        uploads = self.s3.list_multipart_uploads(Bucket=b)["Uploads"]
        self.assertEqual([(u["Key"], u["UploadId"]) for u in uploads], [("mp", up)])
        with self.assertRaises(ClientError) as ctx:
            self.s3.complete_multipart_upload(Bucket=b, Key="mp", UploadId=up, MultipartUpload={"Parts": [
                {"PartNumber": 2, "ETag": p2["ETag"]}, {"PartNumber": 1, "ETag": p1["ETag"]}]})
        self.assertEqual(code(ctx), "InvalidPartOrder")
        with self.assertRaises(ClientError) as ctx:
            self.s3.complete_multipart_upload(Bucket=b, Key="mp", UploadId=up, MultipartUpload={"Parts": [
                {"PartNumber": 1, "ETag": '"00000000000000000000000000000000"'}]})
        self.assertEqual(code(ctx), "InvalidPart")
        done = self.s3.complete_multipart_upload(Bucket=b, Key="mp", UploadId=up, MultipartUpload={"Parts": [
            {"PartNumber": 1, "ETag": p1["ETag"], "ChecksumSHA256": p1["ChecksumSHA256"]},
            {"PartNumber": 2, "ETag": p2["ETag"], "ChecksumSHA256": p2["ChecksumSHA256"]}]})
        md5s = hashlib.md5(b"a" * five).digest() + hashlib.md5(b"tail").digest()
        self.assertEqual(done["ETag"], '"%s-2"' % hashlib.md5(md5s).hexdigest())
        composite = hashlib.sha256(hashlib.sha256(b"a" * five).digest() + hashlib.sha256(b"tail").digest()).digest()
        self.assertEqual(done["ChecksumSHA256"], base64.b64encode(composite).decode() + "-2")
        self.assertEqual(self.s3.get_object(Bucket=b, Key="mp")["Body"].read(), b"a" * five + b"tail")
        self.assertNotIn("Uploads", self.s3.list_multipart_uploads(Bucket=b))
        with self.assertRaises(ClientError) as ctx:
            self.s3.upload_part(Bucket=b, Key="mp", UploadId=up, PartNumber=3, Body=b"late")
        self.assertEqual((code(ctx), status(ctx)), ("NoSuchUpload", 404))

        small = self.s3.create_multipart_upload(Bucket=b, Key="small")["UploadId"]
        q1 = self.s3.upload_part(Bucket=b, Key="small", UploadId=small, PartNumber=1, Body=b"tiny")
        q2 = self.s3.upload_part(Bucket=b, Key="small", UploadId=small, PartNumber=2, Body=b"tiny")
        with self.assertRaises(ClientError) as ctx:
            self.s3.complete_multipart_upload(Bucket=b, Key="small", UploadId=small, MultipartUpload={"Parts": [
                {"PartNumber": 1, "ETag": q1["ETag"]}, {"PartNumber": 2, "ETag": q2["ETag"]}]})
        self.assertEqual(code(ctx), "EntityTooSmall")
        copy = self.s3.upload_part_copy(Bucket=b, Key="small", UploadId=small, PartNumber=3,
                                        CopySource={"Bucket": b, "Key": "mp"}, CopySourceRange="bytes=0-9")
        self.assertEqual(copy["CopyPartResult"]["ETag"], '"%s"' % hashlib.md5(b"a" * 10).hexdigest())
        self.s3.abort_multipart_upload(Bucket=b, Key="small", UploadId=small)
        hashed = self.s3.create_multipart_upload(Bucket=b, Key="hashed", ChecksumAlgorithm="SHA256")["UploadId"]
        copy = self.s3.upload_part_copy(Bucket=b, Key="hashed", UploadId=hashed, PartNumber=1,
                                        CopySource={"Bucket": b, "Key": "mp"}, CopySourceRange="bytes=5-14")
        self.assertEqual(copy["CopyPartResult"]["ChecksumSHA256"],
                         base64.b64encode(hashlib.sha256(b"a" * 10).digest()).decode())
        self.s3.abort_multipart_upload(Bucket=b, Key="hashed", UploadId=hashed)
        with self.assertRaises(ClientError) as ctx:
            self.s3.list_parts(Bucket=b, Key="small", UploadId=small)
        self.assertEqual(code(ctx), "NoSuchUpload")
        self.s3.delete_object(Bucket=b, Key="mp")
        self.s3.delete_bucket(Bucket=b)  # nothing left behind

    def test_lifecycle_configuration_is_validated_and_returned(self):
        b = self.bucket()
        rules = [{"ID": "logs", "Filter": {"Prefix": "logs/"}, "Status": "Enabled", "Expiration": {"Days": 30},
                  "Transitions": [{"Days": 7, "StorageClass": "GLACIER"}],
                  "NoncurrentVersionExpiration": {"NoncurrentDays": 5, "NewerNoncurrentVersions": 2},
                  "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}},
                 {"ID": "big", "Filter": {"And": {"Prefix": "x/", "Tags": [{"Key": "t", "Value": "v"}],
                                                  "ObjectSizeGreaterThan": 100}},
                  "Status": "Disabled", "Expiration": {"Date": datetime.datetime(2030, 1, 1)}}]
        self.s3.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration={"Rules": rules})
        got = self.s3.get_bucket_lifecycle_configuration(Bucket=b)["Rules"]
        self.assertEqual([r["ID"] for r in got], ["logs", "big"])
        self.assertEqual(got[0]["Transitions"][0]["StorageClass"], "GLACIER")
        for bad in ({"ID": "x", "Filter": {"Prefix": ""}, "Status": "Enabled", "Expiration": {"Days": 0}},
                    {"ID": "x", "Filter": {"Prefix": ""}, "Status": "Enabled"},
                    {"ID": "x", "Filter": {"Tag": {"Key": "a", "Value": "b"}}, "Status": "Enabled",
                     "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}},
                    {"ID": "x", "Filter": {"Prefix": ""}, "Status": "Enabled",
                     "Expiration": {"Date": datetime.datetime(2030, 1, 1, 12)}}):
            with self.assertRaises(ClientError) as ctx:
                self.s3.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration={"Rules": [bad]})
            self.assertIn(code(ctx), ("InvalidArgument", "MalformedXML"), bad)
        self.s3.delete_bucket_lifecycle(Bucket=b)
        with self.assertRaises(ClientError) as ctx:
            self.s3.get_bucket_lifecycle_configuration(Bucket=b)
        self.assertEqual(code(ctx), "NoSuchLifecycleConfiguration")

    def test_cli_session(self):
        b = self.bucket()
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, "src", "sub"))
            for name, body in (("a.txt", "one"), ("sub/b.txt", "two"), ("with space.txt", "three")):
                with open(os.path.join(d, "src", name), "w") as f:
                    f.write(body)
            rc, out, err = self.server.aws("s3", "sync", os.path.join(d, "src"), "s3://%s/data/" % b)
            self.assertEqual(rc, 0, err)
            rc, out, err = self.server.aws("s3", "ls", "--recursive", "s3://%s/" % b)
            self.assertEqual(rc, 0, err)
            self.assertEqual(sorted(line.split(None, 3)[3] for line in out.strip().splitlines()),
                             ["data/a.txt", "data/sub/b.txt", "data/with space.txt"])
            rc, out, err = self.server.aws("s3", "cp", "s3://%s/data/with space.txt" % b, os.path.join(d, "back.txt"))
            self.assertEqual(rc, 0, err)
            with open(os.path.join(d, "back.txt")) as f:
                self.assertEqual(f.read(), "three")
            rc, out, err = self.server.aws("s3api", "head-object", "--bucket", b, "--key", "data/a.txt")
            self.assertEqual(rc, 0, err)
            big = os.path.join(d, "big.bin")  # past the CLI's 8 MiB multipart threshold
            with open(big, "wb") as f:
                f.write(os.urandom(20 * 1024 * 1024 + 7))
            rc, out, err = self.server.aws("s3", "cp", big, "s3://%s/data/big.bin" % b)
            self.assertEqual(rc, 0, err)
            rc, out, err = self.server.aws("s3", "cp", "s3://%s/data/big.bin" % b, big + ".back")
            self.assertEqual(rc, 0, err)
            with open(big, "rb") as x, open(big + ".back", "rb") as y:
                self.assertEqual(hashlib.sha256(x.read()).digest(), hashlib.sha256(y.read()).digest())
            rc, out, err = self.server.aws("s3", "rm", "--recursive", "s3://%s/data/" % b)
            self.assertEqual(rc, 0, err)
            rc, out, err = self.server.aws("s3api", "list-objects-v2", "--bucket", b)
            self.assertEqual(rc, 0, err)
            self.assertNotIn("Contents", out)


class S3ManyKeysTest(ServerTestCase, unittest.TestCase):
    def test_listing_100000_keys_page_by_page(self):
        import threading
        s3 = self.server.client("s3")
        s3.create_bucket(Bucket="many")
        host, port = self.server.host_port
        local = threading.local()

        def put(i):
            # Keep-alive connections with UNSIGNED-PAYLOAD: quicker to write 100,000 keys than boto3.
            if not hasattr(local, "conn"):
                local.conn = http.client.HTTPConnection(host, port, timeout=60)
            path = "/many/day=%02d/%06d.json" % (i % 50, i)
            req = botocore.awsrequest.AWSRequest(method="PUT", url=self.server.endpoint + path, data=b"",
                                                 headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
            botocore.auth.SigV4Auth(botocore.credentials.Credentials(ACCESS_KEY, SECRET_KEY), "s3", REGION).add_auth(req)
            headers = dict(req.headers.items())
            headers["Content-Length"] = "2"
            local.conn.request("PUT", path, body=b"{}", headers=headers)
            resp = local.conn.getresponse()
            resp.read()
            return resp.status

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(put, range(100000)))
        self.assertEqual(set(statuses), {200})
        keys, pages = [], 0
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket="many"):
            pages += 1
            keys += [o["Key"] for o in page["Contents"]]
        self.assertEqual(pages, 100)
        self.assertEqual(len(keys), 100000)
        self.assertEqual(keys, sorted(keys))
        self.assertEqual(len(set(keys)), 100000)
        days = s3.list_objects_v2(Bucket="many", Delimiter="/")["CommonPrefixes"]
        self.assertEqual(len(days), 50)
        one_day = list(s3.get_paginator("list_objects_v2").paginate(Bucket="many", Prefix="day=07/",
                                                                    PaginationConfig={"PageSize": 300}))
        self.assertEqual(sum(p["KeyCount"] for p in one_day), 2000)
        v1 = list(s3.get_paginator("list_objects").paginate(Bucket="many", Prefix="day=1", Delimiter="/"))
        self.assertEqual(sum(len(p.get("CommonPrefixes", [])) for p in v1), 10)


class S3HugeObjectTest(ServerTestCase, unittest.TestCase):
    def test_a_5_gib_upload_and_download_run_in_bounded_memory(self):
        import shutil
        import threading
        free = shutil.disk_usage(self.server.data_dir).free
        if free < 12 << 30:
            self.skipTest("needs 12 GiB of free disk, %d MiB free" % (free >> 20))
        s3 = self.server.client("s3")
        s3.create_bucket(Bucket="huge")
        host, port = self.server.host_port
        size, block = 5 << 30, os.urandom(1 << 20)
        rss, stop = [], threading.Event()

        def sample():
            while not stop.is_set():
                with open("/proc/%d/status" % self.server.proc.pid) as f:
                    rss.extend(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
                time.sleep(0.2)

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            path = "/huge/five.bin"
            req = botocore.awsrequest.AWSRequest(method="PUT", url=self.server.endpoint + path, data=b"",
                                                 headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
            botocore.auth.SigV4Auth(botocore.credentials.Credentials(ACCESS_KEY, SECRET_KEY), "s3", REGION).add_auth(req)
            conn = http.client.HTTPConnection(host, port, timeout=600)
            conn.putrequest("PUT", path, skip_accept_encoding=True)
            for k, v in dict(req.headers.items(), **{"Content-Length": str(size)}).items():
                conn.putheader(k, v)
            conn.endheaders()
            md5 = hashlib.md5()
            for i in range(size >> 20):
                piece = block[:-8] + i.to_bytes(8, "big")  # every MiB differs
                md5.update(piece)
                conn.send(piece)
            resp = conn.getresponse()
            self.assertEqual(resp.status, 200, resp.read())
            self.assertEqual(resp.getheader("ETag"), '"%s"' % md5.hexdigest())
            resp.read()
            got = s3.get_object(Bucket="huge", Key="five.bin")
            back, n = hashlib.md5(), 0
            for chunk in got["Body"].iter_chunks(1 << 20):
                back.update(chunk)
                n += len(chunk)
            self.assertEqual((n, back.hexdigest()), (size, md5.hexdigest()))
        finally:
            stop.set()
            sampler.join()
            s3.delete_object(Bucket="huge", Key="five.bin")
        self.assertLess(max(rss), 256 * 1024, "server RSS peaked at %d KiB" % max(rss))


class S3CrashTest(unittest.TestCase):
    def test_sigkill_during_uploads_and_overwrites_leaves_old_or_new_objects(self):
        import signal
        import threading
        from harness import Server, wait_for
        s = Server().start()
        try:
            s.client("s3").create_bucket(Bucket="crash")
            lock = threading.Lock()
            attempts, acked = {}, {}  # key -> bodies tried in order; key -> index of the last acknowledged one
            stop = threading.Event()

            def storm(t):
                client = s.client("s3")
                i = 0
                while not stop.is_set():
                    key = "k%d-%d" % (t, i % 4)
                    body = ("%s #%d|" % (key, i)).encode() * (1 + (i * 7919) % 40000)
                    with lock:
                        attempts.setdefault(key, []).append(body)
                        index = len(attempts[key]) - 1
                    i += 1
                    try:
                        client.put_object(Bucket="crash", Key=key, Body=body)
                    except Exception:
                        return  # the server is gone
                    with lock:
                        acked[key] = max(acked.get(key, -1), index)

            threads = [threading.Thread(target=storm, args=(t,)) for t in range(4)]
            for t in threads:
                t.start()
            wait_for(lambda: sum(acked.values()) > 150, timeout=60, what="acknowledged uploads")
            s.proc.send_signal(signal.SIGKILL)
            s.proc.wait()
            stop.set()
            for t in threads:
                t.join()

            s2 = Server(data_dir=s.data_dir).start()
            try:
                c = s2.client("s3")
                for key, bodies in attempts.items():
                    try:
                        got = c.get_object(Bucket="crash", Key=key)
                    except ClientError:
                        self.assertNotIn(key, acked, "an acknowledged upload of %s is gone" % key)
                        continue
                    body = got["Body"].read()
                    self.assertEqual(got["ETag"], '"%s"' % hashlib.md5(body).hexdigest(), key)
                    self.assertIn(body, bodies, "%s holds bytes nobody uploaded whole" % key)
                    newest = max(i for i, b in enumerate(bodies) if b == body)
                    self.assertGreaterEqual(newest, acked.get(key, -1), "%s went back before an acknowledged upload" % key)
                tmp = os.path.join(s.data_dir, "objects", "tmp")
                self.assertEqual(os.listdir(tmp), [])
                self.assertEqual(s2.stop(), 0)
            finally:
                s2.cleanup()
        finally:
            s.cleanup()


class S3LifecycleTest(ServerTestCase, unittest.TestCase):
    """The background worker on a server that applies rules every second: dates already past are due now."""

    server_args = ("--lifecycle-interval", "1")

    def test_rules_expire_and_move_objects_in_the_background(self):
        s3 = self.server.client("s3")
        s3.create_bucket(Bucket="lifecycle")
        s3.put_object(Bucket="lifecycle", Key="tmp/a", Body=b"expires")
        s3.put_object(Bucket="lifecycle", Key="cold/b", Body=b"moves to the cold tier")
        s3.put_object(Bucket="lifecycle", Key="keep/c", Body=b"stays")
        s3.put_bucket_lifecycle_configuration(Bucket="lifecycle", LifecycleConfiguration={"Rules": [
            {"ID": "tmp", "Filter": {"Prefix": "tmp/"}, "Status": "Enabled",
             "Expiration": {"Date": datetime.datetime(2020, 1, 1)}},
            {"ID": "cold", "Filter": {"Prefix": "cold/"}, "Status": "Enabled",
             "Transitions": [{"Date": datetime.datetime(2020, 1, 1), "StorageClass": "GLACIER"}]}]})
        from harness import wait_for
        wait_for(lambda: [o["Key"] for o in s3.list_objects_v2(Bucket="lifecycle")["Contents"]] == ["cold/b", "keep/c"],
                 what="tmp/a to expire")
        wait_for(lambda: s3.head_object(Bucket="lifecycle", Key="cold/b").get("StorageClass") == "GLACIER",
                 what="cold/b to move")
        self.assertEqual(s3.get_object(Bucket="lifecycle", Key="cold/b")["Body"].read(), b"moves to the cold tier")
        cold = os.path.join(self.server.data_dir, "objects", "cold", "blobs")
        self.assertTrue(any(files for _, _, files in os.walk(cold)))
        self.assertIsNone(s3.head_object(Bucket="lifecycle", Key="keep/c").get("StorageClass"))


if __name__ == "__main__":
    unittest.main()
