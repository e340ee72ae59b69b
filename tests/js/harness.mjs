// Starts the real eventlake binary on an ephemeral loopback port.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const credentials = { accessKeyId: "AKIAEVENTLAKEJSTEST01", secretAccessKey: "eventlake/js/secret/000000000000000000000" };

export async function startServer(extraArgs = []) {
  const dataDir = mkdtempSync(join(tmpdir(), "el-js-"));
  const bin = process.env.EVENTLAKE_BIN ?? join(root, "build", "release", "eventlake");
  const env = { ...process.env, EVENTLAKE_ROOT_ACCESS_KEY_ID: credentials.accessKeyId,
                EVENTLAKE_ROOT_SECRET_ACCESS_KEY: credentials.secretAccessKey };
  const proc = spawn(bin, ["serve", "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--log-level", "warn", ...extraArgs],
                     { env, stdio: ["ignore", "ignore", "inherit"] });
  const endpointFile = join(dataDir, "endpoint");
  const deadline = Date.now() + 15000;
  while (!existsSync(endpointFile)) {
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error("eventlake did not start");
    await new Promise((r) => setTimeout(r, 20));
  }
  const endpoint = readFileSync(endpointFile, "utf8").trim();
  return {
    endpoint,
    async stop() {
      const exited = new Promise((r) => proc.once("exit", (code) => r(code)));
      proc.kill("SIGTERM");
      const code = await exited;
      rmSync(dataDir, { recursive: true, force: true });
      return code;
    },
  };
}
