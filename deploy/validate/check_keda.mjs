// Validates the KEDA objects of deploy/k8s against KEDA's own CRD schemas, as compiled into
// @kubernetes-models/keda (validators generated from KEDA's CustomResourceDefinitions).
// Reads a JSON array of objects (converted from YAML by the caller) on standard input.
import { ScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject";
import { TriggerAuthentication } from "@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication";

const models = { ScaledObject, TriggerAuthentication };
let input = "";
for await (const chunk of process.stdin) input += chunk;
let failed = 0;
let checked = 0;
for (const { file, object } of JSON.parse(input)) {
  const Model = object.apiVersion === "keda.sh/v1alpha1" ? models[object.kind] : undefined;
  const what = `${file}: ${object.kind}/${object.metadata?.name}`;
  if (!Model) {
    console.log(`${what}: no KEDA model for ${object.apiVersion} ${object.kind}`);
    failed++;
    continue;
  }
  try {
    new Model(object).validate();
    checked++;
    console.log(`${what}: valid against KEDA's CRD schema`);
  } catch (e) {
    console.log(`${what}: ${e.message}`);
    failed++;
  }
}
if (checked + failed === 0) {
  console.log("no KEDA object given");
  process.exit(1);
}
process.exit(failed ? 1 : 0);
