import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { once } from "node:events";
import { describe, it } from "node:test";
import { promisify } from "node:util";

const root = new URL("../", import.meta.url);
const readme = readFileSync(new URL("README.md", root), "utf8");
const live = Boolean(process.env.HERALD_BASE_URL);

function example(name) {
  return new URL(`examples/${name}`, root).pathname;
}

describe("README", () => {
  it("includes every example file verbatim", () => {
    const included = [...readme.matchAll(/<!-- include: (\S+) -->\n```js\n([\s\S]*?)```/g)];
    assert.deepEqual(
      included.map(([, path]) => path).sort(),
      readdirSync(new URL("examples/", root)).map((name) => `examples/${name}`).sort(),
    );
    for (const [, path, code] of included) {
      assert.equal(code, readFileSync(new URL(path, root), "utf8"), `${path} differs from the README`);
    }
  });

  it("names the version the package has", () => {
    const { version } = JSON.parse(readFileSync(new URL("package.json", root), "utf8"));
    assert.ok(readme.includes(`herald-js/${version}`));
  });
});

describe("the webhook receiver example", () => {
  const secret = "whsec_" + Buffer.from("the receiver example's secret").toString("base64");

  function signed(id, body, timestamp = Math.floor(Date.now() / 1000)) {
    const key = Buffer.from(secret.slice("whsec_".length), "base64");
    const signature = createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64");
    return { "webhook-id": id, "webhook-timestamp": String(timestamp), "webhook-signature": `v1,${signature}` };
  }

  it("handles a signed event once, acknowledges its repeat and refuses a forgery", async () => {
    const child = spawn(process.execPath, [example("webhook-receiver.mjs")], {
      env: { ...process.env, PORT: "0", HERALD_WEBHOOK_SECRET: `whsec_b2xkIHNlY3JldA== ${secret}` },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    try {
      while (!/listening on (\S+)/.test(output)) await once(child.stdout, "data");
      const url = /listening on (\S+)/.exec(output)[1];
      const event = {
        id: "0193a3b2-7c1e-7d40-9f1a-2b3c4d5e6f70",
        type: "sms_delivered",
        createdAt: "2026-11-27T10:00:00Z",
        organizationId: "0193a3b2-0000-7000-8000-000000000001",
        data: { id: "0193a3b2-7c1e-7d40-9f1a-2b3c4d5e6f71", channel: "sms", status: "DELIVERED", to: "+2348067000111" },
      };
      const body = JSON.stringify(event);
      const post = (headers, payload = body) => fetch(url, { method: "POST", headers, body: payload });

      assert.equal((await post(signed(event.id, body))).status, 204);
      assert.equal((await post(signed(event.id, body))).status, 204, "a repeat is acknowledged");
      assert.equal((await post(signed(event.id, body), body.replace("DELIVERED", "DELIVERES"))).status, 400);
      assert.equal((await post(signed(event.id, body, 1_000_000_000))).status, 400, "an old timestamp");
      assert.equal((await post({ "content-type": "application/json" })).status, 400, "no signature");
      assert.equal(output.match(/^delivered /gm)?.length, 1, output);
      assert.match(output, /^delivered 0193a3b2-7c1e-7d40-9f1a-2b3c4d5e6f71 \+2348067000111$/m);
    } finally {
      child.kill();
    }
  });
});

describe("the send and list examples, against the live server", { skip: !live && "HERALD_BASE_URL is not set" }, () => {
  const run = (name) => promisify(execFile)(process.execPath, [example(name)], { env: process.env });

  it("send.mjs sends on each channel and shows a typed error", async () => {
    const { stdout } = await run("send.mjs");
    for (const channel of ["sms", "email", "whatsapp"]) {
      assert.match(stdout, new RegExp(`^${channel} [0-9a-f-]{36} QUEUED$`, "m"));
    }
    assert.match(stdout, /^refused 422 SENDER_ID_NOT_APPROVED \S+$/m);
  });

  it("list.mjs lists a page, iterates and reads a timeline", async () => {
    const { stdout } = await run("list.mjs");
    assert.match(stdout, /^\d+ delivered OTP messages; this page has \d+$/m);
    assert.match(stdout, /^\d+ emails to zoe in the last 24 hours$/m);
  });
});
