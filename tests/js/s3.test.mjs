// The AWS SDK for JavaScript v3 S3 client against Eventlake: uploads with the SDK's default checksums
// (including streams of unknown length, sent aws-chunked with a trailing checksum), reads, listings,
// copies, batch deletes, versions, tags and a multipart upload.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import {
  S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command,
  CopyObjectCommand, DeleteObjectsCommand, PutBucketVersioningCommand, ListObjectVersionsCommand,
  PutObjectTaggingCommand, GetObjectTaggingCommand, CreateMultipartUploadCommand, UploadPartCommand,
  CompleteMultipartUploadCommand, ListBucketsCommand, NoSuchKey,
} from "@aws-sdk/client-s3";
import { startServer, credentials } from "./harness.mjs";

let server, s3;

before(async () => {
  server = await startServer();
  s3 = new S3Client({ endpoint: server.endpoint, region: "us-east-1", credentials, forcePathStyle: true, maxAttempts: 1 });
  await s3.send(new CreateBucketCommand({ Bucket: "js-lake" }));
});

after(async () => {
  assert.equal(await server.stop(), 0);
});

const md5 = (b) => createHash("md5").update(b).digest("hex");

test("buckets include the zones", async () => {
  const out = await s3.send(new ListBucketsCommand({}));
  const names = out.Buckets.map((b) => b.Name);
  for (const zone of ["raw", "processed", "js-lake"]) assert.ok(names.includes(zone), zone);
});

test("put and get with the default checksum, metadata and ranges", async () => {
  const body = randomBytes(300_000);
  const put = await s3.send(new PutObjectCommand({ Bucket: "js-lake", Key: "events/2026/11/25/a.bin", Body: body,
                                                   ContentType: "application/octet-stream", Metadata: { source: "js" } }));
  assert.equal(put.ETag, `"${md5(body)}"`);
  const got = await s3.send(new GetObjectCommand({ Bucket: "js-lake", Key: "events/2026/11/25/a.bin", ChecksumMode: "ENABLED" }));
  assert.deepEqual(Buffer.from(await got.Body.transformToByteArray()), body);
  assert.equal(got.Metadata.source, "js");
  const part = await s3.send(new GetObjectCommand({ Bucket: "js-lake", Key: "events/2026/11/25/a.bin", Range: "bytes=10-19" }));
  assert.deepEqual(Buffer.from(await part.Body.transformToByteArray()), body.subarray(10, 20));
  await assert.rejects(s3.send(new GetObjectCommand({ Bucket: "js-lake", Key: "missing" })), NoSuchKey);
});

test("a stream of unknown length goes up aws-chunked with a trailing checksum", async () => {
  const chunks = [randomBytes(70_000), randomBytes(70_000), randomBytes(123)];
  const whole = Buffer.concat(chunks);
  await s3.send(new PutObjectCommand({ Bucket: "js-lake", Key: "stream.bin", Body: Readable.from(chunks),
                                       ContentLength: whole.length }));
  const head = await s3.send(new HeadObjectCommand({ Bucket: "js-lake", Key: "stream.bin" }));
  assert.equal(head.ContentLength, whole.length);
  assert.equal(head.ETag, `"${md5(whole)}"`);
});

test("listing, copying and deleting in a batch", async () => {
  for (const k of ["list/a.json", "list/b.json", "list/sub/c.json"]) {
    await s3.send(new PutObjectCommand({ Bucket: "js-lake", Key: k, Body: "{}" }));
  }
  const top = await s3.send(new ListObjectsV2Command({ Bucket: "js-lake", Prefix: "list/", Delimiter: "/" }));
  assert.deepEqual(top.Contents.map((o) => o.Key), ["list/a.json", "list/b.json"]);
  assert.deepEqual(top.CommonPrefixes.map((p) => p.Prefix), ["list/sub/"]);
  await s3.send(new CopyObjectCommand({ Bucket: "js-lake", Key: "list/copy.json", CopySource: "js-lake/list/a.json" }));
  const del = await s3.send(new DeleteObjectsCommand({ Bucket: "js-lake", Delete: {
    Objects: ["list/a.json", "list/b.json", "list/sub/c.json", "list/copy.json"].map((Key) => ({ Key })) } }));
  assert.equal(del.Deleted.length, 4);
  const after = await s3.send(new ListObjectsV2Command({ Bucket: "js-lake", Prefix: "list/" }));
  assert.equal(after.KeyCount, 0);
});

test("versions and tags", async () => {
  await s3.send(new CreateBucketCommand({ Bucket: "js-versions" }));
  await s3.send(new PutBucketVersioningCommand({ Bucket: "js-versions", VersioningConfiguration: { Status: "Enabled" } }));
  const v1 = await s3.send(new PutObjectCommand({ Bucket: "js-versions", Key: "k", Body: "one" }));
  await s3.send(new PutObjectCommand({ Bucket: "js-versions", Key: "k", Body: "two" }));
  const old = await s3.send(new GetObjectCommand({ Bucket: "js-versions", Key: "k", VersionId: v1.VersionId }));
  assert.equal(await old.Body.transformToString(), "one");
  const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: "js-versions" }));
  assert.equal(versions.Versions.length, 2);
  await s3.send(new PutObjectTaggingCommand({ Bucket: "js-versions", Key: "k", Tagging: { TagSet: [{ Key: "zone", Value: "raw" }] } }));
  const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: "js-versions", Key: "k" }));
  assert.deepEqual(tags.TagSet, [{ Key: "zone", Value: "raw" }]);
});

test("a multipart upload", async () => {
  const parts = [randomBytes(5 * 1024 * 1024), randomBytes(1234)];
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: "js-lake", Key: "mp.bin" }));
  const done = [];
  for (let i = 0; i < parts.length; i++) {
    const out = await s3.send(new UploadPartCommand({ Bucket: "js-lake", Key: "mp.bin", UploadId, PartNumber: i + 1, Body: parts[i] }));
    done.push({ PartNumber: i + 1, ETag: out.ETag });
  }
  const complete = await s3.send(new CompleteMultipartUploadCommand({ Bucket: "js-lake", Key: "mp.bin", UploadId,
                                                                      MultipartUpload: { Parts: done } }));
  assert.match(complete.ETag, /-2"$/);
  const got = await s3.send(new GetObjectCommand({ Bucket: "js-lake", Key: "mp.bin" }));
  assert.deepEqual(Buffer.from(await got.Body.transformToByteArray()), Buffer.concat(parts));
});
