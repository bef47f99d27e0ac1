# shellcheck shell=bash
# Helpers shared by scripts/compose-e2e, scripts/compose-cluster-e2e and
# scripts/qemu-arm (sourced, not run).

# log MSG... prints a progress line with the seconds since the start.
log() { printf '[%s +%3ss] %s\n' "${LOG_NAME:-test}" "$SECONDS" "$*"; }

# die MSG... prints MSG and fails.
die() {
	printf '%s: FAIL: %s\n' "${LOG_NAME:-test}" "$*" >&2
	exit 1
}

# free_port prints a TCP port that is free on 127.0.0.1 right now.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_until SECONDS WHAT CMD... retries CMD every 0.2 s until it succeeds,
# for at most SECONDS; fails naming WHAT.
wait_until() {
	local limit=$1 what=$2
	shift 2
	local deadline=$((SECONDS + limit))
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$deadline" ] || die "$what: not within ${limit}s"
		sleep 0.2
	done
}

# http_ok URL: the URL answers 2xx.
http_ok() { curl -fsS --max-time 3 "$1" >/dev/null; }

# at_open HOST PORT opens a relay session on fd 3.
at_open() { exec 3<>"/dev/tcp/$1/$2"; }

# at_close closes the session on fd 3.
at_close() { exec 3>&- 3<&-; }

# at_send BYTES sends BYTES (printf %b escapes allowed, e.g. \r, \x1a) and a
# heartbeat.
at_send() { printf '%b<heartbeat>' "$1" >&3; }

# at_expect PATTERN SECONDS reads from fd 3 until the bytes read contain
# PATTERN (a glob) or a final error, for at most SECONDS. The bytes are left
# in $AT_REPLY. Fails on ERROR or a timeout.
at_expect() {
	local pattern=$1 limit=$2 chunk
	local deadline=$((SECONDS + limit))
	AT_REPLY=
	while [ "$SECONDS" -lt "$deadline" ]; do
		# a line at a time; a prompt ("> ", no newline) arrives at the timeout
		chunk=
		if IFS= read -r -t 0.5 chunk <&3; then AT_REPLY+=$chunk$'\n'; else AT_REPLY+=$chunk; fi
		# shellcheck disable=SC2053 # PATTERN is a glob on purpose
		if [[ $AT_REPLY == $pattern ]]; then return 0; fi
		case $AT_REPLY in *ERROR*) die "modem answered an error: $(printf '%q' "$AT_REPLY")" ;; esac
		printf '<heartbeat>' >&3
	done
	die "no $(printf '%q' "$pattern") within ${limit}s; got $(printf '%q' "$AT_REPLY")"
}

# The SMS-SUBMIT PDU of docs/modem-facts.md (TS 23.040): "hellohello"
# to +46708251358, 23 TPDU octets, no SMSC (00).
# shellcheck disable=SC2034 # used by the scripts that source this file
SMS_PDU=0011000B916407281553F80000AA0AE8329BFD4697D9EC37
SMS_PDU_LEN=23
export SMS_TO=+46708251358
export SMS_TEXT=hellohello

# at_send_sms HOST PORT sends SMS_PDU through the relay in PDU mode.
at_send_sms() {
	at_open "$1" "$2"
	at_send 'ATE0\r'
	at_expect '*OK*' 5
	at_send 'AT+CMGF=0\r'
	at_expect '*OK*' 5
	at_send "AT+CMGS=$SMS_PDU_LEN\\r"
	at_expect '*> ' 10
	at_send "$SMS_PDU\\x1a"
	at_expect '*+CMGS: *OK*' 30
	log "relay: SMS accepted by the modem: $(printf '%q' "$AT_REPLY")"
	at_close
}

# sent_has CONTROL_URL TO TEXT: the simulator's GET /sent lists an SMS to TO
# with TEXT.
sent_has() {
	curl -fsS --max-time 3 "$1/sent" | python3 -c '
import json, sys
to, text = sys.argv[1], sys.argv[2]
sent = json.load(sys.stdin)
items = sent if isinstance(sent, list) else sent.get("sent", sent.get("messages", []))
ok = any(to in json.dumps(m, ensure_ascii=False) and text in json.dumps(m, ensure_ascii=False) for m in items)
sys.exit(0 if ok else 1)' "$2" "$3"
}

# standin_prometheus_image DIR TAG builds the image TAG in DIR (a scratch
# directory): no registry here, so no prom/prometheus, but a stand-in for
# the stacks' `prometheus` service (PROMETHEUS_IMAGE), FROM scratch with
# Debian's prometheus binary and the C libraries it links (ldd), run as
# nobody like the official image.
standin_prometheus_image() {
	local pctx=$1/prom-image tag=$2 lib
	mkdir -p "$pctx/root/bin" "$pctx/empty"
	cp "$(command -v prometheus)" "$pctx/root/bin/prometheus"
	while read -r lib; do
		mkdir -p "$pctx/root$(dirname "$lib")"
		cp -L "$lib" "$pctx/root$lib"
	done < <(ldd "$(command -v prometheus)" | grep -oE '/[^ ]+' | sort -u)
	cat >"$pctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY root/ /
COPY --chown=65534:65534 empty/ /prometheus/
USER 65534:65534
ENTRYPOINT ["/bin/prometheus"]
DOCKERFILE
	DOCKER_BUILDKIT=0 timeout 300 docker build -q -t "$tag" "$pctx" >/dev/null 2>"$1/prom-build.log" ||
		die "stand-in Prometheus image: $(cat "$1/prom-build.log")"
}
