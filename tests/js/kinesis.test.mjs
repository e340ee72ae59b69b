// The AWS SDK for JavaScript v3 against Eventlake: what a Node.js producer and consumer do.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  KinesisClient, CreateStreamCommand, DescribeStreamSummaryCommand, PutRecordCommand, PutRecordsCommand,
  ListShardsCommand, GetShardIteratorCommand, GetRecordsCommand, DeleteStreamCommand, ListStreamsCommand,
  waitUntilStreamExists, ResourceNotFoundException,
} from "@aws-sdk/client-kinesis";
import { STSClient, GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { startServer, credentials } from "./harness.mjs";

let server, kinesis;

before(async () => {
  server = await startServer();
  // The Kinesis client of SDK v3 speaks HTTP/2 (cleartext, prior knowledge) by default.
  kinesis = new KinesisClient({ endpoint: server.endpoint, region: "us-east-1", credentials, maxAttempts: 1 });
});

after(async () => {
  assert.equal(await server.stop(), 0);
});

test("STS identifies the caller", async () => {
  const sts = new STSClient({ endpoint: server.endpoint, region: "us-east-1", credentials });
  const out = await sts.send(new GetCallerIdentityCommand({}));
  assert.equal(out.Arn, "arn:aws:iam::000000000000:root");
});

test("a producer and a consumer, addressing the stream by ARN as current SDKs do", async () => {
  await kinesis.send(new CreateStreamCommand({ StreamName: "js-stream", ShardCount: 2 }));
  await waitUntilStreamExists({ client: kinesis, minDelay: 1, maxWaitTime: 30 }, { StreamName: "js-stream" });
  const { StreamDescriptionSummary: summary } = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: "js-stream" }));
  const StreamARN = summary.StreamARN;
  assert.equal(summary.OpenShardCount, 2);

  const one = await kinesis.send(new PutRecordCommand({ StreamARN, Data: Buffer.from("first"), PartitionKey: "k" }));
  assert.match(one.SequenceNumber, /^\d{56}$/);
  const many = await kinesis.send(new PutRecordsCommand({
    StreamARN,
    Records: Array.from({ length: 100 }, (_, i) => ({ Data: Buffer.from(`r${i}`), PartitionKey: `k${i % 5}` })),
  }));
  assert.equal(many.FailedRecordCount, 0);

  let total = 0;
  const { Shards } = await kinesis.send(new ListShardsCommand({ StreamARN }));
  for (const shard of Shards) {
    const { ShardIterator } = await kinesis.send(new GetShardIteratorCommand({
      StreamARN, ShardId: shard.ShardId, ShardIteratorType: "TRIM_HORIZON" }));
    const out = await kinesis.send(new GetRecordsCommand({ StreamARN, ShardIterator }));
    total += out.Records.length;
    for (const r of out.Records) {
      assert.ok(r.ApproximateArrivalTimestamp instanceof Date);
      assert.ok(Buffer.from(r.Data).toString().length > 0);
    }
    assert.ok(out.NextShardIterator);
  }
  assert.equal(total, 101);
  assert.ok((await kinesis.send(new ListStreamsCommand({}))).StreamNames.includes("js-stream"));
  await kinesis.send(new DeleteStreamCommand({ StreamARN }));
});

test("errors arrive as the SDK's typed exceptions", async () => {
  await assert.rejects(
    kinesis.send(new PutRecordCommand({ StreamName: "missing", Data: Buffer.from("x"), PartitionKey: "k" })),
    (e) => e instanceof ResourceNotFoundException && e.$metadata.httpStatusCode === 400);
  const wrong = new KinesisClient({ endpoint: server.endpoint, region: "us-east-1", maxAttempts: 1,
    credentials: { ...credentials, secretAccessKey: "wrong" } });
  await assert.rejects(wrong.send(new ListStreamsCommand({})), (e) => e.name === "InvalidSignatureException");
});
