"""The AWS CLI v2 (Debian's /usr/bin/aws) against the real server."""

import base64
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
        self.assertEqual(rc, 0, err)
        self.assertIn("raw", [b["Name"] for b in json.loads(out)["Buckets"]])

    def test_scripted_producer_and_consumer_session(self):
        aws = self.server.aws
        rc, out, err = aws("kinesis", "create-stream", "--stream-name", "cli-session", "--shard-count", "1")
        self.assertEqual(rc, 0, err)
        rc, out, err = aws("kinesis", "wait", "stream-exists", "--stream-name", "cli-session")
        self.assertEqual(rc, 0, err)
        for i in range(3):
            rc, out, err = aws("kinesis", "put-record", "--stream-name", "cli-session", "--partition-key", "user-%d" % i,
                               "--data", '{"n": %d}' % i, "--cli-binary-format", "raw-in-base64-out")
            self.assertEqual(rc, 0, err)
            self.assertEqual(json.loads(out)["ShardId"], "shardId-000000000000")
        rc, out, err = aws("kinesis", "get-shard-iterator", "--stream-name", "cli-session", "--shard-id",
                           "shardId-000000000000", "--shard-iterator-type", "TRIM_HORIZON")
        self.assertEqual(rc, 0, err)
        iterator = json.loads(out)["ShardIterator"]
        rc, out, err = aws("kinesis", "get-records", "--shard-iterator", iterator)
        self.assertEqual(rc, 0, err)
        records = json.loads(out)["Records"]
        self.assertEqual([base64.b64decode(r["Data"]) for r in records], [b'{"n": 0}', b'{"n": 1}', b'{"n": 2}'])
        self.assertEqual([r["PartitionKey"] for r in records], ["user-0", "user-1", "user-2"])
        rc, out, err = aws("kinesis", "delete-stream", "--stream-name", "cli-session")
        self.assertEqual(rc, 0, err)
        rc, out, err = aws("kinesis", "describe-stream-summary", "--stream-name", "cli-session")
        self.assertIn("ResourceNotFoundException", err)


if __name__ == "__main__":
    unittest.main()
