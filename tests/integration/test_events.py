"""EventBridge with boto3 and the AWS CLI: the event pattern language through TestEventPattern."""

import json
import os
import unittest

from botocore.exceptions import ClientError

from harness import ServerTestCase

CASES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "bus", "testdata",
                     "pattern_cases.json")
ENVELOPE = {"version": "0", "id": "1", "detail-type": "test", "source": "test", "account": "000000000000",
            "time": "2026-11-26T00:00:00Z", "region": "us-east-1", "resources": []}


def code(ctx):
    return ctx.exception.response["Error"]["Code"]


class EventPatternTest(ServerTestCase, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.events = cls.server.client("events")
        with open(CASES) as f:
            cls.cases = json.load(f)

    def test_conformance_cases_through_test_event_pattern(self):
        for case in self.cases["matches"]:
            pattern = case["pattern"]
            if any(k in json.dumps(pattern) for k in ('"source"', '"detail-type"', '"id"', '"account"', '"time"',
                                                      '"region"', '"version"', '"resources"')) and \
                    not all(k in case["event"] for k in ENVELOPE):
                continue  # the envelope added below would change what the pattern sees
            event = dict(ENVELOPE)
            event.update(case["event"])
            with self.subTest(case=case["name"]):
                text = pattern if isinstance(pattern, str) else json.dumps(pattern)
                out = self.events.test_event_pattern(EventPattern=text, Event=json.dumps(event))
                self.assertEqual(out["Result"], case["match"])

    def test_invalid_patterns_are_refused_with_the_reason(self):
        event = json.dumps(ENVELOPE)
        for case in self.cases["errors"]:
            pattern = case["pattern"]
            text = pattern if isinstance(pattern, str) else json.dumps(pattern)
            if len(text) > 4096:
                continue
            with self.subTest(case=case["name"]):
                with self.assertRaises(ClientError) as e:
                    self.events.test_event_pattern(EventPattern=text, Event=event)
                self.assertEqual(code(e), "InvalidEventPatternException")
                self.assertIn("Event pattern is not valid. Reason: ", e.exception.response["Error"]["Message"])
                self.assertIn(case["error"], e.exception.response["Error"]["Message"])

    def test_the_event_needs_its_envelope(self):
        with self.assertRaises(ClientError) as e:
            self.events.test_event_pattern(EventPattern='{"source": ["x"]}', Event='{"source": "x"}')
        self.assertEqual(code(e), "InvalidEventPatternException")
        self.assertIn("id", e.exception.response["Error"]["Message"])
        with self.assertRaises(ClientError) as e:
            self.events.test_event_pattern(EventPattern='{"source": ["x"]}', Event="not json")
        self.assertEqual(code(e), "InvalidEventPatternException")

    def test_cli(self):
        event = dict(ENVELOPE, source="aws.ec2", detail={"state": "running", "cpu": 93})
        rc, out, err = self.server.aws(
            "events", "test-event-pattern", "--event", json.dumps(event), "--event-pattern",
            json.dumps({"source": ["aws.ec2"], "detail": {"cpu": [{"numeric": [">", 90]}]}}))
        self.assertEqual(rc, 0, err)
        self.assertTrue(json.loads(out)["Result"])


if __name__ == "__main__":
    unittest.main()
