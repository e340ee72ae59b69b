"""SigV4 as real SDK requests exercise it: boto3 (what current SDKs send)."""

import datetime
import gzip
import http.client
import json
import unittest
import urllib.error
import urllib.request
from unittest import mock

import botocore
import botocore.auth
import botocore.awsrequest
import botocore.credentials
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from harness import ACCESS_KEY, REGION, SECRET_KEY, ServerTestCase


def error_code(ctx):
    return ctx.exception.response["Error"]["Code"]


def clock_shifted(delta):
    """Makes botocore sign as if the clock were off by `delta`."""
    then = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) + delta
    if hasattr(botocore.auth, "get_current_datetime"):
        return mock.patch("botocore.auth.get_current_datetime", return_value=then)
    fake = mock.MagicMock(wraps=datetime)
    fake.datetime.utcnow.return_value = then
    return mock.patch("botocore.auth.datetime", fake)


class SigningTest(ServerTestCase, unittest.TestCase):
    def test_get_caller_identity_names_the_root_principal(self):
        out = self.server.client("sts").get_caller_identity()
        self.assertEqual(out["Arn"], "arn:aws:iam::000000000000:root")
        self.assertEqual(out["Account"], "000000000000")
        self.assertEqual(len(out["ResponseMetadata"]["RequestId"]), 36)

    def test_signed_json_call_passes_authentication(self):
        out = self.server.client("kinesis").list_streams()
        self.assertIsInstance(out["StreamNames"], list)
        self.assertEqual(len(out["ResponseMetadata"]["RequestId"]), 36)
        # A known service without that operation: authenticated first, then unknown.
        status, _, body = self.server.signed_raw("firehose", {"Content-Type": "application/x-amz-json-1.1",
                                                              "X-Amz-Target": "Firehose_20150804.NoSuchAction"}, b"{}")
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(body)["__type"], "UnknownOperationException")

    def test_wrong_secret_is_refused_in_every_protocol(self):
        cases = [("kinesis", lambda c: c.list_streams(), "InvalidSignatureException"),
                 ("sts", lambda c: c.get_caller_identity(), "SignatureDoesNotMatch"),
                 ("s3", lambda c: c.list_buckets(), "SignatureDoesNotMatch")]
        for service, call, code in cases:
            with self.subTest(service=service), self.assertRaises(ClientError) as ctx:
                call(self.server.client(service, secret="not-the-secret"))
            self.assertEqual(error_code(ctx), code)

    def test_unknown_access_key_is_refused_in_every_protocol(self):
        cases = [("kinesis", lambda c: c.list_streams(), "UnrecognizedClientException"),
                 ("sts", lambda c: c.get_caller_identity(), "InvalidClientTokenId"),
                 ("s3", lambda c: c.list_buckets(), "InvalidAccessKeyId")]
        for service, call, code in cases:
            with self.subTest(service=service), self.assertRaises(ClientError) as ctx:
                call(self.server.client(service, key="AKIANOSUCHKEY0000000"))
            self.assertEqual(error_code(ctx), code)

    def test_unsigned_request_is_refused_in_every_protocol(self):
        cases = [("kinesis", lambda c: c.list_streams(), "MissingAuthenticationTokenException"),
                 ("sts", lambda c: c.get_caller_identity(), "MissingAuthenticationToken"),
                 ("s3", lambda c: c.list_buckets(), "AccessDenied")]
        for service, call, code in cases:
            with self.subTest(service=service), self.assertRaises(ClientError) as ctx:
                call(self.server.client(service, signature_version=UNSIGNED))
            self.assertEqual(error_code(ctx), code)

    def test_tampered_body_is_refused(self):
        client = self.server.client("sts")

        def tamper(request, **kwargs):
            body = request.body if isinstance(request.body, bytes) else request.body.encode()
            request.body = body.replace(b"2011-06-15", b"2011-06-16")

        client.meta.events.register("before-send.sts.GetCallerIdentity", tamper)
        with self.assertRaises(ClientError) as ctx:
            client.get_caller_identity()
        self.assertEqual(error_code(ctx), "SignatureDoesNotMatch")

        kinesis = self.server.client("kinesis")
        kinesis.meta.events.register("before-send.kinesis.ListStreams",
                                     lambda request, **kw: setattr(request, "body", b'{"Limit": 5}'))
        with self.assertRaises(ClientError) as ctx:
            kinesis.list_streams()
        self.assertEqual(error_code(ctx), "InvalidSignatureException")

    def test_old_date_is_refused_and_a_fresh_one_accepted(self):
        client = self.server.client("kinesis")
        with clock_shifted(datetime.timedelta(minutes=-20)):
            with self.assertRaises(ClientError) as ctx:
                client.list_streams()
        self.assertEqual(error_code(ctx), "InvalidSignatureException")
        self.assertIn("Signature expired", ctx.exception.response["Error"]["Message"])
        with clock_shifted(datetime.timedelta(minutes=-10)):
            self.assertIn("StreamNames", client.list_streams())
        with clock_shifted(datetime.timedelta(minutes=-20)):
            with self.assertRaises(ClientError) as ctx:
                self.server.client("sts").get_caller_identity()
        self.assertEqual(error_code(ctx), "SignatureDoesNotMatch")
        with clock_shifted(datetime.timedelta(minutes=20)):
            with self.assertRaises(ClientError) as ctx:
                self.server.client("s3").list_buckets()
        self.assertEqual(error_code(ctx), "RequestTimeTooSkewed")

    def test_credential_scoped_to_another_region_is_refused(self):
        with self.assertRaises(ClientError) as ctx:
            self.server.client("kinesis", region="eu-west-1").list_streams()
        self.assertEqual(error_code(ctx), "InvalidSignatureException")
        self.assertIn("region", ctx.exception.response["Error"]["Message"])

    def test_s3_signed_payload_and_checksums_pass_authentication(self):
        s3 = self.server.client("s3", s3={"addressing_style": "path"})
        s3.put_object(Bucket="raw", Key="events/a b+c.json", Body=b'{"hello": "world"}')
        self.assertEqual(s3.get_object(Bucket="raw", Key="events/a b+c.json")["Body"].read(), b'{"hello": "world"}')

    def _get(self, url):
        try:
            with urllib.request.urlopen(url, timeout=10) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def test_presigned_url_is_verified_and_expires(self):
        s3 = self.server.client("s3", s3={"addressing_style": "path"}, signature_version="s3v4")
        s3.put_object(Bucket="raw", Key="a/b.json", Body=b"presigned")
        url = s3.generate_presigned_url("get_object", Params={"Bucket": "raw", "Key": "a/b.json"}, ExpiresIn=300)
        status, body = self._get(url)
        self.assertEqual(status, 200, body)
        self.assertEqual(body, "presigned")
        status, body = self._get(url.replace("X-Amz-Signature=", "X-Amz-Signature=0"))
        self.assertIn(status, (400, 403))
        bad = url[:-1] + ("0" if url[-1] != "0" else "1")
        status, body = self._get(bad)
        self.assertEqual(status, 403)
        self.assertIn("<Code>SignatureDoesNotMatch</Code>", body)
        with clock_shifted(datetime.timedelta(hours=-2)):
            old = s3.generate_presigned_url("get_object", Params={"Bucket": "raw", "Key": "k"}, ExpiresIn=60)
        status, body = self._get(old)
        self.assertEqual(status, 403)
        self.assertIn("<Message>Request has expired</Message>", body)

    def test_gzip_request_bodies_are_accepted(self):
        body = gzip.compress(b"Action=GetCallerIdentity&Version=2011-06-15")
        status, headers, payload = self.server.signed_raw(
            "sts", {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8", "Content-Encoding": "gzip"},
            body)
        self.assertEqual(status, 200, payload)
        self.assertIn(b"<Arn>arn:aws:iam::000000000000:root</Arn>", payload)

    def test_json_errors_have_the_aws_shape(self):
        status, headers, payload = self.server.signed_raw(
            "kinesis", {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Kinesis_20131202.Nope"}, b"{}")
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(payload), {"__type": "UnknownOperationException", "message": ""})
        self.assertEqual(headers["x-amzn-ErrorType"], "UnknownOperationException")
        self.assertEqual(headers["Content-Type"], "application/x-amz-json-1.1")
        self.assertEqual(len(headers["x-amzn-RequestId"]), 36)


if __name__ == "__main__":
    unittest.main()
