// Every Kinesis action Eventlake supports, through the AWS SDK for JavaScript v3 with its default
// (HTTP/2) handler: each call must succeed and answer in the shape the SDK models.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as K from "@aws-sdk/client-kinesis";
import { startServer, credentials } from "./harness.mjs";

let server, k;
const name = "js-actions";

before(async () => {
  server = await startServer();
  k = new K.KinesisClient({ endpoint: server.endpoint, region: "us-east-1", credentials, maxAttempts: 1 });
});

after(async () => {
  assert.equal(await server.stop(), 0);
});

const active = () => K.waitUntilStreamExists({ client: k, minDelay: 1, maxWaitTime: 30 }, { StreamName: name });

test("every action", async () => {
  await k.send(new K.CreateStreamCommand({ StreamName: name, ShardCount: 2, Tags: { a: "1" } }));
  await active();
  const { StreamDescriptionSummary: sum } = await k.send(new K.DescribeStreamSummaryCommand({ StreamName: name }));
  const StreamARN = sum.StreamARN;
  assert.equal(sum.StreamStatus, "ACTIVE");
  assert.equal((await k.send(new K.DescribeStreamCommand({ StreamName: name, Limit: 1 }))).StreamDescription.HasMoreShards, true);
  assert.ok((await k.send(new K.ListStreamsCommand({ Limit: 10 }))).StreamNames.includes(name));
  assert.equal((await k.send(new K.ListShardsCommand({ StreamARN }))).Shards.length, 2);
  assert.ok((await k.send(new K.DescribeLimitsCommand({}))).ShardLimit > 0);

  const put = await k.send(new K.PutRecordCommand({ StreamARN, Data: Buffer.from("one"), PartitionKey: "p",
                                                    ExplicitHashKey: "1" }));
  assert.equal(put.ShardId, "shardId-000000000000");
  const puts = await k.send(new K.PutRecordsCommand({ StreamARN, Records: [{ Data: Buffer.from("two"), PartitionKey: "p", ExplicitHashKey: "1" }] }));
  assert.equal(puts.FailedRecordCount, 0);
  for (const ShardIteratorType of ["TRIM_HORIZON", "LATEST"]) {
    assert.ok((await k.send(new K.GetShardIteratorCommand({ StreamARN, ShardId: put.ShardId, ShardIteratorType }))).ShardIterator);
  }
  const at = await k.send(new K.GetShardIteratorCommand({ StreamARN, ShardId: put.ShardId,
    ShardIteratorType: "AT_SEQUENCE_NUMBER", StartingSequenceNumber: put.SequenceNumber }));
  const recs = await k.send(new K.GetRecordsCommand({ StreamARN, ShardIterator: at.ShardIterator }));
  assert.deepEqual(recs.Records.map((r) => Buffer.from(r.Data).toString()), ["one", "two"]);
  const ts = await k.send(new K.GetShardIteratorCommand({ StreamARN, ShardId: put.ShardId,
    ShardIteratorType: "AT_TIMESTAMP", Timestamp: new Date(Date.now() - 60000) }));
  assert.equal((await k.send(new K.GetRecordsCommand({ ShardIterator: ts.ShardIterator }))).Records.length, 2);

  await k.send(new K.IncreaseStreamRetentionPeriodCommand({ StreamName: name, RetentionPeriodHours: 48 }));
  await k.send(new K.DecreaseStreamRetentionPeriodCommand({ StreamName: name, RetentionPeriodHours: 24 }));
  await k.send(new K.AddTagsToStreamCommand({ StreamName: name, Tags: { b: "2" } }));
  await k.send(new K.RemoveTagsFromStreamCommand({ StreamName: name, TagKeys: ["a"] }));
  assert.deepEqual((await k.send(new K.ListTagsForStreamCommand({ StreamName: name }))).Tags, [{ Key: "b", Value: "2" }]);
  await k.send(new K.TagResourceCommand({ ResourceARN: StreamARN, Tags: { c: "3" } }));
  await k.send(new K.UntagResourceCommand({ ResourceARN: StreamARN, TagKeys: ["b"] }));
  assert.deepEqual((await k.send(new K.ListTagsForResourceCommand({ ResourceARN: StreamARN }))).Tags, [{ Key: "c", Value: "3" }]);

  await k.send(new K.StartStreamEncryptionCommand({ StreamName: name, EncryptionType: "KMS", KeyId: "alias/aws/kinesis" }));
  await active();
  await k.send(new K.StopStreamEncryptionCommand({ StreamName: name, EncryptionType: "KMS", KeyId: "alias/aws/kinesis" }));
  await active();
  const mon = await k.send(new K.EnableEnhancedMonitoringCommand({ StreamName: name, ShardLevelMetrics: ["IncomingBytes"] }));
  assert.deepEqual(mon.DesiredShardLevelMetrics, ["IncomingBytes"]);
  await k.send(new K.DisableEnhancedMonitoringCommand({ StreamName: name, ShardLevelMetrics: ["ALL"] }));
  await k.send(new K.UpdateMaxRecordSizeCommand({ StreamARN, MaxRecordSizeInKiB: 2048 }));
  assert.equal((await k.send(new K.DescribeStreamSummaryCommand({ StreamName: name }))).StreamDescriptionSummary.MaxRecordSizeInKiB, 2048);

  const { Consumer } = await k.send(new K.RegisterStreamConsumerCommand({ StreamARN, ConsumerName: "c1" }));
  assert.equal((await k.send(new K.DescribeStreamConsumerCommand({ ConsumerARN: Consumer.ConsumerARN }))).ConsumerDescription.ConsumerName, "c1");
  assert.equal((await k.send(new K.ListStreamConsumersCommand({ StreamARN }))).Consumers.length, 1);
  await k.send(new K.DeregisterStreamConsumerCommand({ ConsumerARN: Consumer.ConsumerARN }));

  await k.send(new K.SplitShardCommand({ StreamName: name, ShardToSplit: "shardId-000000000000",
                                         NewStartingHashKey: (2n ** 126n).toString() }));
  await active();
  await k.send(new K.MergeShardsCommand({ StreamName: name, ShardToMerge: "shardId-000000000002",
                                          AdjacentShardToMerge: "shardId-000000000003" }));
  await active();
  const upd = await k.send(new K.UpdateShardCountCommand({ StreamName: name, TargetShardCount: 3, ScalingType: "UNIFORM_SCALING" }));
  assert.equal(upd.TargetShardCount, 3);
  await active();
  await k.send(new K.UpdateStreamModeCommand({ StreamARN, StreamModeDetails: { StreamMode: "ON_DEMAND" } }));
  await active();
  await k.send(new K.DeleteStreamCommand({ StreamARN, EnforceConsumerDeletion: true }));
  await assert.rejects(k.send(new K.DescribeStreamSummaryCommand({ StreamName: name })), K.ResourceNotFoundException);
});
