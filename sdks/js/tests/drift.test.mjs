import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { OPERATIONS } from "../dist/esm/operations.js";
import { readModels } from "./typescript-models.mjs";

const document = JSON.parse(readFileSync(new URL("../../../openapi/public.json", import.meta.url), "utf8"));
const models = readModels(new URL("../src/models.ts", import.meta.url));
const schemas = document.components.schemas;

function refName(schema) {
  return schema?.$ref?.split("/").at(-1);
}

/** A schema's properties and required names, `allOf` parts merged. */
function resolve(schema) {
  if (schema.$ref) return resolve(schemas[refName(schema)]);
  const properties = { ...schema.properties };
  const required = new Set(schema.required ?? []);
  for (const part of schema.allOf ?? []) {
    const resolved = resolve(part);
    Object.assign(properties, resolved.properties);
    resolved.required.forEach((name) => required.add(name));
  }
  return { properties, required };
}

function nullable(property) {
  const types = [property.type ?? []].flat();
  return types.includes("null") || (property.oneOf ?? []).some((option) => option.type === "null");
}

/** The operations the SDK's list-like methods take their query from, by the interface of their parameters. */
const QUERY_MODELS = {
  listSms: "SmsListParams",
  listEmails: "EmailListParams",
  listWhatsapp: "WhatsappListParams",
  listSenderIds: "PageParams",
  getEmailStats: "EmailStatsParams",
};

describe("models against openapi/public.json", () => {
  it("models every schema of the document", () => {
    const missing = Object.keys(schemas).filter((name) => !models.has(name));
    assert.deepEqual(missing, []);
  });

  for (const [name, schema] of Object.entries(schemas)) {
    if (schema.oneOf) {
      it(`${name} is a union`, () => {
        assert.equal(models.alias(name), "string | string[]");
        assert.deepEqual(
          schema.oneOf.map((option) => option.type),
          ["string", "array"],
        );
      });
      continue;
    }
    it(`${name} has the document's fields, required and nullable alike`, () => {
      const { properties, required } = resolve(schema);
      const fields = models.fields(name);
      assert.ok(fields, `${name} is not an interface or an alias of one`);
      assert.deepEqual([...fields.keys()].sort(), Object.keys(properties).sort(), `${name}: field names`);
      for (const [field, info] of fields) {
        assert.equal(info.optional, !required.has(field), `${name}.${field}: optional in the SDK iff not required`);
        assert.equal(/\bnull\b/.test(info.type), nullable(properties[field]), `${name}.${field}: nullable alike`);
      }
    });
  }

  it("pages, batches and events carry the document's item types", () => {
    for (const [name, schema] of Object.entries(schemas)) {
      const application = models.application(name);
      if (application === null || !["Page", "Batch", "WebhookEvent"].includes(application.name)) continue;
      const data = schema.properties.data;
      const expected = refName(data.items ?? data);
      assert.equal(application.args.at(-1), expected, `${name}'s data`);
    }
  });
});

describe("operations against openapi/public.json", () => {
  const documented = {};
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      documented[operation.operationId] = { method: method.toUpperCase(), path, operation };
    }
  }

  it("covers every /v1/public operation, at its method and path", () => {
    assert.deepEqual(Object.keys(OPERATIONS).sort(), Object.keys(documented).sort());
    for (const [id, operation] of Object.entries(OPERATIONS)) {
      assert.deepEqual(operation, { method: documented[id].method, path: documented[id].path }, id);
    }
  });

  for (const [id, model] of Object.entries(QUERY_MODELS)) {
    it(`${id} takes the query parameters of ${model}, enums alike`, () => {
      const parameters = documented[id].operation.parameters.filter((p) => p.in === "query");
      const fields = models.fields(model);
      assert.deepEqual([...fields.keys()].sort(), parameters.map((p) => p.name).sort());
      for (const parameter of parameters) {
        const info = fields.get(parameter.name);
        assert.equal(info.optional, !parameter.required, `${model}.${parameter.name}: optional`);
        if (parameter.schema.enum) {
          assert.deepEqual(models.literals(info.type).sort(), [...parameter.schema.enum].sort(), `${model}.${parameter.name}`);
        }
      }
    });
  }

  it("sends with an Idempotency-Key on exactly the send and batch operations", () => {
    const withKey = Object.entries(documented)
      .filter(([, { operation }]) => (operation.parameters ?? []).some((p) => p.in === "header" && p.name === "Idempotency-Key"))
      .map(([id]) => id)
      .sort();
    const sdkSends = Object.entries(OPERATIONS)
      .filter(([, { path }]) => path.endsWith("/send") || path.endsWith("/batch"))
      .map(([id]) => id)
      .sort();
    assert.deepEqual(sdkSends, withKey);
  });
});

describe("webhook events against openapi/public.json", () => {
  const events = Object.entries(document.webhooks).map(([type, item]) => ({
    type,
    schema: refName(item.post.requestBody.content["application/json"].schema),
  }));

  it("types each event with the document's schema for it", () => {
    for (const { type, schema } of events) {
      const application = models.application(schema);
      assert.equal(application?.name, "WebhookEvent", schema);
      assert.ok(models.literals(application.args[0]).includes(type), `${type} is a type of ${schema}`);
    }
  });

  it("knows no event type the document does not", () => {
    const eventModels = new Set(events.map((e) => e.schema));
    const sdkTypes = [...eventModels].flatMap((schema) => models.literals(models.application(schema).args[0]));
    assert.deepEqual(sdkTypes.sort(), events.map((e) => e.type).sort());
  });

  it("unions every event model in HeraldEvent", () => {
    const union = models
      .alias("HeraldEvent")
      .split("|")
      .map((member) => member.trim())
      .sort();
    assert.deepEqual(union, [...new Set(events.map((e) => e.schema))].sort());
  });
});
