#!/usr/bin/env bash
# cluster-entrypoint.sh: what each host of a Hearth cluster runs, in one script with modes. The
# containers of docker-compose.yml run it, and so does tests/compose/netns_cluster_e2e_test.sh (one
# network namespace per host), so the container topology is tested code. Hosts share one
# directory ($HEARTH_SHARED: the SSH key pair and a hosts/ entry per worker) and the datasets at
# the same path ($HEARTH_DATA); nothing else is shared. Run it with --help for the modes.
set -uo pipefail

prog=cluster-entrypoint.sh
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() {
  cat <<'EOF'
usage: cluster-entrypoint.sh MODE

modes:
  worker       create the shared SSH key pair if missing, authorise its public key, announce
               this host in $HEARTH_SHARED/hosts/, and run sshd in the foreground
  coordinator  wait for $HEARTH_MIN_WORKERS workers, write the hostfile, run hearthd on them
               (mpirun reaches the workers over SSH with the shared key)
  hostfile     print an Open MPI hostfile of the announced workers whose sshd answers
  hearthrun    launch/hearthrun with this cluster's --ssh-key/--ssh-port/--net (hearthd calls
               it through HEARTH_HEARTHRUN; arguments are passed on)
  fetch-mnist  put MNIST into $HEARTH_DATA/data/mnist (what examples/jobs/mnist_*.json read)

environment (container defaults):
  HEARTH_SHARED=/shared            shared dir: ssh/ key pair, hosts/ worker entries
  HEARTH_DATA=/data                datasets; hearthd's data root (relative job paths resolve here)
  HEARTH_STATE=/var/lib/hearth     hearthd's --data-dir (database, logs, checkpoints)
  HEARTH_SSH_PORT=2222             port of every worker's sshd
  HEARTH_SSHD_DIR=~/.hearth-sshd/NAME   a worker's private sshd files (host key, pid, keys)
  HEARTH_WORKER_NAME=$(hostname)   a worker's entry name in hosts/
  HEARTH_WORKER_ADDR               a worker's address as mpirun should dial it (default: the
                                   first non-loopback IPv4 address)
  HEARTH_WORKER_SLOTS=1            ranks a worker takes
  HEARTH_SSHD_LOG_LEVEL=ERROR      a worker's sshd LogLevel (VERBOSE shows logins and key errors)
  HEARTH_LISTEN=0.0.0.0:7411       hearthd's --listen
  HEARTH_SERVE_LISTEN              hearthd's --serve-listen: serve deployed models over HTTP here
                                   (with the same token and TLS); default: not over HTTP
  HEARTH_WORKER_ADDRESS            how workers reach hearthd (default: this host's address and
                                   the --listen port)
  HEARTH_TOKEN_FILE=/run/secrets/hearth_token   the API token (hearthd --token-file)
  HEARTH_TLS_CERT=$HEARTH_SHARED/tls/hearthd.crt  hearthd's TLS certificate, also the CA that
                                   clients and workers trust (hearth --ca); made self-signed for
                                   this host's address (and 127.0.0.1) at every start unless given
  HEARTH_TLS_KEY=$HEARTH_STATE/tls/hearthd.key    its private key (coordinator only)
  HEARTH_INSECURE=0                1: run hearthd without a token or TLS (--insecure)
  HEARTH_NET                       CIDR for MPI traffic (hearthrun --net); default: Open MPI's choice
  HEARTH_BIND                      hearthrun --bind (none when the hosts share cores: containers or
                                   namespaces on one machine, where every host's rank 0 would
                                   otherwise be bound to the same core 0)
  HEARTH_MIN_WORKERS=1             workers to wait for before starting hearthd
  HEARTH_WAIT_SECONDS=300          how long to wait for them
  HEARTH_SLOTS                     hearthd --slots (default: the slots found at start)
  HEARTH_REFRESH_SECONDS=10        how often the coordinator rewrites the hostfile (scaling)
  HEARTH_BIN_DIR                   where hearth and hearthd are (default: PATH, else build/bin)
EOF
}

die() {
  echo "$prog: $*" >&2
  exit 1
}
log() { echo "$prog: $*" >&2; }

shared=${HEARTH_SHARED:-/shared}
data=${HEARTH_DATA:-/data}
state=${HEARTH_STATE:-/var/lib/hearth}
ssh_port=${HEARTH_SSH_PORT:-2222}
key=$shared/ssh/id_ed25519
hosts_dir=$shared/hosts

[[ $ssh_port =~ ^[1-9][0-9]*$ ]] || die "HEARTH_SSH_PORT must be a port number, not '$ssh_port'"

# The first non-loopback IPv4 address: the one other hosts reach us at.
my_addr() {
  ip -o -4 addr show scope global 2>/dev/null | awk '{sub(/\/.*/, "", $4); print $4; exit}'
}

# PATH first (the image), then the build tree next to this script (a source checkout).
find_bin() {
  local name=$1
  if [ -n "${HEARTH_BIN_DIR:-}" ]; then
    [ -x "$HEARTH_BIN_DIR/$name" ] || die "HEARTH_BIN_DIR=$HEARTH_BIN_DIR has no executable '$name'"
    echo "$HEARTH_BIN_DIR/$name"
  elif command -v "$name" >/dev/null; then
    command -v "$name"
  elif [ -x "$here/../build/bin/$name" ]; then
    echo "$(cd "$here/../build/bin" && pwd)/$name"
  else
    die "cannot find '$name' (set HEARTH_BIN_DIR, put it on PATH, or build with launch/setup.sh)"
  fi
}

# The shared key pair: the first host to get the lock creates it; the others wait and reuse it.
ensure_key() {
  mkdir -p "$shared/ssh" 2>/dev/null || die "cannot create $shared/ssh (is HEARTH_SHARED=$shared writable?)"
  command -v ssh-keygen >/dev/null || die "ssh-keygen is missing (apt-get install openssh-client)"
  (
    flock -w 60 9 || die "timed out waiting for the lock $shared/ssh/.lock"
    if [ ! -s "$key" ] || [ ! -s "$key.pub" ]; then
      rm -f "$key" "$key.pub"
      ssh-keygen -q -t ed25519 -N '' -C "hearth-cluster" -f "$key" ||
        die "ssh-keygen could not write $key"
      log "created the cluster's SSH key pair $key"
    fi
    chmod 600 "$key"
  ) 9>>"$shared/ssh/.lock" || exit 1
}

# Worker entries that answer: "ADDR slots=S" lines. An entry is "ADDR PORT SLOTS"; a stopped
# worker's entry stays until its sshd answers again, so stale entries are skipped, not trusted.
live_hostfile() {
  local f addr port slots
  [ -d "$hosts_dir" ] || return 0
  for f in "$hosts_dir"/*; do
    [ -f "$f" ] || continue
    read -r addr port slots <"$f" || continue
    if [ -z "$addr" ] || [ -z "$port" ]; then continue; fi
    # shellcheck disable=SC2016 # $1 and $2 are the inner shell's
    if timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$addr" "$port" 2>/dev/null; then
      echo "$addr slots=${slots:-1}"
    fi
  done | sort -u
}

# Rewrites FILE atomically so mpirun never reads half a hostfile; prints its slot count.
write_hostfile() {
  local file=$1 tmp
  tmp=$(mktemp "$file.XXXXXX") || return 1
  live_hostfile >"$tmp"
  if [ -s "$tmp" ]; then
    chmod 644 "$tmp"
    mv -f "$tmp" "$file"
  else
    rm -f "$tmp"
  fi
  awk '{n = 1; if (match($0, /slots=[0-9]+/)) n = substr($0, RSTART + 6, RLENGTH - 6); s += n}
       END {print s + 0}' "$file" 2>/dev/null || echo 0
}

run_worker() {
  local name=${HEARTH_WORKER_NAME:-$(hostname)}
  local addr=${HEARTH_WORKER_ADDR:-$(my_addr)}
  local slots=${HEARTH_WORKER_SLOTS:-1}
  local dir=${HEARTH_SSHD_DIR:-$HOME/.hearth-sshd/$name}
  local sshd user entry pid
  [[ $name =~ ^[A-Za-z0-9._-]+$ ]] || die "HEARTH_WORKER_NAME '$name' must be letters, digits, . _ -"
  [ -n "$addr" ] || die "no IPv4 address found for this worker; set HEARTH_WORKER_ADDR"
  [[ $slots =~ ^[1-9][0-9]*$ ]] || die "HEARTH_WORKER_SLOTS must be a positive number, not '$slots'"
  sshd=$(command -v sshd || echo /usr/sbin/sshd)
  [ -x "$sshd" ] || die "sshd is missing (apt-get install openssh-server)"
  user=$(id -un)

  ensure_key
  # sshd's StrictModes wants the keys file and every directory above it unwritable by others.
  mkdir -p "$dir" || die "cannot create $dir (HEARTH_SSHD_DIR)"
  chmod 700 "$dir"
  [ -s "$dir/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$dir/ssh_host_ed25519_key" ||
    die "cannot create a host key in $dir"
  install -m 600 "$key.pub" "$dir/authorized_keys" || die "cannot install $key.pub as $dir/authorized_keys"
  cat >"$dir/sshd_config" <<EOF
# Written by $prog: a user-level sshd for mpirun's daemons (key login only).
Port $ssh_port
HostKey $dir/ssh_host_ed25519_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
AllowUsers $user
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
X11Forwarding no
AllowAgentForwarding no
PrintMotd no
MaxStartups 64:30:128
# The liveness probes (healthchecks, hostfile refreshes) would log two lines each at INFO.
LogLevel ${HEARTH_SSHD_LOG_LEVEL:-ERROR}
EOF
  # Root's sshd separates privileges into this directory; a user's sshd does not.
  [ "$EUID" != 0 ] || mkdir -p /run/sshd
  "$sshd" -t -f "$dir/sshd_config" || die "sshd rejected $dir/sshd_config"

  "$sshd" -D -e -f "$dir/sshd_config" &
  pid=$!
  # Announce only once sshd answers, so the coordinator never lists a host it cannot reach.
  for _ in $(seq 1 100); do
    # shellcheck disable=SC2016 # $1 and $2 are the inner shell's
    timeout 1 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$addr" "$ssh_port" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || die "sshd exited at start (port $ssh_port in use?)"
    sleep 0.1
  done
  mkdir -p "$hosts_dir" || die "cannot create $hosts_dir"
  entry=$hosts_dir/$name
  echo "$addr $ssh_port $slots" >"$entry.tmp" && mv -f "$entry.tmp" "$entry"
  log "worker $name: sshd on $addr:$ssh_port as $user, announced in $entry"
  # shellcheck disable=SC2064 # expand now: these are this worker's own pid and entry
  trap "kill -TERM $pid 2>/dev/null; rm -f '$entry'; exit 143" TERM INT
  wait "$pid"
  local rc=$?
  rm -f "$entry"
  log "worker $name: sshd exited with status $rc"
  return "$rc"
}

run_hearthrun() {
  local run=${HEARTH_LAUNCH_DIR:-$here}/hearthrun
  [ -x "$run" ] || die "cannot find hearthrun at $run (set HEARTH_LAUNCH_DIR)"
  [ -r "$key" ] || die "cannot read the cluster's SSH key $key (did a worker start?)"
  exec "$run" --ssh-key "$key" --ssh-port "$ssh_port" ${HEARTH_NET:+--net "$HEARTH_NET"} \
    ${HEARTH_BIND:+--bind "$HEARTH_BIND"} "$@"
}

# A self-signed certificate (and its key) for hearthd's TLS, valid for this host's address, the
# name "coordinator" and loopback: the token must not cross the network in clear text.
make_tls() {
  local cert=$1 tls_key=$2 addr=$3 san="DNS:coordinator,DNS:localhost,IP:127.0.0.1"
  [ -n "$addr" ] && san="$san,IP:$addr"
  mkdir -p "$(dirname "$cert")" "$(dirname "$tls_key")" || die "cannot create the TLS directories"
  command -v openssl >/dev/null || die "openssl is needed to make hearthd's TLS certificate" \
    "(apt-get install openssl), or give HEARTH_TLS_CERT and HEARTH_TLS_KEY"
  (umask 077 && openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=hearthd" \
    -addext "subjectAltName=$san" -keyout "$tls_key.tmp" -out "$cert.tmp" 2>/dev/null) ||
    die "openssl could not make a certificate for $san"
  chmod 644 "$cert.tmp"
  mv "$tls_key.tmp" "$tls_key" && mv "$cert.tmp" "$cert" || die "cannot write $cert"
  log "coordinator: TLS certificate for $san in $cert (clients: --ca $cert)"
}

run_coordinator() {
  local hearthd listen port addr worker_address hostfile slots min wait_s refresh token_args=()
  local wrapper pid refresher="" deadline
  hearthd=$(find_bin hearthd) || exit 1
  find_bin hearth >/dev/null || exit 1
  listen=${HEARTH_LISTEN:-0.0.0.0:7411}
  port=${listen##*:}
  min=${HEARTH_MIN_WORKERS:-1}
  wait_s=${HEARTH_WAIT_SECONDS:-300}
  refresh=${HEARTH_REFRESH_SECONDS:-10}
  [[ $min =~ ^[0-9]+$ ]] || die "HEARTH_MIN_WORKERS must be a number, not '$min'"
  [[ $refresh =~ ^[0-9]+$ ]] || die "HEARTH_REFRESH_SECONDS must be a number, not '$refresh'"
  if [ "${HEARTH_INSECURE:-0}" = 1 ]; then
    token_args=(--insecure)
  else
    local token=${HEARTH_TOKEN_FILE:-/run/secrets/hearth_token}
    [ -r "$token" ] || die "cannot read the token file $token (HEARTH_TOKEN_FILE; make one with" \
      "head -c 32 /dev/urandom | base64 > FILE), or set HEARTH_INSECURE=1"
    token_args=(--token-file "$token")
  fi
  [ -d "$data" ] || die "the data root $data does not exist (HEARTH_DATA)"
  mkdir -p "$state" || die "cannot create $state (HEARTH_STATE)"
  addr=$(my_addr)
  worker_address=${HEARTH_WORKER_ADDRESS:-${addr:-127.0.0.1}:$port}
  if [ "${HEARTH_INSECURE:-0}" != 1 ]; then
    local cert=${HEARTH_TLS_CERT:-$shared/tls/hearthd.crt} tls_key=${HEARTH_TLS_KEY:-$state/tls/hearthd.key}
    if [ -z "${HEARTH_TLS_CERT:-}" ]; then make_tls "$cert" "$tls_key" "$addr"; fi
    token_args+=(--tls-cert "$cert" --tls-key "$tls_key")
  fi

  ensure_key
  hostfile=$state/hostfile
  deadline=$((SECONDS + wait_s))
  while :; do
    slots=$(write_hostfile "$hostfile")
    [ "$slots" -ge "$min" ] && break
    [ "$SECONDS" -lt "$deadline" ] || die "only $slots of $min worker slot(s) answered on port" \
      "$ssh_port within ${wait_s}s (entries in $hosts_dir: $(find "$hosts_dir" -type f -printf '%f ' 2>/dev/null))"
    sleep 1
  done
  slots=${HEARTH_SLOTS:-$slots}
  log "coordinator: $slots slot(s) on: $(awk '{print $1}' "$hostfile" | tr '\n' ' ')"

  # hearthd starts workers through HEARTH_HEARTHRUN: this script's hearthrun mode adds the SSH flags.
  wrapper=$state/cluster-hearthrun
  if ! printf '#!/usr/bin/env bash\nexec %q hearthrun "$@"\n' "$here/$prog" >"$wrapper" ||
    ! chmod 755 "$wrapper"; then
    die "cannot write $wrapper"
  fi
  export HEARTH_HEARTHRUN=$wrapper

  serve_args=()
  [ -n "${HEARTH_SERVE_LISTEN:-}" ] && serve_args=(--serve-listen "$HEARTH_SERVE_LISTEN")
  "$hearthd" --listen "$listen" --data-dir "$state" --data-root "$data" --hostfile "$hostfile" \
    --slots "$slots" --worker-address "$worker_address" "${token_args[@]}" "${serve_args[@]}" &
  pid=$!
  if [ "$refresh" -gt 0 ]; then
    # Workers that join later (docker-compose up --scale) appear in the hostfile.
    (
      trap 'exit 0' TERM
      while sleep "$refresh"; do write_hostfile "$hostfile" >/dev/null; done
    ) &
    refresher=$!
  fi
  # shellcheck disable=SC2064 # expand now: our own children
  trap "kill -TERM $pid $refresher 2>/dev/null" TERM INT
  wait "$pid"
  local rc=$?
  # A signal interrupts wait; wait again for hearthd's own exit status.
  kill -0 "$pid" 2>/dev/null && { wait "$pid"; rc=$?; }
  [ -z "$refresher" ] || { kill -TERM "$refresher" 2>/dev/null; wait "$refresher" 2>/dev/null; }
  log "coordinator: hearthd exited with status $rc"
  return "$rc"
}

case "${1:-}" in
  worker) run_worker ;;
  coordinator) run_coordinator ;;
  hostfile) live_hostfile ;;
  hearthrun)
    shift
    run_hearthrun "$@"
    ;;
  fetch-mnist)
    mkdir -p "$data/data" || die "cannot create $data/data (HEARTH_DATA)"
    exec "$here/fetch-mnist.sh" "$data/data/mnist"
    ;;
  -h | --help | help) usage ;;
  "") usage >&2; exit 2 ;;
  *) echo "$prog: unknown mode '$1' (see --help)" >&2; exit 2 ;;
esac
