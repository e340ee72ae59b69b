"""The AWS CLI v2 (Debian's /usr/bin/aws) against the real server."""

import json
import os
import unittest

from harness import AWS_CLI, ServerTestCase


@unittest.skipUnless(os.path.exists(AWS_CLI), "AWS CLI v2 not installed at " + AWS_CLI)
class CliTest(ServerTestCase, unittest.TestCase):
    def test_quick_start_get_caller_identity(self):
        rc, out, err = self.server.aws("sts", "get-caller-identity")
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(out)["Arn"], "arn:aws:iam::000000000000:root")

    def test_wrong_secret(self):
        rc, out, err = self.server.aws("sts", "get-caller-identity", secret="wrong")
        self.assertNotEqual(rc, 0)
        self.assertIn("SignatureDoesNotMatch", err)
        rc, out, err = self.server.aws("kinesis", "list-streams", secret="wrong")
        self.assertNotEqual(rc, 0)
        self.assertIn("InvalidSignatureException", err)

    def test_unknown_key(self):
        rc, out, err = self.server.aws("sts", "get-caller-identity", key="AKIANOSUCHKEY0000000")
        self.assertNotEqual(rc, 0)
        self.assertIn("InvalidClientTokenId", err)

    def test_no_signature(self):
        rc, out, err = self.server.aws("kinesis", "list-streams", "--no-sign-request")
        self.assertNotEqual(rc, 0)
        self.assertIn("MissingAuthenticationTokenException", err)

    def test_signed_calls_reach_the_services(self):
        rc, out, err = self.server.aws("kinesis", "list-streams")
        self.assertEqual(rc, 0, err)
        self.assertIn("StreamNames", json.loads(out))
        rc, out, err = self.server.aws("s3api", "list-buckets")
        self.assertIn("NotImplemented", err)


if __name__ == "__main__":
    unittest.main()
