// The AWS SDK for JavaScript v3 with Firehose: a Node.js producer puts records into a delivery stream,
// and the objects appear in the lake under the prefix the configuration names.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import {
  FirehoseClient, CreateDeliveryStreamCommand, DescribeDeliveryStreamCommand, PutRecordCommand,
  PutRecordBatchCommand, ListDeliveryStreamsCommand, DeleteDeliveryStreamCommand, ResourceNotFoundException,
} from "@aws-sdk/client-firehose";
import { S3Client, ListObjectsV2Command, GetObjectCommand } from "@aws-sdk/client-s3";
import { startServer, credentials } from "./harness.mjs";

let server, firehose, s3;

before(async () => {
  server = await startServer();
  firehose = new FirehoseClient({ endpoint: server.endpoint, region: "us-east-1", credentials, maxAttempts: 1 });
  s3 = new S3Client({ endpoint: server.endpoint, region: "us-east-1", credentials, forcePathStyle: true, maxAttempts: 1 });
});

after(async () => {
  assert.equal(await server.stop(), 0);
});

async function objectsUnder(prefix, count) {
  const deadline = Date.now() + 15000;
  for (;;) {
    const out = await s3.send(new ListObjectsV2Command({ Bucket: "raw", Prefix: prefix }));
    const keys = (out.Contents ?? []).map((o) => o.Key);
    if (keys.length >= count) {
      const bodies = {};
      for (const key of keys) {
        const got = await s3.send(new GetObjectCommand({ Bucket: "raw", Key: key }));
        bodies[key] = Buffer.from(await got.Body.transformToByteArray());
      }
      return bodies;
    }
    if (Date.now() > deadline) throw new Error(`no ${count} objects under ${prefix}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("a producer's records land gzip'd under a timestamped prefix", async () => {
  const { DeliveryStreamARN } = await firehose.send(new CreateDeliveryStreamCommand({
    DeliveryStreamName: "js-hose",
    DeliveryStreamType: "DirectPut",
    ExtendedS3DestinationConfiguration: {
      RoleARN: "arn:aws:iam::000000000000:role/firehose",
      BucketARN: "arn:aws:s3:::raw",
      Prefix: "js/year=!{timestamp:yyyy}/",
      ErrorOutputPrefix: "js-errors/!{firehose:error-output-type}/",
      CompressionFormat: "GZIP",
      BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 },
    },
  }));
  assert.equal(DeliveryStreamARN, "arn:aws:firehose:us-east-1:000000000000:deliverystream/js-hose");
  const d = await firehose.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: "js-hose" }));
  assert.equal(d.DeliveryStreamDescription.DeliveryStreamStatus, "ACTIVE");
  assert.ok(d.DeliveryStreamDescription.CreateTimestamp instanceof Date);

  const one = await firehose.send(new PutRecordCommand({ DeliveryStreamName: "js-hose", Record: { Data: Buffer.from("one\n") } }));
  assert.ok(one.RecordId);
  const batch = await firehose.send(new PutRecordBatchCommand({
    DeliveryStreamName: "js-hose",
    Records: [{ Data: Buffer.from("two\n") }, { Data: new TextEncoder().encode("three\n") }],
  }));
  assert.equal(batch.FailedPutCount, 0);
  assert.equal(batch.RequestResponses.length, 2);

  const year = new Date().getUTCFullYear();
  const bodies = await objectsUnder(`js/year=${year}/`, 1);
  const lines = Object.entries(bodies).flatMap(([key, body]) => {
    assert.match(key, /\/js-hose-1-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d-[0-9a-f-]{36}\.gz$/);
    return gunzipSync(body).toString().split("\n").filter(Boolean);
  });
  assert.deepEqual(lines.sort(), ["one", "three", "two"]);

  const names = await firehose.send(new ListDeliveryStreamsCommand({}));
  assert.ok(names.DeliveryStreamNames.includes("js-hose"));
  await firehose.send(new DeleteDeliveryStreamCommand({ DeliveryStreamName: "js-hose" }));
  await assert.rejects(firehose.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: "js-hose" })),
                       (e) => e instanceof ResourceNotFoundException);
});
