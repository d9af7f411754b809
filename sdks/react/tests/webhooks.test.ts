// @vitest-environment node
// The webhook helpers @herald/react passes on from @herald/sdk, on every published signature vector.
import { readFileSync } from "node:fs";
import { verifyMetaSignature, verifyWebhook, WebhookVerificationError } from "@herald/react";
import { describe, expect, it } from "vitest";

interface StandardVector {
  name: string;
  secret: string;
  id: string;
  timestamp: number;
  payload: string;
  signature: string;
  valid: boolean;
}

interface MetaVector {
  name: string;
  appSecret: string;
  body: string;
  header: string;
  valid: boolean;
}

const vectors = JSON.parse(readFileSync(new URL("../../../vectors/signatures.json", import.meta.url), "utf8")) as {
  standardWebhooks: StandardVector[];
  whatsappHubSignature256: MetaVector[];
};

describe("Standard Webhooks vectors", () => {
  for (const vector of vectors.standardWebhooks) {
    it(`${vector.name}: ${vector.valid ? "verifies" : "is refused"}`, async () => {
      const headers = {
        "webhook-id": vector.id,
        "webhook-timestamp": String(vector.timestamp),
        "webhook-signature": vector.signature,
      };
      const verifying = verifyWebhook(vector.payload, headers, vector.secret, {
        now: new Date(vector.timestamp * 1000),
      });
      if (vector.valid) {
        await expect(verifying).resolves.toEqual(JSON.parse(vector.payload));
      } else {
        await expect(verifying).rejects.toBeInstanceOf(WebhookVerificationError);
      }
    });
  }
});

describe("X-Hub-Signature-256 vectors", () => {
  for (const vector of vectors.whatsappHubSignature256) {
    it(`${vector.name}: ${vector.valid ? "verifies" : "is refused"}`, async () => {
      expect(await verifyMetaSignature(vector.body, vector.header, vector.appSecret)).toBe(vector.valid);
    });
  }
});
