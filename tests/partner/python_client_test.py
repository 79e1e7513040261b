#!/usr/bin/python3
"""A partner who has only protos/ can talk to every CXP service.

Generates a Python client from protos/ with protoc and grpc_python_plugin,
starts each real service binary on a loopback port with an API-key file, and
calls it through Debian's python3-grpcio: the grpc.health.v1 check (its
messages are built here from the public health protocol, since Debian ships
no health.proto) and a generated stub with and without the API key.

Run by ctest with CXP_BINARY_DIR and CXP_SOURCE_DIR set; needs /usr/bin/python3.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

BINARY_DIR = os.environ.get("CXP_BINARY_DIR", "build")
SOURCE_DIR = os.environ.get("CXP_SOURCE_DIR", ".")
API_KEY = "partner-key-0123456789abcdef"
SERVICES = [
    # binary, full service name, generated module, stub class, probe method, request class
    ("context_service", "cxp.context.v1.ContextService", "cxp.context.v1.context_service",
     "ContextServiceStub", "GetCustomer", "GetCustomerRequest"),
    ("routing_service", "cxp.routing.v1.RoutingService", "cxp.routing.v1.routing_service",
     "RoutingServiceStub", "GetTask", "GetTaskRequest"),
    ("notify_service", "cxp.notify.v1.NotifyService", "cxp.notify.v1.notify_service",
     "NotifyServiceStub", "GetNotification", "GetNotificationRequest"),
]


def generate_client(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    protos_dir = os.path.join(SOURCE_DIR, "protos")
    files = []
    for root, _, names in os.walk(os.path.join(protos_dir, "cxp")):
        files += [os.path.relpath(os.path.join(root, n), protos_dir) for n in names if n.endswith(".proto")]
    subprocess.run(
        ["protoc", f"--proto_path={protos_dir}", "--proto_path=/usr/include",
         f"--python_out={out_dir}", f"--grpc_python_out={out_dir}",
         f"--plugin=protoc-gen-grpc_python={shutil.which('grpc_python_plugin')}"] + sorted(files),
        check=True)
    sys.path.insert(0, out_dir)


def health_messages():
    """grpc.health.v1 HealthCheckRequest/Response, from the public protocol."""
    file_proto = descriptor_pb2.FileDescriptorProto(name="cxp_test/health.proto", package="grpc.health.v1",
                                                   syntax="proto3")
    request = file_proto.message_type.add(name="HealthCheckRequest")
    request.field.add(name="service", number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
                      label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    response = file_proto.message_type.add(name="HealthCheckResponse")
    status = response.enum_type.add(name="ServingStatus")
    for number, name in enumerate(["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"]):
        status.value.add(name=name, number=number)
    response.field.add(name="status", number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_ENUM,
                       type_name=".grpc.health.v1.HealthCheckResponse.ServingStatus",
                       label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file_proto)
    factory = message_factory.MessageFactory(pool)
    return (factory.GetPrototype(pool.FindMessageTypeByName("grpc.health.v1.HealthCheckRequest")),
            factory.GetPrototype(pool.FindMessageTypeByName("grpc.health.v1.HealthCheckResponse")))


class Service:
    """One service binary running on a free loopback port."""

    def __init__(self, binary, work_dir, keys_file):
        self.stderr_path = os.path.join(work_dir, f"{binary}.stderr")
        self.process = subprocess.Popen(
            [os.path.join(BINARY_DIR, binary, binary), "--listen=127.0.0.1:0", "--metrics_listen=off",
             f"--data_dir={os.path.join(work_dir, binary)}", f"--api_keys_file={keys_file}"],
            stdout=subprocess.DEVNULL, stderr=open(self.stderr_path, "w"))
        deadline = time.time() + 30
        while time.time() < deadline:
            with open(self.stderr_path) as f:
                for line in f:
                    event = json.loads(line)
                    if event.get("msg") == "serving":
                        self.port = event["port"]
                        return
            if self.process.poll() is not None:
                raise RuntimeError(f"{binary} exited: {open(self.stderr_path).read()}")
            time.sleep(0.05)
        raise RuntimeError(f"{binary} did not start")

    def stop(self):
        self.process.terminate()
        return self.process.wait(timeout=30)


class PartnerClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work_dir = tempfile.mkdtemp(prefix="cxp_partner_")
        generate_client(os.path.join(cls.work_dir, "gen"))
        cls.keys_file = os.path.join(cls.work_dir, "api_keys")
        with open(cls.keys_file, "w") as f:
            f.write(f"partner {API_KEY}\n")
        cls.health_request, cls.health_response = health_messages()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work_dir, ignore_errors=True)

    def test_every_service_through_generated_client(self):
        import importlib
        for binary, full_name, module, stub_name, method, request_name in SERVICES:
            with self.subTest(service=binary):
                service = Service(binary, self.work_dir, self.keys_file)
                try:
                    channel = grpc.insecure_channel(f"127.0.0.1:{service.port}")
                    grpc.channel_ready_future(channel).result(timeout=10)

                    check = channel.unary_unary(
                        "/grpc.health.v1.Health/Check",
                        request_serializer=self.health_request.SerializeToString,
                        response_deserializer=self.health_response.FromString)
                    reply = check(self.health_request(service=full_name), timeout=5)
                    self.assertEqual(reply.status, 1, "SERVING")

                    messages = importlib.import_module(module + "_pb2")
                    stubs = importlib.import_module(module + "_pb2_grpc")
                    stub = getattr(stubs, stub_name)(channel)
                    request = getattr(messages, request_name)()
                    with self.assertRaises(grpc.RpcError) as no_key:
                        getattr(stub, method)(request, timeout=5)
                    self.assertEqual(no_key.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
                    # With the key the runtime lets the call through to the service.
                    try:
                        getattr(stub, method)(request, timeout=5,
                                              metadata=[("authorization", f"Bearer {API_KEY}")])
                    except grpc.RpcError as error:
                        self.assertNotEqual(error.code(), grpc.StatusCode.UNAUTHENTICATED, error.details())
                    channel.close()
                finally:
                    self.assertEqual(service.stop(), 0)

    def test_context_journey_handoff_and_change_stream_from_python(self):
        """What a CRM sync or a channel gateway written in Python does."""
        import importlib
        messages = importlib.import_module("cxp.context.v1.context_service_pb2")
        stubs = importlib.import_module("cxp.context.v1.context_service_pb2_grpc")
        events_module = importlib.import_module("cxp.context.v1.change_event_pb2")
        auth = [("authorization", f"Bearer {API_KEY}")]
        service = Service("context_service", self.work_dir, self.keys_file)
        try:
            channel = grpc.insecure_channel(f"127.0.0.1:{service.port}")
            grpc.channel_ready_future(channel).result(timeout=10)
            stub = stubs.ContextServiceStub(channel)
            watch = stub.WatchChanges(messages.WatchChangesRequest(after_sequence=0), metadata=auth,
                                      timeout=30)

            create = messages.CreateCustomerRequest(customer_id="py-1")
            identity = create.customer.identities.add().identity
            identity.kind = 1  # IDENTITY_KIND_PHONE
            identity.value = "010-5555-0001"
            stub.CreateCustomer(create, metadata=auth, timeout=5)
            start = messages.StartJourneyRequest(parent="customers/py-1", step="reported")
            start.journey.type = "missed_delivery"
            journey = stub.StartJourney(start, metadata=auth, timeout=5).journey
            handoff = messages.CreateHandoffRequest(assurance_level=3, source_channel=2)
            handoff.customer.customer = "customers/py-1"
            handoff.journey = journey.name
            token = stub.CreateHandoff(handoff, metadata=auth, timeout=5).token
            redeemed = stub.RedeemHandoff(messages.RedeemHandoffRequest(token=token, channel=1),
                                          metadata=auth, timeout=5)
            self.assertEqual(redeemed.customer_context.customer.name, "customers/py-1")
            self.assertEqual(redeemed.customer_context.open_journeys[0].name, journey.name)
            with self.assertRaises(grpc.RpcError) as reused:
                stub.RedeemHandoff(messages.RedeemHandoffRequest(token=token, channel=1),
                                   metadata=auth, timeout=5)
            self.assertEqual(reused.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)

            kinds = []
            for response in watch:
                kinds.append(response.change_event.kind)
                if response.change_event.kind == events_module.CHANGE_KIND_JOURNEY_STARTED:
                    break
            watch.cancel()
            self.assertEqual(kinds, [events_module.CHANGE_KIND_CUSTOMER_CREATED,
                                     events_module.CHANGE_KIND_JOURNEY_STARTED])
            channel.close()
        finally:
            self.assertEqual(service.stop(), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
