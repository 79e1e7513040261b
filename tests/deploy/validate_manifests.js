// Validates every object of rendered Kubernetes manifests against the
// Kubernetes API schema (kubernetes-models, pinned in tools/k8s-validate),
// plus the name rules the API server enforces beyond the schema.
// Fails on an invalid object, an unknown apiVersion/kind, or no objects.
//
// Usage: node validate_manifests.js RENDERED.yaml...
"use strict";
const { toolsRequire, readObjects, describe } = require("./k8s_lib.js");

// Kinds the schema has no model for are errors: nothing passes unchecked.
function modelFor(apiVersion, kind) {
  if (typeof apiVersion !== "string" || typeof kind !== "string") {
    throw new Error("missing apiVersion or kind");
  }
  let module;
  try {
    module = toolsRequire(`kubernetes-models/${apiVersion}`);
  } catch (e) {
    throw new Error(`unknown apiVersion ${apiVersion}`);
  }
  const model = module[kind];
  if (typeof model !== "function") throw new Error(`unknown kind ${kind} in ${apiVersion}`);
  return model;
}

// API-server validation that is not part of the OpenAPI schema.
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const PORT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function apiServerRules(object) {
  const problems = [];
  const name = object.metadata && object.metadata.name;
  if (!name || name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
    problems.push(`metadata.name "${name}" is not a DNS-1123 subdomain`);
  }
  if (object.kind === "Service" && !DNS1123_LABEL.test(name || "")) {
    problems.push(`Service name "${name}" is not a DNS-1123 label`);
  }
  const podSpec = object.kind === "Pod" ? object.spec : object.spec && object.spec.template && object.spec.template.spec;
  const containers = podSpec ? [...(podSpec.initContainers || []), ...(podSpec.containers || [])] : [];
  for (const container of containers) {
    if (!DNS1123_LABEL.test(container.name || "") || container.name.length > 63) {
      problems.push(`container name "${container.name}" is not a DNS-1123 label`);
    }
    for (const port of container.ports || []) {
      if (port.name !== undefined && (port.name.length > 15 || !PORT_NAME.test(port.name) || !/[a-z]/.test(port.name))) {
        problems.push(`container ${container.name}: port name "${port.name}" is not an IANA service name`);
      }
    }
  }
  // int-or-string fields: a string must be a percentage.
  if (object.kind === "PodDisruptionBudget") {
    for (const field of ["minAvailable", "maxUnavailable"]) {
      const value = object.spec && object.spec[field];
      if (typeof value === "string" && !/^[0-9]+%$/.test(value)) problems.push(`spec.${field} "${value}" is neither an integer nor a percentage`);
    }
  }
  return problems;
}

function main(files) {
  if (files.length === 0) throw new Error("usage: validate_manifests.js RENDERED.yaml...");
  const objects = readObjects(files);
  if (objects.length === 0) throw new Error("no objects rendered");
  let failures = 0;
  for (const entry of objects) {
    const { object } = entry;
    try {
      const Model = modelFor(object.apiVersion, object.kind);
      new Model(object).validate();
      const problems = apiServerRules(object);
      if (problems.length > 0) throw new Error(problems.join("; "));
    } catch (e) {
      failures++;
      console.error(`INVALID ${describe(entry)}: ${e.message}`);
    }
  }
  console.log(`validate_manifests: ${objects.length - failures} valid, ${failures} invalid (${files.join(", ")})`);
  return failures === 0 ? 0 : 1;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  console.error(`validate_manifests: ${e.message}`);
  process.exitCode = 1;
}
