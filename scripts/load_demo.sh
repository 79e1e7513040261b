#!/usr/bin/env bash
# Loads the demo data set (deploy/demo/demo.json: a parcel-delivery business
# with customers, a journey, queues, agents, templates and a trigger rule)
# into a running platform with `cxpctl apply`, then prints commands to try on
# it (each printed line is a command or a "#" comment; tests/cxpctl runs
# every command). Waits up to 30 s for each service to accept connections
# first, so it can run right after the services start (scripts/run.sh --demo
# does). Safe to run again: what exists is reported "unchanged" and left as
# it is.
#
# Usage: scripts/load_demo.sh [cxpctl global flags...]
#   With no flags: the local ports of scripts/run.sh, no API key. Otherwise
#   e.g. --context HOST:PORT --routing HOST:PORT --notify HOST:PORT
#   --api_key_file FILE; the flags are repeated in the printed commands.
# Uses $CXP_BUILD_DIR/cxpctl/cxpctl (default build/ in the repository).
# Exit status: cxpctl's (0 loaded, 1 a call failed, 2 the file is invalid).
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${CXP_BUILD_DIR:-$REPO_ROOT/build}"
CXPCTL="$BUILD_DIR/cxpctl/cxpctl"
DEMO_FILE="$REPO_ROOT/deploy/demo/demo.json"

echo "cxp: loading the demo data set ($DEMO_FILE)" >&2
"$CXPCTL" --wait 30s "$@" apply --file "$DEMO_FILE"

# The printed commands: cxpctl relative to the current directory when it is
# below it, with the flags given to this script.
shown="${CXPCTL#"$PWD"/}"
for flag in "$@"; do shown+=" $(printf '%q' "$flag")"; done
cat <<EOF

Demo data loaded. Try:
  $shown customer resolve phone 010-2345-6789   # Park Jiwoo, a VIP
  $shown customer context phone:010-3456-7890   # Lee Seoyeon and her missed-delivery journey
  $shown queue stats   # delivery and billing (agents start offline)

  # Routing: open Kim Minji's desk in a second terminal (Ctrl-C closes it), then submit a task here
  $shown agent desk agents/minji --accept --wrap_up_notes "redelivery booked"   # sets her AVAILABLE, accepts and completes each offer
  $shown task submit --queue queues/delivery --customer phone:010-2345-6789 --channel VOICE   # VIP: priority raised, offered to minji

  # The trigger rule: rescheduling the missed delivery sends Lee Seoyeon delivery-update (SMS, else email: ./data/smtp-sink/new)
  $shown journey advance customers/lee-seoyeon/journeys/parcel-551233810042 --step rescheduled --attr delivery_date=tomorrow --note "customer chose tomorrow"

  # Notifications: a service message, then marketing, which needs the customer's consent (refused without it)
  $shown notify send --customer email:emily.clark@example.com --template templates/delivery-update --var tracking_number=551233810099 --var delivery_date=tomorrow --idempotency_key demo-1   # by email, in English (Korean for ko customers)
  $shown consent set email:emily.clark@example.com --channel EMAIL --purpose MARKETING --state GRANTED --source demo
  $shown notify send --customer email:emily.clark@example.com --template templates/spring-promo --purpose MARKETING --var end_date=2027-04-30 --idempotency_key demo-promo-1
EOF
