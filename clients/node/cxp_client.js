// A small CXP client for partners on Node.js: one object, three services, API
// key and deadlines. The protos are loaded at run time from protos/ (no code
// generation); messages are plain objects with camelCase field names, enums
// are their names as strings ("CHANNEL_VOICE"), int64 fields are strings.
//
// Every call carries `authorization: Bearer <key>` and a deadline
// (docs/api.md). A failed call rejects with the grpc-js error: `code` (see
// grpc.status, or codeName() below), `details` (the service's message).
'use strict';

const path = require('node:path');
const fs = require('node:fs');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const DEFAULT_PROTOS = path.join(__dirname, '..', '..', 'protos');

// Every .proto under protosDir/cxp, so any message of the API can be built.
function loadCxp(protosDir = process.env.CXP_PROTOS || DEFAULT_PROTOS) {
  const files = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.proto')) files.push(path.relative(protosDir, full));
    }
  };
  walk(path.join(protosDir, 'cxp'));
  const definition = protoLoader.loadSync(files.sort(), {
    includeDirs: [protosDir],
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  return grpc.loadPackageDefinition(definition).cxp;
}

// The gRPC status name of an error, e.g. "UNAUTHENTICATED".
function codeName(error) {
  return Object.keys(grpc.status).find((name) => grpc.status[name] === error.code) || String(error.code);
}

class CxpClient {
  // Addresses are "host:port"; plaintext, as for a local setup (the
  // Kubernetes manifests serve TLS: use grpc.credentials.createSsl() with their
  // ca.crt, deploy/README.md "TLS"). timeoutMs is the deadline of each unary
  // call.
  constructor({ context, routing, notify, apiKey, timeoutMs = 2000, protosDir }) {
    const cxp = loadCxp(protosDir);
    const credentials = grpc.credentials.createInsecure();
    this.context = new cxp.context.v1.ContextService(context, credentials);
    this.routing = new cxp.routing.v1.RoutingService(routing, credentials);
    this.notify = new cxp.notify.v1.NotifyService(notify, credentials);
    this.metadata = new grpc.Metadata();
    // No key: a local service started without --api_keys_file (tenant "default").
    if (apiKey) this.metadata.set('authorization', `Bearer ${apiKey}`);
    this.timeoutMs = timeoutMs;
  }

  // One unary call with the API key and the deadline, as a promise.
  call(stub, method, request) {
    return new Promise((resolve, reject) => {
      stub[method](request, this.metadata, { deadline: Date.now() + this.timeoutMs }, (error, response) =>
        error ? reject(error) : resolve(response));
    });
  }

  close() {
    for (const stub of [this.context, this.routing, this.notify]) stub.close();
  }

  // --- ContextService ------------------------------------------------------

  async createCustomer(customerId, displayName, phone, languageCode = 'ko-KR') {
    const customer = { displayName, languageCode, identities: [{ identity: phoneIdentity(phone) }] };
    return (await this.call(this.context, 'CreateCustomer', { customerId, customer })).customer;
  }

  // The customer with this phone number, written in any format.
  async resolvePhone(phone, regionCode = 'KR') {
    return (await this.call(this.context, 'ResolveCustomer', { identity: phoneIdentity(phone, regionCode) })).customer;
  }

  async startJourney(customerName, type, step) {
    return (await this.call(this.context, 'StartJourney', { parent: customerName, journey: { type }, step })).journey;
  }

  async appendInteraction(customerName, channel, type, summary, journey = '') {
    const interaction = { channel, direction: 'DIRECTION_INBOUND', type, summary, journey };
    return (await this.call(this.context, 'AppendInteraction', { customer: { customer: customerName }, interaction }))
      .interaction;
  }

  // --- RoutingService ------------------------------------------------------

  async createQueue(queueId, displayName, skill, minProficiency = 1) {
    const queue = { displayName, requiredSkills: [{ skill, minProficiency }] };
    return (await this.call(this.routing, 'CreateQueue', { queueId, queue })).queue;
  }

  async createAgent(agentId, displayName, { queue, skill, languageCode, channel, proficiency = 3 }) {
    const agent = {
      displayName,
      skills: [{ skill, proficiency }],
      languageCodes: [languageCode],
      channelCapacities: [{ channel, maxTasks: 1 }],
      queues: [queue],
    };
    return (await this.call(this.routing, 'CreateAgent', { agentId, agent })).agent;
  }

  // The agent desktop stream (offers go only to agents with one open): a
  // grpc-js readable stream of AgentSessionResponse; cancel() it when done.
  openAgentSession(agentName, timeoutMs = 30000) {
    return this.routing.AgentSession({ agent: agentName }, this.metadata, { deadline: Date.now() + timeoutMs });
  }

  async setAvailable(agentName) {
    return (await this.call(this.routing, 'SetAgentState', { name: agentName, state: 'AGENT_STATE_AVAILABLE' })).agent;
  }

  async submitTask({ queue, customerName, channel, languageCode, requestId = '' }) {
    const task = { queue, customer: { customer: customerName }, channel, languageCode };
    return (await this.call(this.routing, 'SubmitTask', { task, requestId })).task;
  }

  async acceptTask(taskName, agentName) {
    return (await this.call(this.routing, 'AcceptTask', { name: taskName, agent: agentName })).task;
  }

  async getTask(taskName) {
    return (await this.call(this.routing, 'GetTask', { name: taskName })).task;
  }

  // --- NotifyService -------------------------------------------------------

  async createTemplate(templateId, displayName, smsText) {
    const template = { displayName, locales: [{ languageCode: '', sms: { text: smsText } }] };
    return (await this.call(this.notify, 'CreateTemplate', { templateId, template })).template;
  }

  // Sends once per idempotencyKey: a retry returns the first notification.
  async sendNotification({ customerName, template, variables, purpose, idempotencyKey }) {
    const request = { customer: { customer: customerName }, template, variables, purpose, idempotencyKey };
    return (await this.call(this.notify, 'SendNotification', request)).notification;
  }

  async getNotification(name) {
    return (await this.call(this.notify, 'GetNotification', { name })).notification;
  }
}

// A PHONE identity; national formats are read with regionCode (else the
// tenant's default region).
function phoneIdentity(phone, regionCode = '') {
  return { kind: 'IDENTITY_KIND_PHONE', value: phone, regionCode };
}

// The first event of a stream that passes `accept`, as a promise; rejects if
// the stream fails or ends first.
function nextEvent(stream, accept = () => true) {
  return new Promise((resolve, reject) => {
    const onData = (event) => {
      if (!accept(event)) return;
      cleanup();
      resolve(event);
    };
    const onError = (error) => {
      cleanup();
      reject(error);
    };
    const onEnd = () => {
      cleanup();
      reject(new Error('stream ended'));
    };
    const cleanup = () => {
      stream.off('data', onData).off('error', onError).off('end', onEnd);
      stream.pause(); // keep later events for the next call
    };
    stream.on('data', onData).on('error', onError).on('end', onEnd);
    stream.resume(); // events that came while no one listened were buffered
  });
}

module.exports = { CxpClient, codeName, nextEvent, loadCxp, grpc };
