// Shared by validate_manifests.js and check_ports.js: loads the pinned npm
// packages from tools/k8s-validate (installed by scripts/install_deps.sh with
// `npm ci`) and parses rendered multi-document YAML.
"use strict";
const fs = require("fs");
const path = require("path");
const { createRequire } = require("module");

const toolsDir = path.resolve(__dirname, "../../tools/k8s-validate");
const toolsRequire = createRequire(path.join(toolsDir, "package.json"));

function loadYaml() {
  try {
    return toolsRequire("yaml");
  } catch (e) {
    throw new Error(`cannot load 'yaml' from ${toolsDir}/node_modules (run scripts/install_deps.sh): ${e.message}`);
  }
}

// Every non-empty document of each file, as {file, index, object}.
function readObjects(files) {
  const YAML = loadYaml();
  const objects = [];
  for (const file of files) {
    const docs = YAML.parseAllDocuments(fs.readFileSync(file, "utf8"));
    docs.forEach((doc, index) => {
      if (doc.errors.length > 0) {
        throw new Error(`${file}: document ${index}: YAML error: ${doc.errors[0].message}`);
      }
      const object = doc.toJS();
      if (object !== null && object !== undefined) objects.push({ file, index, object });
    });
  }
  return objects;
}

function describe({ file, object }) {
  const name = object && object.metadata ? object.metadata.name : "<no name>";
  return `${path.basename(file)}: ${object.kind || "<no kind>"} ${name}`;
}

module.exports = { toolsDir, toolsRequire, readObjects, describe };
