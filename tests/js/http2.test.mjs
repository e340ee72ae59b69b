// HTTP/2 over cleartext (prior knowledge), as SDK clients open it, at the connection level.
import { test } from "node:test";
import assert from "node:assert/strict";
import http2 from "node:http2";
import { startServer } from "./harness.mjs";

function request(session, headers) {
  return new Promise((resolve, reject) => {
    const req = session.request(headers);
    let body = "";
    let status;
    req.on("response", (h) => { status = h[":status"]; });
    req.on("data", (d) => { body += d; });
    req.on("end", () => resolve({ status, body }));
    req.on("error", reject);
    req.end();
  });
}

test("health over HTTP/2, several streams on one connection, then an idle close", async () => {
  const server = await startServer(["--idle-timeout", "1"]);
  try {
    const session = http2.connect(server.endpoint);
    const answers = await Promise.all([1, 2, 3].map(() => request(session, { ":path": "/health" })));
    for (const a of answers) {
      assert.equal(a.status, 200);
      assert.equal(JSON.parse(a.body).status, "ok");
    }
    const unsigned = await request(session, { ":path": "/", ":method": "POST", "x-amz-target": "Kinesis_20131202.ListStreams",
                                              "content-type": "application/x-amz-json-1.1" });
    assert.equal(unsigned.status, 400);
    assert.equal(JSON.parse(unsigned.body).__type, "MissingAuthenticationTokenException");
    // Idle with no stream open: the server closes the connection after --idle-timeout.
    const closed = await Promise.race([
      new Promise((resolve) => session.on("close", () => resolve(true))),
      new Promise((resolve) => setTimeout(() => resolve(false), 10000)),
    ]);
    assert.equal(closed, true);
  } finally {
    assert.equal(await server.stop(), 0);
  }
});

test("oversized headers are refused", async () => {
  const server = await startServer();
  try {
    const session = http2.connect(server.endpoint);
    session.on("error", () => {});
    const outcome = await new Promise((resolve) => {
      const req = session.request({ ":path": "/health", "x-big": "a".repeat(100000) });
      req.on("response", (h) => resolve(h[":status"]));
      req.on("error", () => resolve("reset"));
      req.on("close", () => resolve("reset"));
      req.end();
    });
    assert.notEqual(outcome, 200);
    session.close();
  } finally {
    assert.equal(await server.stop(), 0);
  }
});
