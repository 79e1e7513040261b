#!/usr/bin/env node
// A missed delivery, end to end: context, routing and a notification.
//
//   npm ci && CXP_API_KEY=... node journey.js \
//     --context 127.0.0.1:50051 --routing 127.0.0.1:50052 --notify 127.0.0.1:50053
//
// Prints each step on stderr and a JSON summary on stdout. A failed call ends
// the script with exit code 1 and "journey failed: <gRPC code>: <message>".
'use strict';

const crypto = require('node:crypto');
const { parseArgs } = require('node:util');
const { CxpClient, codeName, nextEvent } = require('./cxp_client');

async function run(client, suffix, phone) {
  const step = (text) => console.error(`journey: ${text}`);

  // 1. Context: a customer known by phone (given in international format), found again
  // from the number typed in local format.
  const customer = await client.createCustomer(`kim-${suffix}`, 'Kim Minji', `+82 ${phone.replace(/^0/, '')}`);
  const resolved = await client.resolvePhone(phone, 'KR');
  const journey = await client.startJourney(resolved.name, 'missed_delivery', 'reported');
  const interaction = await client.appendInteraction(resolved.name, 'CHANNEL_VOICE', 'call',
    'Parcel not delivered; customer asks for redelivery', journey.name);
  step(`${customer.name} resolved as ${resolved.name}; ${journey.name}; ${interaction.name}`);

  // 2. Routing: a delivery queue and a Korean-speaking agent with the skill; the
  // agent's desktop session must be open to receive offers.
  const queue = await client.createQueue(`delivery-${suffix}`, 'Delivery problems', 'delivery');
  const agent = await client.createAgent(`agent-${suffix}`, 'Park Jiho',
    { queue: queue.name, skill: 'delivery', languageCode: 'ko', channel: 'CHANNEL_VOICE' });
  const session = client.openAgentSession(agent.name);
  let submitted;
  let offer;
  try {
    await nextEvent(session, (event) => event.event === 'agent'); // the session is open
    await client.setAvailable(agent.name);
    submitted = await client.submitTask({ queue: queue.name, customerName: resolved.name, channel: 'CHANNEL_VOICE',
      languageCode: 'ko-KR', requestId: crypto.randomUUID() });
    offer = (await nextEvent(session, (event) => event.event === 'offer')).offer;
  } finally {
    session.on('error', () => {}); // cancelling ends the stream with CANCELLED
    session.cancel();
  }
  await client.acceptTask(offer.task.name, agent.name);
  const task = await client.getTask(submitted.name);
  const decision = task.routingDecision;
  step(`${task.name} ${task.state} to ${task.agent}, candidates ${JSON.stringify(decision.candidates
    .map((c) => [c.agent, c.eligible, c.ineligibleReason]))}, context ${decision.contextEnrichment.status}`);

  // 3. Notify: a template and a transactional SMS, sent at most once per idempotency key.
  const template = await client.createTemplate(`redelivery-${suffix}`, 'Redelivery booked',
    '{{customer.display_name}}, your parcel {{parcel}} comes again {{day}}.');
  const send = {
    customerName: resolved.name,
    template: template.name,
    variables: { parcel: 'KR123', day: 'tomorrow' },
    purpose: 'PURPOSE_TRANSACTIONAL',
    idempotencyKey: `redelivery:${suffix}`,
  };
  const sent = await client.sendNotification(send);
  const again = await client.sendNotification(send);
  const notification = await client.getNotification(sent.name);
  step(`${notification.name} v${notification.templateVersion} ${notification.state} ${notification.stateReason}`);

  return {
    customer: customer.name,
    display_name: customer.displayName,
    resolved: resolved.name,
    resolved_display_name: resolved.displayName,
    phone: resolved.identities[0].identity.value,
    journey: journey.name,
    journey_type: journey.type,
    interaction: interaction.name,
    queue: queue.name,
    agent: agent.name,
    task: task.name,
    offered_task: offer.task.name,
    task_agent: task.agent,
    chosen_agent: decision.chosenAgent,
    task_state: task.state,
    enrichment_status: decision.contextEnrichment.status,
    enrichment_customer: decision.contextEnrichment.customer,
    template: template.name,
    template_version: Number(template.version),
    notification: notification.name,
    repeated_send: again.name,
    notification_template: notification.template,
    notification_template_version: Number(notification.templateVersion),
    notification_customer: notification.resolvedCustomer,
    idempotency_key: notification.idempotencyKey,
  };
}

async function main() {
  const { values: args } = parseArgs({
    options: {
      context: { type: 'string', default: '127.0.0.1:50051' },
      routing: { type: 'string', default: '127.0.0.1:50052' },
      notify: { type: 'string', default: '127.0.0.1:50053' },
      timeout: { type: 'string', default: '2' }, // deadline of each call, seconds
      suffix: { type: 'string', default: crypto.randomUUID().slice(0, 8) }, // makes the created ids unique
      phone: { type: 'string', default: '010-1234-5678' }, // the customer's Korean mobile number, local format
    },
  });
  const client = new CxpClient({ context: args.context, routing: args.routing, notify: args.notify,
    apiKey: process.env.CXP_API_KEY || '', timeoutMs: Number(args.timeout) * 1000 });
  try {
    console.log(JSON.stringify(await run(client, args.suffix, args.phone)));
    return 0;
  } catch (error) {
    if (error.code === undefined) throw error; // not a gRPC error: a bug, show the stack
    console.error(`journey failed: ${codeName(error)}: ${error.details}`);
    return 1;
  } finally {
    client.close();
  }
}

main().then((code) => { process.exitCode = code; });
