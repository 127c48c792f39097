// Validates custom resources against their CRDs' OpenAPI schemas, which the Kubernetes
// schemas used for the built-in kinds do not cover. The schemas come compiled from the npm
// package @kubernetes-models/prometheus-operator (generated from the operator's CRDs).
// Usage: node validate_crds.mjs NODE_MODULES < documents.json   (a JSON array of manifests)
// NODE_MODULES is where scripts/fetch-deploy-tools.sh installed the package (ES modules do
// not search NODE_PATH, hence the explicit folder).
// Prints one line per document; exits 1 if any is invalid or of a kind it has no schema for.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const modules = process.argv[2];
const monitoring = await import(pathToFileURL(
  join(modules, "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/index.js")).href);

const kinds = { "monitoring.coreos.com/v1": monitoring };
const documents = JSON.parse(readFileSync(0, "utf8"));
let failed = 0;
for (const document of documents) {
  const where = `${document.kind}/${document.metadata?.name}`;
  const Model = kinds[document.apiVersion]?.[document.kind];
  if (!Model) {
    console.log(`ERROR ${where}: no schema for ${document.apiVersion} ${document.kind}`);
    failed++;
    continue;
  }
  try {
    new Model(document).validate();
    console.log(`OK ${where}`);
  } catch (error) {
    console.log(`ERROR ${where}: ${error.message}`);
    failed++;
  }
}
process.exit(failed ? 1 : 0);
