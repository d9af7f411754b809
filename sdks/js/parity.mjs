// The parity runner: executes every scenario of sdks/parity/scenarios.json against a live Herald with
// this SDK's public API, printing `ok <name>` or `FAIL <name>: <why>` a line; exits 1 when any fails.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { Herald, HeraldError, isFinal, verifyWebhook, WebhookVerificationError } from "@herald/sdk";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const baseUrl = env("HERALD_BASE_URL");
const apiKey = env("HERALD_API_KEY");
const sessionToken = env("HERALD_SESSION_TOKEN");
const senderId = env("HERALD_SMS_SENDER_ID");
const scenarioFile = process.env.HERALD_SDK_PARITY ?? new URL("../parity/scenarios.json", import.meta.url).pathname;

const run = `js-${randomUUID().slice(0, 8)}`;
const herald = new Herald({ apiKey, baseUrl });
const RESOURCES = { sms: herald.sms, email: herald.emails, whatsapp: herald.whatsapp };

/** The scenario with `$RUN`, `$SMS_SENDER_ID` and `$IN_1H` replaced. */
function substitute(value) {
  if (typeof value === "string") {
    const inOneHour = new Date(Date.now() + 3600_000).toISOString().replace(/\.\d{3}Z$/, "Z");
    return value.replaceAll("$RUN", run).replaceAll("$SMS_SENDER_ID", senderId).replaceAll("$IN_1H", inOneHour);
  }
  if (Array.isArray(value)) return value.map(substitute);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v)]));
  }
  return value;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves with the HeraldError the call fails with; fails when it succeeds or fails otherwise. */
async function heraldError(promise) {
  const error = await promise.then(
    (value) => assert.fail(`expected an error, got ${JSON.stringify(value).slice(0, 200)}`),
    (e) => e,
  );
  assert.ok(error instanceof HeraldError, `expected a HeraldError, got ${error}`);
  assert.ok(error.requestId, "the error carries the request id");
  return error;
}

async function followToFinal(resource, id) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const message = await resource.get(id);
    if (isFinal(message) || Date.now() > deadline) return message;
    await sleep(250);
  }
}

/** Whether `expected` appears in `actual` in order (other entries may come between). */
function inOrder(actual, expected) {
  let next = 0;
  for (const item of actual) if (item === expected[next]) next++;
  return next === expected.length;
}

const scenarios = {
  async key_check(s) {
    const key = await herald.key();
    assert.deepEqual([...key.scopes].sort(), [...s.expect.scopes].sort());
  },

  async send_each_channel(s) {
    const sent = [];
    for (const send of s.sends) {
      const message = await RESOURCES[send.channel].send(send.body);
      assert.equal(message.status, "QUEUED", `${send.channel} answers QUEUED`);
      assert.equal(message.channel, send.channel);
      sent.push([send, message]);
    }
    for (const [send, { id }] of sent) {
      const resource = RESOURCES[send.channel];
      const message = await followToFinal(resource, id);
      assert.equal(message.status, send.final, `${send.channel} ${send.body.to} ends ${send.final}`);
      if (send.errorPresent) assert.ok(message.error?.code, `${send.channel} ${send.body.to} carries its error`);
      if (send.timeline) {
        const types = (await resource.timeline(id)).data.map((entry) => entry.type);
        assert.ok(inOrder(types, send.timeline), `timeline ${types.join(",")} holds ${send.timeline.join(",")}`);
      }
    }
  },

  async idempotent_resend(s) {
    const resource = RESOURCES[s.channel];
    const first = await resource.send(s.body, { idempotencyKey: s.idempotencyKey });
    const again = await resource.send(s.body, { idempotencyKey: s.idempotencyKey });
    assert.equal(again.id, first.id, "the same key and body give the same message");
    const error = await heraldError(resource.send(s.otherBody, { idempotencyKey: s.idempotencyKey }));
    assert.equal(error.status, s.expectOther.status);
    assert.equal(error.code, s.expectOther.code);

    const unkeyed = [await resource.send(s.body), await resource.send(s.body)];
    assert.notEqual(unkeyed[0].id, unkeyed[1].id, "each call without a key of the caller's is one message");
    assert.ok(unkeyed.every((m) => m.status === "QUEUED"));
    const listed = await resource.list({ query: s.body.externalId });
    assert.equal(listed.total, 3, "one keyed message and two unkeyed ones");
  },

  async batch(s) {
    const resource = RESOURCES[s.channel];
    const { data } = await resource.batch(s.messages);
    assert.deepEqual(
      data.map((m) => [m.status, m.externalId]),
      s.messages.map((m) => ["QUEUED", m.externalId]),
    );
    const stored = () => resource.list({ query: s.invalid[0].to, pageSize: 1 }).then((page) => page.total);
    const before = await stored();
    const error = await heraldError(resource.batch(s.invalid));
    assert.equal(error.status, s.expectInvalid.status);
    assert.equal(error.code, s.expectInvalid.code);
    assert.ok(
      error.details.some((d) => d.field === s.expectInvalid.field),
      `details ${JSON.stringify(error.details)} name ${s.expectInvalid.field}`,
    );
    assert.equal(await stored(), before, "an invalid batch stores nothing");
  },

  async list_filters_and_paging(s) {
    const resource = RESOURCES[s.channel];
    const otp = [];
    for (let i = 0; i < s.otp; i++) otp.push((await resource.send({ ...s.body, flow: "OTP" })).id);
    for (let i = 0; i < s.standard; i++) await resource.send({ ...s.body, flow: "STANDARD" });
    const filters = { ...s.filter, pageSize: s.pageSize };
    const page = await resource.list(filters);
    assert.equal(page.total, s.expectTotal);
    assert.equal(page.data.length, s.pageSize);
    const ids = [];
    for await (const message of resource.iterate(filters)) ids.push(message.id);
    assert.deepEqual(ids, [...otp].reverse(), "every OTP message once, newest first");
  },

  async cancel_scheduled(s) {
    const resource = RESOURCES[s.channel];
    const message = await resource.send(s.body);
    assert.equal(message.status, "QUEUED");
    const canceled = await resource.cancel(message.id);
    assert.equal(canceled.status, "CANCELED");
    assert.equal((await resource.get(message.id)).status, "CANCELED");
    const error = await heraldError(resource.cancel(message.id));
    assert.equal(error.status, s.expectAgain.status);
    assert.equal(error.code, s.expectAgain.code);
  },

  async errors_by_code(s) {
    for (const c of s.cases) {
      const call = {
        send: () => RESOURCES[c.channel].send(c.body),
        get: () => RESOURCES[c.channel].get(c.id),
        keyCheck: () => new Herald({ apiKey: c.apiKey, baseUrl }).key(),
      }[c.call];
      assert.ok(call, `unknown call ${c.call}`);
      const error = await heraldError(call());
      assert.equal(error.status, c.status, `${c.call}: status`);
      assert.equal(error.code, c.code, `${c.call}: code`);
      assert.ok(error.message, `${c.call}: message`);
      if (c.field) assert.ok(error.details.some((d) => d.field === c.field), `${c.call}: details name ${c.field}`);
    }
  },

  async email_stats_and_sender_ids(s) {
    const today = new Date().toISOString().slice(0, 10);
    const stats = await herald.emails.stats({ from: today, to: today });
    assert.equal(stats.from, today);
    assert.equal(stats.to, today);
    for (const field of ["queued", "sent", "delivered", "bounced", "complained", "failed", "opened", "clicked"]) {
      assert.equal(typeof stats.totals[field], "number", `totals.${field}`);
    }
    for (const rate of ["deliveryRate", "bounceRate", "openRate", "clickRate"]) {
      assert.ok(stats.totals[rate] >= 0 && stats.totals[rate] <= 1, `totals.${rate}`);
    }
    assert.equal(stats.daily.length, s.statsDays);
    assert.equal(stats.daily[0].date, today);
    const { data } = await herald.sms.senderIds();
    assert.ok(
      data.some((approved) => approved.senderId.toLowerCase() === senderId.toLowerCase()),
      `${senderId} among ${data.map((a) => a.senderId)}`,
    );
  },

  async webhook_delivery_verified(s) {
    const deliveries = [];
    const receiver = createServer(async (req, res) => {
      const chunks = [];
      for await (const chunk of req) chunks.push(chunk);
      deliveries.push({ body: Buffer.concat(chunks), headers: req.headers });
      res.writeHead(200).end();
    });
    await new Promise((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    const controlPlane = (method, path, body) =>
      fetch(`${baseUrl}${path}`, {
        method,
        headers: { Authorization: `Bearer ${sessionToken}`, "Content-Type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const created = await controlPlane("POST", "/v1/webhook-endpoints", {
      url: `http://127.0.0.1:${receiver.address().port}/hooks`,
      eventTypes: s.eventTypes,
    });
    assert.equal(created.status, 201, `creating the endpoint: ${await created.clone().text()}`);
    const endpoint = await created.json();
    try {
      const message = await herald.sms.send(s.body);
      const deadline = Date.now() + 30_000;
      let found;
      while (!found && Date.now() < deadline) {
        for (const delivery of deliveries.splice(0)) {
          const event = await verifyWebhook(delivery.body, delivery.headers, endpoint.secret);
          if (event.data.id === message.id) found = { delivery, event };
        }
        if (!found) await sleep(250);
      }
      assert.ok(found, "a delivery for the message arrived within 30 s");
      assert.equal(found.event.type, s.expectType);
      assert.equal(found.event.id, found.delivery.headers["webhook-id"]);

      const tampered = Buffer.from(found.delivery.body);
      tampered[tampered.length - 2] ^= 1;
      await assert.rejects(verifyWebhook(tampered, found.delivery.headers, endpoint.secret), WebhookVerificationError);
      const late = new Date((Number(found.delivery.headers["webhook-timestamp"]) + 301) * 1000);
      await assert.rejects(
        verifyWebhook(found.delivery.body, found.delivery.headers, endpoint.secret, { now: late }),
        WebhookVerificationError,
      );
    } finally {
      const deleted = await controlPlane("DELETE", `/v1/webhook-endpoints/${endpoint.id}`);
      receiver.close();
      assert.equal(deleted.status, 204, "deleting the endpoint");
    }
  },
};

const { scenarios: planned } = JSON.parse(readFileSync(scenarioFile, "utf8"));
let failures = 0;
for (const scenario of planned) {
  const implementation = scenarios[scenario.name];
  try {
    if (!implementation) throw new Error("no implementation of this scenario in the JS runner");
    await implementation(substitute(scenario));
    console.log(`ok ${scenario.name}`);
  } catch (error) {
    failures++;
    console.log(`FAIL ${scenario.name}: ${(error.message ?? String(error)).split("\n")[0]}`);
  }
}
process.exit(failures === 0 ? 0 : 1);
