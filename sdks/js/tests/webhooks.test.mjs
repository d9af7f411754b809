import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { verifyMetaSignature, verifyWebhook, WebhookVerificationError } from "@herald/sdk";

const vectors = JSON.parse(readFileSync(new URL("../../../vectors/signatures.json", import.meta.url), "utf8"));

function headersOf(vector) {
  return {
    "webhook-id": vector.id,
    "webhook-timestamp": String(vector.timestamp),
    "webhook-signature": vector.signature,
  };
}

function atTime(vector) {
  return { now: new Date(vector.timestamp * 1000) };
}

describe("Standard Webhooks vectors", () => {
  assert.ok(vectors.standardWebhooks.length > 0);
  for (const vector of vectors.standardWebhooks) {
    it(`${vector.name}: ${vector.valid ? "verifies" : "is refused"}`, async () => {
      for (const options of [atTime(vector), { toleranceSeconds: Infinity }]) {
        const verifying = verifyWebhook(vector.payload, headersOf(vector), vector.secret, options);
        if (vector.valid) {
          assert.deepEqual(await verifying, JSON.parse(vector.payload));
        } else {
          await assert.rejects(verifying, WebhookVerificationError);
        }
      }
    });
  }
});

describe("X-Hub-Signature-256 vectors", () => {
  assert.ok(vectors.whatsappHubSignature256.length > 0);
  for (const vector of vectors.whatsappHubSignature256) {
    it(`${vector.name}: ${vector.valid ? "verifies" : "is refused"}`, async () => {
      assert.equal(await verifyMetaSignature(vector.body, vector.header, vector.appSecret), vector.valid);
      assert.equal(await verifyMetaSignature(Buffer.from(vector.body), vector.header, vector.appSecret), vector.valid);
    });
  }

  it("refuses a malformed or missing header and a wrong secret", async () => {
    const [vector] = vectors.whatsappHubSignature256.filter((v) => v.valid);
    for (const header of [undefined, null, "", vector.header.slice(7), vector.header.slice(0, -2), "sha1=" + vector.header.slice(7)]) {
      assert.equal(await verifyMetaSignature(vector.body, header, vector.appSecret), false, String(header));
    }
    assert.equal(await verifyMetaSignature(vector.body, vector.header, vector.appSecret + "x"), false);
  });
});

describe("verifyWebhook", () => {
  const platform = vectors.standardWebhooks.find((v) => v.name === "platform event");
  const rotation = vectors.standardWebhooks.find((v) => v.name.startsWith("two live secrets"));

  it("returns the typed event", async () => {
    const event = await verifyWebhook(platform.payload, headersOf(platform), platform.secret, atTime(platform));
    assert.equal(event.type, "sms_delivered");
    assert.equal(event.data.status, "DELIVERED");
    assert.equal(event.id, platform.id);
  });

  it("accepts the raw body as bytes and headers as a Headers object or in any case", async () => {
    const headers = new Headers(headersOf(platform));
    await verifyWebhook(Buffer.from(platform.payload), headers, platform.secret, atTime(platform));
    const upper = Object.fromEntries(Object.entries(headersOf(platform)).map(([k, v]) => [k.toUpperCase(), v]));
    await verifyWebhook(platform.payload, upper, platform.secret, atTime(platform));
  });

  it("accepts any of several secrets (rotation)", async () => {
    const other = "whsec_" + Buffer.from("an entirely different secret!!").toString("base64");
    await verifyWebhook(platform.payload, headersOf(platform), [other, platform.secret], atTime(platform));
    await assert.rejects(
      verifyWebhook(platform.payload, headersOf(platform), [other], atTime(platform)),
      WebhookVerificationError,
    );
    const second = vectors.standardWebhooks.find((v) => v.name === "wrong secret").secret;
    await verifyWebhook(rotation.payload, headersOf(rotation), second, atTime(rotation));
  });

  it("applies a 5-minute tolerance by default", async () => {
    const at = (seconds) => ({ now: new Date((platform.timestamp + seconds) * 1000) });
    await verifyWebhook(platform.payload, headersOf(platform), platform.secret, at(300));
    await verifyWebhook(platform.payload, headersOf(platform), platform.secret, at(-300));
    for (const offset of [301, -301]) {
      await assert.rejects(verifyWebhook(platform.payload, headersOf(platform), platform.secret, at(offset)), {
        name: "WebhookVerificationError",
        message: /tolerance/,
      });
    }
    await verifyWebhook(platform.payload, headersOf(platform), platform.secret, { ...at(3600), toleranceSeconds: 3601 });
  });

  it("checks the current clock when no time is given", async () => {
    const secret = platform.secret;
    const key = Buffer.from(secret.slice("whsec_".length), "base64");
    const timestamp = Math.floor(Date.now() / 1000);
    const payload = JSON.stringify({ id: "evt_1", type: "webhook_test", createdAt: "x", organizationId: "o", data: {} });
    const signature = createHmac("sha256", key).update(`evt_1.${timestamp}.${payload}`).digest("base64");
    const headers = { "webhook-id": "evt_1", "webhook-timestamp": String(timestamp), "webhook-signature": `v1,${signature}` };
    assert.equal((await verifyWebhook(payload, headers, secret)).type, "webhook_test");
    await assert.rejects(verifyWebhook(platform.payload, headersOf(platform), secret), /tolerance/);
  });

  it("refuses missing headers, a bad timestamp and unknown signature versions", async () => {
    for (const name of ["webhook-id", "webhook-timestamp", "webhook-signature"]) {
      const headers = headersOf(platform);
      delete headers[name];
      await assert.rejects(verifyWebhook(platform.payload, headers, platform.secret, atTime(platform)), {
        name: "WebhookVerificationError",
        message: `missing ${name} header`,
      });
    }
    const badTime = { ...headersOf(platform), "webhook-timestamp": "soon" };
    await assert.rejects(verifyWebhook(platform.payload, badTime, platform.secret, atTime(platform)), /unix time/);
    const v2 = { ...headersOf(platform), "webhook-signature": platform.signature.replace("v1,", "v2,") };
    await assert.rejects(verifyWebhook(platform.payload, v2, platform.secret, atTime(platform)), /no signature matches/);
  });

  it("refuses a secret that is not base64", async () => {
    await assert.rejects(verifyWebhook(platform.payload, headersOf(platform), "whsec_***", atTime(platform)), TypeError);
  });

  it("works where Web Crypto is not global (Node 18), from node:crypto", () => {
    const sdk = new URL("../dist/esm/index.js", import.meta.url).href;
    const script = `
      const { verifyWebhook } = await import(${JSON.stringify(sdk)});
      if (globalThis.crypto !== undefined) throw new Error("Web Crypto is still global");
      const v = ${JSON.stringify(platform)};
      const event = await verifyWebhook(v.payload, {"webhook-id": v.id, "webhook-timestamp": String(v.timestamp),
        "webhook-signature": v.signature}, v.secret, { toleranceSeconds: Infinity });
      console.log(event.type);`;
    const dir = mkdtempSync(join(tmpdir(), "herald-js-"));
    try {
      writeFileSync(join(dir, "node18.mjs"), script);
      const out = execFileSync(process.execPath, ["--no-experimental-global-webcrypto", join(dir, "node18.mjs")], {
        encoding: "utf8",
      });
      assert.equal(out.trim(), "sms_delivered");
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});
