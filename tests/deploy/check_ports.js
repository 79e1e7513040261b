// Cross-checks rendered manifests against the services' own flags, so a port
// changed in one place cannot silently break probes, Services, scraping or
// NetworkPolicies:
//  - each container's --listen, --metrics_listen and (when set)
//    --health_listen are 0.0.0.0:PORT, three different ports, and a
//    non-loopback --listen comes with --api_keys_file on a mounted Secret;
//  - every probe is a native gRPC probe on the --health_listen port when that
//    flag is set, else on the --listen port; a container serving TLS must
//    have --health_listen (the kubelet's gRPC probe cannot speak TLS);
//  - the container ports named grpc / metrics / health are those ports (no
//    port named health without --health_listen);
//  - key, certificate and CA files (--api_keys_file, --tls_cert, --tls_key,
//    --context_tls_ca, ...) are on a volume made only of Secrets and, when
//    every Secret of the volume lists its items, among those items;
//  - the prometheus.io/port annotation is the --metrics_listen port;
//  - each Service selects a workload and every targetPort is that
//    container's --listen (port grpc) or --metrics_listen (port metrics) port;
//  - --context_service names the context-service Service and its gRPC port,
//    with --context_tls_ca exactly when context-service serves TLS;
//  - NetworkPolicy ports for a service's pods are its gRPC/metrics ports (the
//    health port is for the kubelet only: opened to no pod, at most to
//    ipBlock peers such as node addresses);
//  - --data_dir is on the volumeClaimTemplate; terminationGracePeriodSeconds
//    covers --drain_timeout with at least 10 s of margin.
// and the overlay-wide promises of deploy/README.md:
//  - every container serves TLS (--tls_cert and --tls_key);
//  - every StatefulSet has replicas 1 (each pod owns a local RocksDB; see
//    docs/operations.md before changing this check);
//  - every container has CPU and memory requests and limits, and the
//    securityContext (runAsNonRoot, readOnlyRootFilesystem, no privilege
//    escalation, ALL capabilities dropped, seccomp RuntimeDefault);
//  - prod.yaml: podAntiAffinity and a storageClassName on every claim.
//
// Usage: node check_ports.js RENDERED.yaml...
"use strict";
const { readObjects, describe } = require("./k8s_lib.js");

const problems = [];
const fail = (where, message) => problems.push(`${where}: ${message}`);

function flag(args, name) {
  const prefix = `--${name}=`;
  const found = (args || []).filter((a) => a.startsWith(prefix));
  return found.length === 0 ? undefined : found[found.length - 1].slice(prefix.length);
}

function hostPort(value) {
  const match = /^(.*):(\d+)$/.exec(value || "");
  return match ? { host: match[1], port: Number(match[2]) } : undefined;
}

// Go-style duration of the flags ("20s", "1m30s", "500ms") in seconds.
function seconds(duration) {
  const units = { h: 3600, m: 60, s: 1, ms: 0.001 };
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
  let match;
  let consumed = "";
  while ((match = re.exec(duration)) !== null) {
    total += Number(match[1]) * units[match[2]];
    consumed += match[0];
  }
  if (consumed !== duration) throw new Error(`cannot read duration "${duration}"`);
  return total;
}

function selects(selector, labels) {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels && labels[k] === v);
}

function checkWorkload(entry, workloads) {
  const { object } = entry;
  const where = describe(entry);
  const template = object.spec.template;
  const pod = template.spec;
  const labels = template.metadata.labels || {};
  const annotations = template.metadata.annotations || {};
  const volumes = Object.fromEntries((pod.volumes || []).map((v) => [v.name, v]));
  const claims = new Set((object.spec.volumeClaimTemplates || []).map((c) => c.metadata.name));
  for (const container of pod.containers) {
    const at = `${where} container ${container.name}`;
    const args = container.args || [];
    const listen = hostPort(flag(args, "listen"));
    const metrics = hostPort(flag(args, "metrics_listen"));
    if (!listen) { fail(at, "no --listen=HOST:PORT argument"); continue; }
    if (!metrics) { fail(at, "no --metrics_listen=HOST:PORT argument"); continue; }
    if (listen.host !== "0.0.0.0") fail(at, `--listen host is ${listen.host}, want 0.0.0.0 (reachable from other pods)`);
    if (metrics.host !== "0.0.0.0") fail(at, `--metrics_listen host is ${metrics.host}, want 0.0.0.0 (reachable by Prometheus)`);
    // Empty --health_listen (the default) is off: probes go to --listen.
    const healthValue = flag(args, "health_listen");
    const health = healthValue ? hostPort(healthValue) : undefined;
    if (healthValue && !health) { fail(at, `--health_listen ${healthValue} is not HOST:PORT`); continue; }
    if (health && health.host !== "0.0.0.0") fail(at, `--health_listen host is ${health.host}, want 0.0.0.0 (reachable by the kubelet)`);
    if (health && (health.port === listen.port || health.port === metrics.port)) {
      fail(at, `--health_listen port ${health.port} is also the --listen or --metrics_listen port`);
    }
    const tlsCert = flag(args, "tls_cert");
    const tlsKey = flag(args, "tls_key");
    const servesTls = Boolean(tlsCert && tlsKey);
    if (Boolean(tlsCert) !== Boolean(tlsKey)) fail(at, "--tls_cert and --tls_key must be given together: the service refuses to start");
    if (servesTls && !health) {
      fail(at, "serves TLS on --listen without --health_listen: the kubelet's gRPC probe cannot speak TLS, so every probe would fail");
    }

    // The file is on a mounted volume made only of Secrets and, when every
    // Secret of the volume lists its items, one of them (a Secret without
    // items may hold any file name, so then any name passes).
    const secretFileProblem = (file) => {
      const mount = (container.volumeMounts || []).find((m) => file.startsWith(m.mountPath.replace(/\/?$/, "/")));
      const volume = mount && volumes[mount.name];
      if (!volume) return "is not on a mounted volume";
      const name = file.slice(mount.mountPath.replace(/\/?$/, "/").length);
      const sources = volume.secret ? [volume.secret] : volume.projected ? (volume.projected.sources || []).map((s) => s.secret) : [];
      if (sources.length === 0 || sources.some((s) => !s)) return `is not on a mounted Secret (volume ${mount.name})`;
      if (sources.every((s) => s.items) && !sources.some((s) => s.items.some((i) => i.path === name))) {
        return `is not among the Secret items of volume ${mount.name}`;
      }
      return undefined;
    };
    if (!flag(args, "api_keys_file")) fail(at, "non-loopback --listen without --api_keys_file: the service refuses to start");
    for (const fileFlag of ["api_keys_file", "context_api_keys_file", "handoff_key_file", "smtp_password_file", "webhook_secret_file",
      "tls_cert", "tls_key", "tls_client_ca", "context_tls_ca"]) {
      const file = flag(args, fileFlag);
      if (file === undefined || file === "") continue;
      const problem = secretFileProblem(file);
      if (problem) fail(at, `--${fileFlag} ${file} ${problem}`);
    }
    const dataDir = flag(args, "data_dir");
    const dataMount = dataDir && (container.volumeMounts || []).find((m) => (dataDir + "/").startsWith(m.mountPath.replace(/\/?$/, "/")));
    if (!dataMount || !claims.has(dataMount.name) || dataMount.readOnly) {
      fail(at, `--data_dir ${dataDir} is not on a writable volumeClaimTemplate volume`);
    }

    const probed = health ? { port: health.port, flag: "--health_listen" } : { port: listen.port, flag: "--listen" };
    for (const probeName of ["startupProbe", "readinessProbe", "livenessProbe"]) {
      const probe = container[probeName];
      if (!probe) { if (probeName !== "startupProbe") fail(at, `no ${probeName}`); continue; }
      if (!probe.grpc) { fail(at, `${probeName} is not a native gRPC probe`); continue; }
      if (probe.grpc.port !== probed.port) fail(at, `${probeName} port ${probe.grpc.port} != ${probed.flag} port ${probed.port}`);
    }
    const ports = Object.fromEntries((container.ports || []).map((p) => [p.name, p.containerPort]));
    if (ports.grpc !== listen.port) fail(at, `container port grpc is ${ports.grpc}, --listen port is ${listen.port}`);
    if (ports.metrics !== metrics.port) fail(at, `container port metrics is ${ports.metrics}, --metrics_listen port is ${metrics.port}`);
    if (health && ports.health !== health.port) fail(at, `container port health is ${ports.health}, --health_listen port is ${health.port}`);
    if (!health && ports.health !== undefined) fail(at, `container port health ${ports.health} without --health_listen`);
    if (annotations["prometheus.io/scrape"] !== "true") fail(at, "pod lacks prometheus.io/scrape: \"true\"");
    if (annotations["prometheus.io/port"] !== String(metrics.port)) {
      fail(at, `prometheus.io/port is ${annotations["prometheus.io/port"]}, --metrics_listen port is ${metrics.port}`);
    }

    const drain = seconds(flag(args, "drain_timeout") || "20s");
    const grace = pod.terminationGracePeriodSeconds === undefined ? 30 : pod.terminationGracePeriodSeconds;
    if (grace < drain + 10) fail(at, `terminationGracePeriodSeconds ${grace} does not cover --drain_timeout ${drain}s + 10s margin`);

    workloads.push({ where: at, name: labels["app.kubernetes.io/name"], labels, container, listen, metrics, health, servesTls, ports, args });
  }
}

function checkPromises(file, entry) {
  const where = describe(entry);
  const { spec } = entry.object;
  if (entry.object.kind === "StatefulSet" && spec.replicas !== 1) {
    fail(where, `replicas ${spec.replicas}: each pod owns a local RocksDB, so one replica (docs/operations.md, Scaling)`);
  }
  const pod = spec.template.spec;
  const podSecurity = pod.securityContext || {};
  if (!podSecurity.seccompProfile || podSecurity.seccompProfile.type !== "RuntimeDefault") fail(where, "pod seccompProfile is not RuntimeDefault");
  for (const container of pod.containers) {
    const at = `${where} container ${container.name}`;
    if (!flag(container.args, "tls_cert") || !flag(container.args, "tls_key")) {
      fail(at, "serves plaintext gRPC: every service serves TLS (--tls_cert, --tls_key; deploy/README.md, TLS)");
    }
    const resources = container.resources || {};
    for (const kind of ["requests", "limits"]) {
      for (const resource of ["cpu", "memory"]) {
        if (!resources[kind] || resources[kind][resource] === undefined) fail(at, `no ${resource} ${kind}`);
      }
    }
    const security = container.securityContext || {};
    if (!(security.runAsNonRoot || podSecurity.runAsNonRoot)) fail(at, "not runAsNonRoot");
    if (security.readOnlyRootFilesystem !== true) fail(at, "root filesystem is not read-only");
    if (security.allowPrivilegeEscalation !== false) fail(at, "allowPrivilegeEscalation is not false");
    const drop = (security.capabilities && security.capabilities.drop) || [];
    if (!drop.includes("ALL")) fail(at, "capabilities do not drop ALL");
  }
  if (/(^|\/)prod\.yaml$/.test(file)) {
    if (!pod.affinity || !pod.affinity.podAntiAffinity) fail(where, "prod: no podAntiAffinity");
    for (const claim of spec.volumeClaimTemplates || []) {
      if (!claim.spec.storageClassName) fail(where, `prod: claim ${claim.metadata.name} has no storageClassName`);
    }
  }
}

function checkService(entry, workloads) {
  const where = describe(entry);
  const { spec } = entry.object;
  const targets = workloads.filter((w) => selects(spec.selector, w.labels));
  if (targets.length === 0) { fail(where, "selects no workload's pods"); return; }
  for (const target of targets) {
    for (const port of spec.ports || []) {
      const want = port.name === "grpc" ? target.listen.port : port.name === "metrics" ? target.metrics.port : undefined;
      if (want === undefined) { fail(where, `port ${port.name} is neither grpc nor metrics`); continue; }
      const targetPort = port.targetPort === undefined ? port.port : port.targetPort;
      const resolved = typeof targetPort === "string" ? target.ports[targetPort] : targetPort;
      if (resolved !== want) fail(where, `port ${port.name} targetPort ${targetPort} != ${target.container.name}'s ${port.name === "grpc" ? "--listen" : "--metrics_listen"} port ${want}`);
    }
  }
}

function checkContextClients(workloads, services) {
  const context = workloads.find((w) => w.name === "context-service");
  for (const w of workloads) {
    const value = flag(w.args, "context_service");
    if (value === undefined || value === "") continue;
    const target = hostPort(value);
    const service = target && services.find((s) => s.object.metadata.name === target.host);
    if (!service || !context || !selects(service.object.spec.selector, context.labels)) {
      fail(w.where, `--context_service ${value} does not name a Service of context-service`);
      continue;
    }
    const port = (service.object.spec.ports || []).find((p) => p.port === target.port);
    if (!port || port.name !== "grpc") fail(w.where, `--context_service port ${target.port} is not the grpc port of Service ${target.host}`);
    // A TLS server drops a plaintext client, and a TLS client cannot
    // handshake with a plaintext server.
    const caFile = flag(w.args, "context_tls_ca");
    if (context.servesTls && !caFile) fail(w.where, "context-service serves TLS but --context_tls_ca is not set");
    if (!context.servesTls && caFile) fail(w.where, `--context_tls_ca ${caFile} set but context-service serves plaintext`);
  }
}

function checkNetworkPolicies(policies, workloads) {
  for (const entry of policies) {
    const where = describe(entry);
    const { spec } = entry.object;
    const owners = workloads.filter((w) => selects(spec.podSelector.matchLabels, w.labels));
    const ownPorts = (w) => [w.listen.port, w.metrics.port];
    for (const rule of spec.ingress || []) {
      for (const port of rule.ports || []) {
        for (const owner of owners) {
          if (owner.health && port.port === owner.health.port) {
            // Node addresses (ipBlock) are allowed for CNIs that filter node
            // traffic; pods, or everyone (no "from"), are not.
            const fromPods = !rule.from || rule.from.length === 0 || rule.from.some((peer) => !peer.ipBlock);
            if (fromPods) fail(where, `ingress opens ${owner.name}'s health port ${port.port} to pods: it is for the kubelet's probes only`);
          } else if (!ownPorts(owner).includes(port.port)) {
            fail(where, `ingress port ${port.port} is not a port of ${owner.name} (${ownPorts(owner)})`);
          }
        }
      }
    }
    for (const rule of spec.egress || []) {
      for (const peer of rule.to || []) {
        if (!peer.podSelector || peer.namespaceSelector) continue;
        const peers = workloads.filter((w) => selects(peer.podSelector.matchLabels, w.labels));
        if (peers.length === 0) fail(where, "egress peer selects no CXP workload");
        for (const target of peers) {
          for (const port of rule.ports || []) {
            if (port.port !== target.listen.port) fail(where, `egress port ${port.port} to ${target.name} is not its --listen port ${target.listen.port}`);
          }
        }
      }
    }
  }
}

function main(files) {
  if (files.length === 0) throw new Error("usage: check_ports.js RENDERED.yaml...");
  for (const file of files) {
    const objects = readObjects([file]);
    const workloads = [];
    const of = (kind) => objects.filter((e) => e.object.kind === kind);
    const workloadEntries = [...of("StatefulSet"), ...of("Deployment")];
    if (workloadEntries.length === 0) fail(file, "no workloads rendered");
    workloadEntries.forEach((e) => checkWorkload(e, workloads));
    workloadEntries.forEach((e) => checkPromises(file, e));
    of("Service").forEach((e) => checkService(e, workloads));
    checkContextClients(workloads, of("Service"));
    checkNetworkPolicies(of("NetworkPolicy"), workloads);
    console.log(`check_ports: ${file}: ${workloads.length} containers, ${of("Service").length} Services, ${of("NetworkPolicy").length} NetworkPolicies checked`);
  }
  for (const problem of problems) console.error(`MISMATCH ${problem}`);
  return problems.length === 0 ? 0 : 1;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  console.error(`check_ports: ${e.message}`);
  process.exitCode = 1;
}
