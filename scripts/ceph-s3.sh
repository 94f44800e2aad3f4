#!/usr/bin/env bash
# snapshelf's real S3 for tests, CI and benchmarks: a throwaway single-node Ceph RADOS Gateway
# (1 mon + 1 OSD on memstore + radosgw/beast), every socket on 127.0.0.1, no systemd, no mgr.
# Debian bookworm (ceph 16.2.15), run as root. Why Ceph: it checks SigV4 and payload hashes for
# real and implements conditional PUTs, which the pure-JS S3 fakes do not (see README).
#   scripts/ceph-s3.sh up      install packages with apt if missing, boot (idempotent), print S3_* env lines
#   scripts/ceph-s3.sh down    stop daemons by PID file (rgw, osd, mon), delete state
#   scripts/ceph-s3.sh status  exit 0 when the gateway answers
#   scripts/ceph-s3.sh env     print the S3_* env lines
#   scripts/ceph-s3.sh release PID   PID no longer uses the gateway; the last user out stops it
#                              if a test run booted it (CEPH_S3_USER set on `up`)
# Test runs share one gateway: `CEPH_S3_USER=<pid> ceph-s3.sh up` registers the run as a user, so
# one run's teardown never stops the gateway under another run still using it.
# Called by scripts/s3-server.mjs (ensureS3), which the vitest global setup and the bench use.
# env: CEPH_S3_DIR (/tmp/ceph-s3)  RGW_PORT (7480)  MON_PORT_V2 (3300)  MON_PORT_V1 (6789)
#      STORE (memstore | bluestore)  S3_ACCESS_KEY  S3_SECRET_KEY  S3_BUCKET (optional, created)
set -euo pipefail
D=${CEPH_S3_DIR:-/tmp/ceph-s3}
RGW_PORT=${RGW_PORT:-7480}; MON2=${MON_PORT_V2:-3300}; MON1=${MON_PORT_V1:-6789}
STORE=${STORE:-memstore}
AK=${S3_ACCESS_KEY:-ci-access-key}; SK=${S3_SECRET_KEY:-ci-secret-key-0123456789}
C="$D/ceph.conf"; T0=$(date +%s%N)
log() { echo "[ceph-s3 +$(( ($(date +%s%N) - T0) / 1000000 ))ms] $*" >&2; }
die() { log "FAILED: $*"; tail -n 20 "$D"/log/*.log >&2 2>/dev/null || true; exit 1; }
wait_for() { local n=$1; shift; for _ in $(seq 1 "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.25; done; return 1; }
# The daemon a PID file names, if it still runs. A PID file can outlive its daemon (a machine
# restored from a snapshot keeps /tmp): its number may now be any process's, this very test run's
# included, so a PID counts only while /proc says it is that daemon's binary.
daemon_of() { case "$1" in mon.a) echo ceph-mon ;; osd.0) echo ceph-osd ;; client.rgw.gw) echo radosgw ;; esac; }
live_pid() {
  local f="$D/run/$1.pid" p; [ -f "$f" ] || return 1
  p=$(cat "$f" 2>/dev/null) || return 1
  [[ "$p" =~ ^[0-9]+$ ]] && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$(daemon_of "$1")" ] && echo "$p"
}
alive() { live_pid "$1" >/dev/null; }
print_env() {
  echo "S3_ENDPOINT=http://127.0.0.1:$RGW_PORT"; echo "S3_REGION=us-east-1"
  echo "S3_ACCESS_KEY=$AK"; echo "S3_SECRET_KEY=$SK"
  [ -n "${S3_BUCKET:-}" ] && echo "S3_BUCKET=$S3_BUCKET"; return 0
}

down() {
  for n in client.rgw.gw osd.0 mon.a; do          # reverse start order
    p=$(live_pid "$n") || continue                  # never a stale PID: it may be anyone's now
    kill "$p" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$p" 2>/dev/null || break; sleep 0.25; done
    { [ "$(live_pid "$n")" = "$p" ] && kill -9 "$p" 2>/dev/null; } || true   # radosgw may hang once the mon is gone
  done
  rm -rf "$D"; log "stopped, $D removed"
}

up() {
  # 1. install (no-op when present)
  if [ -n "${FORCE_INSTALL:-}" ] || ! command -v radosgw >/dev/null || ! command -v ceph-osd >/dev/null || ! command -v ceph-mon >/dev/null || ! command -v curl >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends ceph-mon ceph-osd radosgw ceph-common curl >/dev/null
    log "installed $(ceph --version | cut -d' ' -f1-3)"
  else log "packages present ($(ceph --version | cut -d' ' -f3))"; fi

  # 2. idempotence: healthy cluster from an earlier run -> reuse it
  if alive mon.a && alive osd.0 && alive client.rgw.gw && curl -fsS -o /dev/null "http://127.0.0.1:$RGW_PORT/"; then
    log "already running"; make_bucket; register; print_env; return 0
  fi
  [ -d "$D" ] && down
  mkdir -p "$D"/{run,log,mon.a,osd.0}

  # 3. config + keys + monmap
  FSID=$(cat /proc/sys/kernel/random/uuid)
  cat > "$C" <<EOF
[global]
fsid = $FSID
mon host = [v2:127.0.0.1:$MON2,v1:127.0.0.1:$MON1]
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv6 = false
keyring = $D/keyring
run dir = $D/run
admin socket = $D/run/\$name.asok
pid file = $D/run/\$name.pid
log file = $D/log/\$name.log
crash dir = $D/crash
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon max pg per osd = 1000
mon warn on pool no redundancy = false
mon warn on insecure global id reclaim allowed = false
mon data avail warn = 1
mon data avail crit = 0
# the big boot-time win: pool creation by radosgw goes from ~9 s to <1 s
paxos propose interval = 0.05
paxos min wait = 0.01
[mon]
mon data = $D/mon.\$id
[osd]
osd data = $D/osd.\$id
keyring = $D/osd.\$id/keyring
osd objectstore = $STORE
memstore device bytes = 4294967296
bluestore block path = $D/osd.\$id/block
bluestore block create = true
bluestore block size = 10737418240
osd max object name len = 2048
osd max object namespace len = 64
[client.rgw.gw]
keyring = $D/rgw.keyring
# tcp_nodelay: without it beast holds every response under ~64 KB for the client's delayed ACK
# (~40 ms), which no real S3 or R2 does, and every small GET in the tests and bench crawls.
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT tcp_nodelay=1
rgw dns name = localhost
rgw thread pool size = 64
EOF
  ceph-authtool --create-keyring "$D/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool "$D/keyring" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' >/dev/null
  monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$MON2,v1:127.0.0.1:$MON1]" "$D/monmap" >/dev/null

  # 4. mon
  ceph-mon -c "$C" --mkfs -i a --monmap "$D/monmap" --keyring "$D/keyring" 2>>"$D/log/mkfs.log"
  ceph-mon -c "$C" -i a 9>&-   # daemons must not inherit the lock fd
  wait_for 120 ceph -c "$C" --connect-timeout 5 mon stat || die "mon did not answer"
  log "mon up (127.0.0.1:$MON2/$MON1)"

  # 5. osd
  OSD_UUID=$(cat /proc/sys/kernel/random/uuid)
  [ "$(ceph -c "$C" osd new "$OSD_UUID")" = 0 ] || die "unexpected osd id"
  ceph-osd -c "$C" -i 0 --no-mon-config --mkfs --mkkey --osd-uuid "$OSD_UUID" 2>>"$D/log/mkfs.log"
  ceph -c "$C" auth add osd.0 osd 'allow *' mon 'allow profile osd' mgr 'allow profile osd' -i "$D/osd.0/keyring" 2>>"$D/log/mkfs.log"
  ceph-osd -c "$C" -i 0 2>>"$D/log/mkfs.log" 9>&-
  osd_up() { ceph -c "$C" osd dump | grep -q '^osd.0 up'; }
  wait_for 240 osd_up || die "osd did not come up"
  log "osd.0 up ($STORE)"

  # 6. radosgw
  ceph -c "$C" auth get-or-create client.rgw.gw mon 'allow rw' osd 'allow rwx' mgr 'allow rw' -o "$D/rgw.keyring"
  radosgw -c "$C" -n client.rgw.gw 9>&-
  wait_for 240 curl -fsS -o /dev/null "http://127.0.0.1:$RGW_PORT/" || die "radosgw did not answer"
  log "radosgw answering on 127.0.0.1:$RGW_PORT"

  # 7. S3 user (+ optional bucket)
  radosgw-admin -c "$C" user create --uid=ci --display-name=ci --access-key="$AK" --secret-key="$SK" >/dev/null 2>>"$D/log/admin.log" \
    || die "user create failed"
  make_bucket
  [ -n "${CEPH_S3_USER:-}" ] && touch "$D/autostarted"
  register
  log "ready"
  print_env
}

register() {
  [ -n "${CEPH_S3_USER:-}" ] || return 0
  mkdir -p "$D/users"; touch "$D/users/$CEPH_S3_USER"
}

release() {
  [ -d "$D" ] || return 0
  rm -f "$D/users/${1:?usage: release PID}"
  for f in "$D"/users/*; do [ -e "$f" ] || continue; kill -0 "$(basename "$f")" 2>/dev/null || rm -f "$f"; done
  local left; left=$(find "$D/users" -type f 2>/dev/null | wc -l)
  if [ "$left" -gt 0 ]; then log "still used by $left run(s), left running"
  elif [ -f "$D/autostarted" ]; then down
  else log "started by hand, left running (scripts/ceph-s3.sh down stops it)"; fi
}

# Creating a bucket you already own answers 200 (us-east-1 semantics) or 409 BucketAlreadyOwnedByYou.
make_bucket() {
  [ -n "${S3_BUCKET:-}" ] || return 0
  local code
  code=$(curl -sS -o /dev/null -w '%{http_code}' -X PUT --aws-sigv4 "aws:amz:us-east-1:s3" --user "$AK:$SK" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "http://127.0.0.1:$RGW_PORT/$S3_BUCKET") || die "bucket create failed"
  case "$code" in 200|409) ;; *) die "bucket create answered $code" ;; esac
}

# Test runs in parallel (several vitest processes, a bench) may all call `up` at once: serialise
# up/down on a lock so one boots and the others then find it running.
lock() { exec 9>"${D%/}.lock"; flock -w 600 9 || die "could not take ${D%/}.lock"; }

case "${1:-up}" in
  up) lock; up ;;
  down|stop) lock; down ;;
  release) lock; release "${2:-}" ;;
  env) print_env ;;
  status) curl -fsS -o /dev/null "http://127.0.0.1:$RGW_PORT/" ;;
  *) echo "usage: $0 up|down|status|env|release PID" >&2; exit 2 ;;
esac
