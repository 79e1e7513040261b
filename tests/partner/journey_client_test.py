#!/usr/bin/python3
"""The partner example clients (clients/python, clients/node) run their journey
against the three real services and every step checks out.

Usage: journey_client_test.py python|node. Starts context_service, then
routing_service and notify_service pointed at it (each with an API-key file,
on free loopback ports), runs the client's journey script with the key, and
checks its JSON summary; then runs it once with a wrong key, which must fail
with UNAUTHENTICATED. Run by ctest with CXP_BINARY_DIR and CXP_SOURCE_DIR set.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

BINARY_DIR = os.environ.get("CXP_BINARY_DIR", "build")
SOURCE_DIR = os.environ.get("CXP_SOURCE_DIR", ".")
CLIENT = sys.argv.pop(1) if len(sys.argv) > 1 else "python"
API_KEY = "partner-journey-key-0123456789"


class Service:
    """One service binary on a free loopback port; `port` is read from its 'serving' log line."""

    def __init__(self, binary, work_dir, extra_flags=()):
        self.binary = binary
        self.stderr_path = os.path.join(work_dir, f"{binary}.stderr")
        with open(self.stderr_path, "w") as stderr:
            self.process = subprocess.Popen(
                [os.path.join(BINARY_DIR, binary, binary), "--listen=127.0.0.1:0", "--metrics_listen=off",
                 f"--data_dir={os.path.join(work_dir, binary)}",
                 f"--api_keys_file={os.path.join(work_dir, 'api_keys')}", *extra_flags],
                stdout=subprocess.DEVNULL, stderr=stderr)
        deadline = time.time() + 30
        while time.time() < deadline:
            with open(self.stderr_path) as f:
                for line in f:
                    if line.startswith("{") and json.loads(line).get("msg") == "serving":
                        self.address = f"127.0.0.1:{json.loads(line)['port']}"
                        return
            if self.process.poll() is not None:
                raise RuntimeError(f"{binary} exited: {open(self.stderr_path).read()}")
            time.sleep(0.05)
        self.process.kill()
        self.process.wait()
        raise RuntimeError(f"{binary} did not log 'serving' in 30 s: {open(self.stderr_path).read()!r}")

    def stop(self):
        self.process.terminate()
        return self.process.wait(timeout=30)


class JourneyClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work_dir = tempfile.mkdtemp(prefix=f"cxp_{CLIENT}_journey_")
        keys_file = os.path.join(cls.work_dir, "api_keys")
        with open(keys_file, "w") as f:
            f.write(f"partner {API_KEY}\n")
        if CLIENT == "python":
            gen = os.path.join(cls.work_dir, "gen")
            subprocess.run([os.path.join(SOURCE_DIR, "clients/python/generate.sh"), gen], check=True)
            cls.command = ["/usr/bin/python3", os.path.join(SOURCE_DIR, "clients/python/journey.py")]
            cls.env = {"PYTHONPATH": gen}
        else:
            client_dir = os.path.join(SOURCE_DIR, "clients/node")
            if not os.path.isdir(os.path.join(client_dir, "node_modules/@grpc/grpc-js")):
                raise RuntimeError("clients/node/node_modules missing: run scripts/install_deps.sh")
            cls.command = ["node", os.path.join(client_dir, "journey.js")]
            cls.env = {}
        cls.services = []
        try:
            context = Service("context_service", cls.work_dir)
            cls.services.append(context)
            # Generous context deadlines: the test machine is small and shared.
            downstream = [f"--context_service={context.address}", f"--context_api_keys_file={keys_file}",
                          "--context_timeout=2s"]
            cls.services.append(Service("routing_service", cls.work_dir, downstream))
            cls.services.append(Service("notify_service", cls.work_dir, downstream))
        except Exception:
            cls.tearDownClass()  # unittest skips it when setUpClass fails
            raise

    @classmethod
    def tearDownClass(cls):
        codes = [service.stop() for service in reversed(cls.services)]
        shutil.rmtree(cls.work_dir, ignore_errors=True)
        assert codes == [0] * len(codes), f"services exited with {codes}"

    def journey(self, api_key, suffix):
        addresses = [f"--context={self.services[0].address}", f"--routing={self.services[1].address}",
                     f"--notify={self.services[2].address}"]
        return subprocess.run(self.command + addresses + ["--timeout=5", f"--suffix={suffix}"],
                              env={**os.environ, **self.env, "CXP_API_KEY": api_key},
                              capture_output=True, text=True, timeout=60)

    def test_1_journey_through_all_three_services(self):
        run = self.journey(API_KEY, "a1")
        print(run.stderr, file=sys.stderr)
        self.assertEqual(run.returncode, 0, run.stderr)
        s = json.loads(run.stdout)
        # Context: the number typed as 010-1234-5678 found the customer created with +82 10-1234-5678.
        self.assertEqual(s["customer"], "customers/kim-a1")
        self.assertEqual(s["resolved"], s["customer"])
        self.assertEqual(s["resolved_display_name"], "Kim Minji")
        self.assertEqual(s["phone"], "+821012345678")
        self.assertTrue(s["journey"].startswith("customers/kim-a1/journeys/"), s["journey"])
        self.assertEqual(s["journey_type"], "missed_delivery")
        self.assertTrue(s["interaction"].startswith("customers/kim-a1/interactions/"), s["interaction"])
        # Routing: offered to and accepted by the Korean-speaking delivery agent, with customer context.
        self.assertEqual(s["queue"], "queues/delivery-a1")
        self.assertEqual(s["agent"], "agents/agent-a1")
        self.assertEqual(s["offered_task"], s["task"])
        self.assertEqual(s["task_agent"], s["agent"])
        self.assertEqual(s["chosen_agent"], s["agent"])
        self.assertEqual(s["task_state"], "STATE_ACCEPTED")
        self.assertEqual(s["enrichment_status"], "STATUS_APPLIED")
        self.assertEqual(s["enrichment_customer"], s["customer"])
        # Notify: one notification for the idempotency key, with the template version it was sent with.
        self.assertEqual(s["template"], "templates/redelivery-a1")
        self.assertEqual(s["template_version"], 1)
        self.assertEqual(s["notification_template"], s["template"])
        self.assertEqual(s["notification_template_version"], 1)
        self.assertEqual(s["repeated_send"], s["notification"])
        self.assertEqual(s["notification_customer"], s["customer"])
        self.assertEqual(s["idempotency_key"], "redelivery:a1")

    def test_2_wrong_api_key_fails_with_unauthenticated(self):
        run = self.journey("not-a-key", "b2")
        self.assertEqual(run.returncode, 1, run.stdout + run.stderr)
        self.assertIn("journey failed: UNAUTHENTICATED", run.stderr)
        self.assertEqual(run.stdout, "")


if __name__ == "__main__":
    unittest.main(verbosity=2)
