// Runs the by-hand verify() of docs/webhooks.md over the cases on stdin; prints one answer each.
import { readFileSync } from "node:fs";
import { verify } from "./verify_by_hand.mjs";

const answers = JSON.parse(readFileSync(0, "utf8")).map((c) => {
  try {
    return verify(c.secret, c.id, c.timestamp, c.signature, Buffer.from(c.body, "base64"), c.now ?? undefined);
  } catch (err) {
    return `raised ${err.name}: ${err.message}`; // the recipe must refuse, not throw
  }
});
process.stdout.write(JSON.stringify(answers));
