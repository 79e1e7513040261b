#!/usr/bin/python3
"""A missed delivery, end to end: context, routing and a notification.

    ./generate.sh gen && PYTHONPATH=gen CXP_API_KEY=... /usr/bin/python3 journey.py \
        --context 127.0.0.1:50051 --routing 127.0.0.1:50052 --notify 127.0.0.1:50053

Prints each step on stderr and a JSON summary on stdout. A failed call ends the
script with exit code 1 and "<step>: <gRPC code>: <message>" on stderr.
"""
import argparse
import json
import os
import sys
import uuid

import grpc

import cxp_client
from cxp_client import CxpClient


def step(text):
    print(f"journey: {text}", file=sys.stderr)


def run(client, suffix, phone):
    summary = {}

    # 1. Context: a customer known by phone (given in international format), found again
    # from the number typed in local format.
    customer = client.create_customer(f"kim-{suffix}", "Kim Minji", "+82 " + phone.removeprefix("0"))
    resolved = client.resolve_phone(phone, region_code="KR")
    journey = client.start_journey(resolved.name, "missed_delivery", step="reported")
    interaction = client.append_interaction(resolved.name, cxp_client.VOICE, "call",
                                            "Parcel not delivered; customer asks for redelivery",
                                            journey=journey.name)
    step(f"{customer.name} resolved as {resolved.name}; {journey.name}; {interaction.name}")
    summary.update(customer=customer.name, display_name=customer.display_name, resolved=resolved.name,
                   resolved_display_name=resolved.display_name,
                   phone=resolved.identities[0].identity.value, journey=journey.name,
                   journey_type=journey.type, interaction=interaction.name)

    # 2. Routing: a delivery queue and a Korean-speaking agent with the skill; the agent's
    # desktop session must be open to receive offers.
    queue = client.create_queue(f"delivery-{suffix}", "Delivery problems", skill="delivery")
    agent = client.create_agent(f"agent-{suffix}", "Park Jiho", queue.name, skill="delivery",
                                language_code="ko", channel=cxp_client.VOICE)
    session = client.open_agent_session(agent.name)
    try:
        next(session)  # the agent's state: the session is open
        client.set_available(agent.name)
        task = client.submit_task(queue.name, resolved.name, cxp_client.VOICE, "ko-KR",
                                  request_id=str(uuid.uuid4()))
        offer = next(event.offer for event in session if event.WhichOneof("event") == "offer")
    finally:
        session.cancel()
    client.accept_task(offer.task.name, agent.name)
    task = client.get_task(task.name)
    decision = task.routing_decision
    enrichment_status = cxp_client.task_pb2.ContextEnrichment.Status.Name(decision.context_enrichment.status)
    step(f"{task.name} {cxp_client.task_pb2.Task.State.Name(task.state)} to {task.agent}, "
         f"candidates {[(c.agent, c.eligible, c.ineligible_reason) for c in decision.candidates]}, "
         f"context {enrichment_status}")
    summary.update(queue=queue.name, agent=agent.name, task=task.name, offered_task=offer.task.name,
                   task_agent=task.agent, chosen_agent=decision.chosen_agent,
                   task_state=cxp_client.task_pb2.Task.State.Name(task.state),
                   enrichment_status=enrichment_status, enrichment_customer=decision.context_enrichment.customer)

    # 3. Notify: a template and a transactional SMS, sent at most once per idempotency key.
    template = client.create_template(f"redelivery-{suffix}", "Redelivery booked",
                                      "{{customer.display_name}}, your parcel {{parcel}} comes again {{day}}.")
    key = f"redelivery:{suffix}"
    sent = client.send_notification(resolved.name, template.name, {"parcel": "KR123", "day": "tomorrow"},
                                    cxp_client.TRANSACTIONAL, idempotency_key=key)
    again = client.send_notification(resolved.name, template.name, {"parcel": "KR123", "day": "tomorrow"},
                                     cxp_client.TRANSACTIONAL, idempotency_key=key)
    notification = client.get_notification(sent.name)
    step(f"{notification.name} v{notification.template_version} "
         f"{cxp_client.notification_pb2.Notification.State.Name(notification.state)} "
         f"{notification.state_reason}")
    summary.update(template=template.name, template_version=template.version, notification=notification.name,
                   repeated_send=again.name, notification_template=notification.template,
                   notification_template_version=notification.template_version,
                   notification_customer=notification.resolved_customer,
                   idempotency_key=notification.idempotency_key)
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--context", default="127.0.0.1:50051")
    parser.add_argument("--routing", default="127.0.0.1:50052")
    parser.add_argument("--notify", default="127.0.0.1:50053")
    parser.add_argument("--timeout", type=float, default=2.0, help="deadline of each call, seconds")
    parser.add_argument("--suffix", default=uuid.uuid4().hex[:8], help="makes the created ids unique")
    parser.add_argument("--phone", default="010-1234-5678", help="the customer's Korean mobile number, local format")
    args = parser.parse_args()
    client = CxpClient(args.context, args.routing, args.notify, os.environ.get("CXP_API_KEY", ""),
                       timeout=args.timeout)
    try:
        print(json.dumps(run(client, args.suffix, args.phone)))
    except grpc.RpcError as error:
        print(f"journey failed: {error.code().name}: {error.details()}", file=sys.stderr)
        return 1
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
