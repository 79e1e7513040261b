"""A small CXP client for partners: one object, three services, API key and deadlines.

The stubs and messages are generated from protos/ by generate.sh; put its output
directory on sys.path (or PYTHONPATH) before importing this module. Every call
carries `authorization: Bearer <key>` and a deadline (docs/api.md); failures are
raised as grpc.RpcError with the gRPC status code and the service's message.
"""
import grpc

from cxp.context.v1 import context_service_pb2 as ctx
from cxp.context.v1 import interaction_pb2
from cxp.context.v1 import context_service_pb2_grpc as ctx_grpc
from cxp.notify.v1 import notification_pb2
from cxp.notify.v1 import notify_service_pb2 as notify
from cxp.notify.v1 import notify_service_pb2_grpc as notify_grpc
from cxp.routing.v1 import agent_pb2, task_pb2
from cxp.routing.v1 import routing_service_pb2 as routing
from cxp.routing.v1 import routing_service_pb2_grpc as routing_grpc
from cxp.type.v1 import channel_pb2, identity_pb2, purpose_pb2

class CxpClient:
    """Clients of ContextService, RoutingService and NotifyService.

    Addresses are "host:port"; plaintext, as for a local setup (the
    Kubernetes manifests serve TLS: use grpc.secure_channel with
    grpc.ssl_channel_credentials and their ca.crt, deploy/README.md "TLS").
    `timeout` is the deadline of each unary call, in seconds.
    """

    def __init__(self, context_address, routing_address, notify_address, api_key, timeout=2.0):
        # No key: a local service started without --api_keys_file (tenant "default").
        self._metadata = [("authorization", f"Bearer {api_key}")] if api_key else []
        self._timeout = timeout
        self._channels = [grpc.insecure_channel(a) for a in (context_address, routing_address, notify_address)]
        self.context = ctx_grpc.ContextServiceStub(self._channels[0])
        self.routing = routing_grpc.RoutingServiceStub(self._channels[1])
        self.notify = notify_grpc.NotifyServiceStub(self._channels[2])

    def call(self, method, request):
        """One unary call with the API key and the deadline."""
        return method(request, timeout=self._timeout, metadata=self._metadata)

    def close(self):
        for channel in self._channels:
            channel.close()

    # --- ContextService ---------------------------------------------------

    def create_customer(self, customer_id, display_name, phone, language_code="ko-KR"):
        request = ctx.CreateCustomerRequest(customer_id=customer_id)
        request.customer.display_name = display_name
        request.customer.language_code = language_code
        request.customer.identities.add().identity.CopyFrom(phone_identity(phone))
        return self.call(self.context.CreateCustomer, request).customer

    def resolve_phone(self, phone, region_code="KR"):
        """The customer with this phone number, written in any format."""
        request = ctx.ResolveCustomerRequest(identity=phone_identity(phone, region_code))
        return self.call(self.context.ResolveCustomer, request).customer

    def start_journey(self, customer_name, journey_type, step):
        request = ctx.StartJourneyRequest(parent=customer_name, step=step)
        request.journey.type = journey_type
        return self.call(self.context.StartJourney, request).journey

    def append_interaction(self, customer_name, channel, interaction_type, summary, journey=""):
        request = ctx.AppendInteractionRequest()
        request.customer.customer = customer_name
        request.interaction.channel = channel
        request.interaction.direction = interaction_pb2.Interaction.DIRECTION_INBOUND
        request.interaction.type = interaction_type
        request.interaction.summary = summary
        request.interaction.journey = journey
        return self.call(self.context.AppendInteraction, request).interaction

    # --- RoutingService ---------------------------------------------------

    def create_queue(self, queue_id, display_name, skill, min_proficiency=1):
        request = routing.CreateQueueRequest(queue_id=queue_id)
        request.queue.display_name = display_name
        request.queue.required_skills.add(skill=skill, min_proficiency=min_proficiency)
        return self.call(self.routing.CreateQueue, request).queue

    def create_agent(self, agent_id, display_name, queue, skill, language_code, channel, proficiency=3):
        request = routing.CreateAgentRequest(agent_id=agent_id)
        request.agent.display_name = display_name
        request.agent.skills.add(skill=skill, proficiency=proficiency)
        request.agent.language_codes.append(language_code)
        request.agent.channel_capacities.add(channel=channel, max_tasks=1)
        request.agent.queues.append(queue)
        return self.call(self.routing.CreateAgent, request).agent

    def open_agent_session(self, agent_name, timeout=30.0):
        """The agent desktop stream (offers go only to agents with one open).

        Iterate it for events; cancel() it when done. It ends with
        DEADLINE_EXCEEDED after `timeout` seconds.
        """
        return self.routing.AgentSession(routing.AgentSessionRequest(agent=agent_name), timeout=timeout,
                                         metadata=self._metadata)

    def set_available(self, agent_name):
        request = routing.SetAgentStateRequest(name=agent_name, state=agent_pb2.AGENT_STATE_AVAILABLE)
        return self.call(self.routing.SetAgentState, request).agent

    def submit_task(self, queue, customer_name, channel, language_code, request_id=""):
        request = routing.SubmitTaskRequest(request_id=request_id)
        request.task.queue = queue
        request.task.customer.customer = customer_name
        request.task.channel = channel
        request.task.language_code = language_code
        return self.call(self.routing.SubmitTask, request).task

    def accept_task(self, task_name, agent_name):
        return self.call(self.routing.AcceptTask, routing.AcceptTaskRequest(name=task_name, agent=agent_name)).task

    def get_task(self, task_name):
        return self.call(self.routing.GetTask, routing.GetTaskRequest(name=task_name)).task

    # --- NotifyService ----------------------------------------------------

    def create_template(self, template_id, display_name, sms_text):
        request = notify.CreateTemplateRequest(template_id=template_id)
        request.template.display_name = display_name
        request.template.locales.add(language_code="").sms.text = sms_text
        return self.call(self.notify.CreateTemplate, request).template

    def send_notification(self, customer_name, template, variables, purpose, idempotency_key):
        """Sends once per idempotency_key: a retry returns the first notification."""
        request = notify.SendNotificationRequest(template=template, variables=variables, purpose=purpose,
                                                 idempotency_key=idempotency_key)
        request.customer.customer = customer_name
        return self.call(self.notify.SendNotification, request).notification

    def get_notification(self, name):
        return self.call(self.notify.GetNotification, notify.GetNotificationRequest(name=name)).notification


def phone_identity(phone, region_code=""):
    """A PHONE identity; national formats are read with region_code (else the tenant's default)."""
    return identity_pb2.Identity(kind=identity_pb2.IDENTITY_KIND_PHONE, value=phone, region_code=region_code)


VOICE = channel_pb2.CHANNEL_VOICE
SMS = channel_pb2.CHANNEL_SMS
TRANSACTIONAL = purpose_pb2.PURPOSE_TRANSACTIONAL
