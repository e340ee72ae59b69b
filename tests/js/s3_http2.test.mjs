// S3 over HTTP/2 (cleartext, prior knowledge) with the SDK's own HTTP/2 handler: uploads stream to
// disk as over HTTP/1.1, however large, and downloads stream back.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand } from "@aws-sdk/client-s3";
import { NodeHttp2Handler } from "@smithy/node-http-handler";
import { startServer, credentials } from "./harness.mjs";

let server, s3;

before(async () => {
  server = await startServer();
  s3 = new S3Client({ endpoint: server.endpoint, region: "us-east-1", credentials, forcePathStyle: true, maxAttempts: 1,
                      requestHandler: new NodeHttp2Handler() });
  await s3.send(new CreateBucketCommand({ Bucket: "h2-lake" }));
});

after(async () => {
  s3.destroy();
  assert.equal(await server.stop(), 0);
});

test("an upload larger than an HTTP/2 connection may hold in memory streams through", async () => {
  const body = randomBytes(80 * 1024 * 1024);  // past the 64 MiB a connection may buffer
  const put = await s3.send(new PutObjectCommand({ Bucket: "h2-lake", Key: "big.bin", Body: body }));
  assert.equal(put.ETag, `"${createHash("md5").update(body).digest("hex")}"`);
  const got = await s3.send(new GetObjectCommand({ Bucket: "h2-lake", Key: "big.bin" }));
  const back = Buffer.from(await got.Body.transformToByteArray());
  assert.equal(back.length, body.length);
  assert.ok(back.equals(body));
});
