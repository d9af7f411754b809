import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";

const root = new URL("../", import.meta.url);
const pkg = JSON.parse(readFileSync(new URL("package.json", root), "utf8"));

/** Runs a script in a fresh Node, from the package's directory, so `@herald/sdk` resolves through `exports`. */
function node(args) {
  return execFileSync(process.execPath, args, { cwd: root, encoding: "utf8" });
}

const probe = `
  const exported = Object.keys(sdk).sort();
  const error = new sdk.HeraldError({ status: 404, code: "NOT_FOUND", message: "gone", requestId: "r" });
  const herald = new sdk.Herald({ apiKey: "hk_x", baseUrl: "http://127.0.0.1:9" });
  console.log(JSON.stringify({
    exported,
    version: sdk.VERSION,
    error: [error instanceof Error, error.status, error.code, error.requestId],
    resources: [typeof herald.sms.iterate, typeof herald.emails.stats, typeof herald.sms.senderIds, typeof herald.key],
  }));`;

describe("builds", () => {
  it("the ES module build imports", () => {
    const esm = JSON.parse(node(["--input-type=module", "-e", `import * as sdk from "@herald/sdk"; ${probe}`]));
    assert.equal(esm.version, pkg.version);
    assert.deepEqual(esm.error, [true, 404, "NOT_FOUND", "r"]);
    assert.deepEqual(esm.resources, ["function", "function", "function", "function"]);
  });

  it("the CommonJS build requires, with the same exports", () => {
    const cjs = JSON.parse(node(["--input-type=commonjs", "-e", `const sdk = require("@herald/sdk"); ${probe}`]));
    const esm = JSON.parse(node(["--input-type=module", "-e", `import * as sdk from "@herald/sdk"; ${probe}`]));
    assert.deepEqual(cjs, esm);
    assert.ok(cjs.exported.includes("verifyWebhook") && cjs.exported.includes("Herald"));
  });

  it("every file the exports map names exists, declarations included", () => {
    const targets = Object.values(pkg.exports["."]).flatMap((conditions) => Object.values(conditions));
    for (const target of [...targets, pkg.main, pkg.module, pkg.types]) {
      assert.ok(existsSync(new URL(target, root)), target);
    }
    assert.match(readFileSync(new URL(pkg.exports["."].require.types, root), "utf8"), /export \{ Herald \}/);
  });

  it("has no runtime dependencies", () => {
    assert.equal(pkg.dependencies, undefined);
    assert.equal(pkg.peerDependencies, undefined);
  });

  it("its CHANGELOG has this version", () => {
    assert.match(readFileSync(new URL("CHANGELOG.md", root), "utf8"), new RegExp(`^## ${pkg.version.replaceAll(".", "\\.")}$`, "m"));
  });
});
