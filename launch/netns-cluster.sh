#!/usr/bin/env bash
# netns-cluster.sh: a small cluster on one machine for testing multi-host runs. It creates K
# "hosts" as Linux network namespaces, each with its own eth0 and address, joined by veth pairs
# to a bridge, optionally rate-limits every host's link, runs COMMAND from the root namespace
# with the hostfile and remote-shell agent that let mpirun (launch/hearthrun) start ranks inside
# them, and always removes everything it created. Run it with --help for the flags.
set -uo pipefail

prog=netns-cluster.sh

usage() {
  cat <<'EOF'
usage: netns-cluster.sh [flags] [--] COMMAND [ARGS...]

Creates K hosts as network namespaces on a private bridge, runs COMMAND (in the root namespace)
and removes the namespaces, links and temporary files afterwards, also on failure or Ctrl-C.
Needs root (CAP_NET_ADMIN); without it, exits 77 (the CTest skip code).

flags:
  --hosts K       number of hosts (default 3, at most 200)
  --slots S       slots per host in the hostfile (default 1)
  --rate RATE     limit each host's link to RATE in both directions with tbf (tc units:
                  100mbit, 1gbit, 10gbit, 50mbps, ...)
  --delay TIME    one-way delay per direction with netem (1ms, 200us); kernels without netem
                  print a warning and run without delay
  --keep          leave the cluster up afterwards and print how to remove it (for debugging)
  -h, --help      this help

COMMAND sees:
  HEARTH_NETNS_HOSTFILE     hostfile of namespace names, `NAME slots=S`
  HEARTH_NETNS_AGENT        remote-shell agent script: `AGENT NAME CMD...` runs CMD in NAME
  HEARTH_NETNS_CIDR         the hosts' subnet, e.g. 10.77.42.0/24 (the root namespace is .1)
  HEARTH_NETNS_HOSTS        namespace names, space-separated
  HEARTH_NETNS_ADDRS        their addresses, space-separated, in the same order
  HEARTH_NETNS_MPIRUN_ARGS  the launch/hearthrun flags that use all of the above:
                            --hostfile F --rsh-agent A --net CIDR --bind none
                            (no binding: the hosts share this machine's cores)

example:
  launch/netns-cluster.sh --hosts 3 --rate 1gbit -- bash -c \
    'launch/hearthrun -n 3 $HEARTH_NETNS_MPIRUN_ARGS build/bin/hearth train JOB.json --out DIR'

The exit status is COMMAND's (77 when namespaces are not permitted, 2 for bad flags).
EOF
}

die() {
  echo "$prog: $*" >&2
  exit 2
}

# A reason the cluster cannot exist here (not a bug in the caller): exit with CTest's skip code.
unsupported() {
  echo "$prog: $* -- skipping (exit 77)" >&2
  exit 77
}

num_hosts=3
slots=1
rate=""
delay=""
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --hosts | --slots | --rate | --delay)
      [ $# -ge 2 ] || die "$1 needs a value (see --help)"
      case "$1" in
        --hosts) num_hosts=$2 ;;
        --slots) slots=$2 ;;
        --rate) rate=$2 ;;
        --delay) delay=$2 ;;
      esac
      shift 2
      ;;
    --keep)
      keep=1
      shift
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    --)
      shift
      break
      ;;
    -*) die "unknown flag '$1' (see --help; put -- before a command that starts with '-')" ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || die "no command to run (see --help)"
if ! [[ $num_hosts =~ ^[1-9][0-9]*$ ]] || [ "$num_hosts" -gt 200 ]; then
  die "--hosts wants 1..200, not '$num_hosts'"
fi
[[ $slots =~ ^[1-9][0-9]*$ ]] || die "--slots wants a positive number, not '$slots'"
[ -z "$delay" ] || [[ $delay =~ ^[0-9]+(\.[0-9]+)?(s|ms|us|usec|msec|sec)?$ ]] ||
  die "--delay wants a time like 1ms or 200us, not '$delay'"

# tbf's burst must hold at least one timer tick of traffic; 4 ms of data, at least 128 KiB.
burst_bytes() {
  local r=$1
  [[ $r =~ ^([0-9]+(\.[0-9]+)?)([a-zA-Z]*)$ ]] || return 1
  local value=${BASH_REMATCH[1]} unit=${BASH_REMATCH[3],,} scale
  case "$unit" in
    bit | "") scale=1 ;;
    kbit) scale=1000 ;;
    mbit) scale=1000000 ;;
    gbit) scale=1000000000 ;;
    tbit) scale=1000000000000 ;;
    kibit) scale=1024 ;;
    mibit) scale=1048576 ;;
    gibit) scale=1073741824 ;;
    bps) scale=8 ;;
    kbps) scale=8000 ;;
    mbps) scale=8000000 ;;
    gbps) scale=8000000000 ;;
    *) return 1 ;;
  esac
  awk -v v="$value" -v s="$scale" 'BEGIN { b = v * s / 8 / 250; if (b < 131072) b = 131072; printf "%d\n", b }'
}
burst=""
if [ -n "$rate" ]; then
  burst=$(burst_bytes "$rate") || die "--rate wants a tc rate like 100mbit or 1gbit, not '$rate'"
fi

[ "$EUID" = 0 ] || unsupported "network namespaces need root (CAP_NET_ADMIN); run as root or with sudo"
command -v ip >/dev/null || unsupported "the 'ip' command is missing (apt-get install iproute2)"
if { [ -n "$rate" ] || [ -n "$delay" ]; } && ! command -v tc >/dev/null; then
  unsupported "--rate/--delay need 'tc' (apt-get install iproute2)"
fi

# Everything created so far, for cleanup (which tolerates a half-built cluster).
tmp=""
bridge=""
namespaces=()
veths=()
child=""

# Stops what runs in our namespaces, then removes links, namespaces, the bridge and temp files.
# shellcheck disable=SC2317 # called from traps
cleanup() {
  local ns pids all tries veth
  # TERM for 3 s, then KILL until they are gone (a killed process leaves a moment later): nothing
  # of the job may outlive the script.
  for tries in $(seq 1 20); do
    all=""
    for ns in "${namespaces[@]}"; do
      pids=$(ip netns pids "$ns" 2>/dev/null)
      all+=" $pids"
    done
    [[ $all =~ [0-9] ]] || break
    # shellcheck disable=SC2086 # a list of pids
    if [ "$tries" -le 10 ]; then kill -TERM $all 2>/dev/null; else kill -KILL $all 2>/dev/null; fi
    sleep 0.3
  done
  # Deleting the root end removes the pair at once; a namespace's own links go asynchronously.
  for veth in "${veths[@]}"; do
    ip link del "$veth" 2>/dev/null
  done
  for ns in "${namespaces[@]}"; do
    ip netns del "$ns" 2>/dev/null
  done
  [ -z "$bridge" ] || ip link del "$bridge" 2>/dev/null
  [ -z "$tmp" ] || rm -rf "$tmp"
  return 0
}

# Signals every descendant of a pid (the command may be a shell with mpirun below it).
# shellcheck disable=SC2317 # called from traps
kill_tree() {
  local sig=$1 pid=$2 c
  for c in $(pgrep -P "$pid" 2>/dev/null); do
    kill_tree "$sig" "$c"
  done
  kill "-$sig" "$pid" 2>/dev/null
}

# shellcheck disable=SC2317 # called from traps
on_exit() {
  local rc=$?
  trap - EXIT INT TERM HUP
  if [ "$keep" = 1 ] && [ -n "$tmp" ]; then
    {
      echo "#!/usr/bin/env bash"
      echo "# Removes the cluster netns-cluster.sh left up with --keep."
      declare -p namespaces veths bridge
      echo "tmp=$tmp"
      declare -f cleanup
      echo cleanup
    } >"$tmp/cleanup.sh"
    chmod +x "$tmp/cleanup.sh"
    echo "$prog: --keep: left up namespaces ${namespaces[*]}, bridge $bridge, files in $tmp." >&2
    echo "$prog: remove them with: bash $tmp/cleanup.sh" >&2
  else
    cleanup
  fi
  exit "$rc"
}

# shellcheck disable=SC2317 # called from traps
on_signal() {
  local name=$1 code=$2
  trap - INT TERM HUP
  echo "$prog: got SIG$name, stopping the command and removing the cluster" >&2
  if [ -n "$child" ]; then
    kill_tree TERM "$child"
    # mpirun needs a moment to stop its daemons; a command that ignores SIGTERM gets SIGKILL.
    for _ in $(seq 1 50); do
      kill -0 "$child" 2>/dev/null || break
      sleep 0.2
    done
    kill_tree KILL "$child"
    wait "$child" 2>/dev/null
  fi
  exit "$code"
}

trap on_exit EXIT
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM
trap 'on_signal HUP 129' HUP

# Pick names and a free subnet under a lock, so simultaneous runs get different ones; the bridge
# and its address exist before the lock is released, so the next run sees them as taken.
lock_dir=/run/lock
[ -d "$lock_dir" ] || lock_dir=/tmp
lock_fd=""
if exec {lock_fd}>>"$lock_dir/hearth-netns.lock"; then
  flock -w 60 "$lock_fd" || die "timed out waiting for $lock_dir/hearth-netns.lock"
else
  echo "$prog: warning: cannot open $lock_dir/hearth-netns.lock; not guarding against simultaneous runs" >&2
  lock_fd=""
fi

id=$$
existing_ns=$(ip netns list 2>/dev/null | awk '{print $1}')
for _ in $(seq 1 100); do
  # Interface names are at most 15 characters: "hv" + id + "x" + host number.
  if ! ip link show "hbr$id" >/dev/null 2>&1 && ! grep -q "^hn${id}x" <<<"$existing_ns"; then
    break
  fi
  id=$((RANDOM * 32 + RANDOM % 32))
done
bridge_name=hbr$id

subnet=""
used=$(ip -o -4 addr show; ip -4 route show table all 2>/dev/null)
start=$((id % 250))
for offset in $(seq 0 249); do
  x=$(((start + offset) % 250 + 1))
  if ! grep -qE "(^|[^0-9])10\.77\.$x\.[0-9]" <<<"$used"; then
    subnet=10.77.$x
    break
  fi
done
[ -n "$subnet" ] || die "no free 10.77.X.0/24 subnet (all 250 in use; old clusters left up? see ip -o addr)"
cidr=$subnet.0/24

ip link add "$bridge_name" type bridge 2>/dev/null ||
  unsupported "cannot create a bridge (needs CAP_NET_ADMIN and the bridge kernel module)"
bridge=$bridge_name
ip addr add "$subnet.1/24" dev "$bridge" || die "cannot add $subnet.1/24 to $bridge"
ip link set "$bridge" up || die "cannot bring $bridge up"
if [ -n "$lock_fd" ]; then
  flock -u "$lock_fd"
  exec {lock_fd}>&-
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hearth-netns.XXXXXX") || die "cannot create a temp dir"
chmod 755 "$tmp"

# Adds a root qdisc on DEV (optionally inside namespace NS): netem delay, then tbf under it.
shape() {
  local ns=$1 dev=$2 tc_cmd=(tc)
  [ -z "$ns" ] || tc_cmd=(ip netns exec "$ns" tc)
  if [ -n "$delay" ]; then
    "${tc_cmd[@]}" qdisc add dev "$dev" root handle 1: netem delay "$delay" || return 1
    if [ -n "$rate" ]; then
      "${tc_cmd[@]}" qdisc add dev "$dev" parent 1: handle 2: tbf rate "$rate" burst "$burst" \
        latency 50ms || return 1
    fi
  elif [ -n "$rate" ]; then
    "${tc_cmd[@]}" qdisc add dev "$dev" root tbf rate "$rate" burst "$burst" latency 50ms || return 1
  fi
}

addrs=()
for i in $(seq 1 "$num_hosts"); do
  ns=hn${id}x$i
  veth=hv${id}x$i
  err=$(ip netns add "$ns" 2>&1) || unsupported "cannot create network namespace $ns: $err"
  namespaces+=("$ns")
  # Some sandboxes (chroots) let us create namespaces but not enter them.
  err=$(ip netns exec "$ns" true 2>&1) || unsupported "cannot enter network namespace $ns: $err"

  ip link add "$veth" type veth peer name eth0 netns "$ns" 2>/dev/null ||
    unsupported "cannot create a veth pair (needs the veth kernel module)"
  veths+=("$veth")
  addr=$subnet.$((10 + i))
  if ! { ip link set "$veth" master "$bridge" up &&
    ip -n "$ns" addr add "$addr/24" dev eth0 &&
    ip -n "$ns" link set eth0 up &&
    ip -n "$ns" link set lo up; }; then
    die "cannot configure host $ns"
  fi
  addrs+=("$addr")

  if [ -n "$delay" ] && [ "$i" = 1 ]; then
    # Trial: many kernels (this one too, possibly) ship without sch_netem.
    if ! err=$(tc qdisc add dev "$veth" root netem delay "$delay" 2>&1); then
      echo "$prog: warning: netem is not available in this kernel ($err);" \
        "--delay $delay is NOT applied, the hosts run without added delay" >&2
      delay=""
    else
      tc qdisc del dev "$veth" root
    fi
  fi
  if [ -n "$rate" ] || [ -n "$delay" ]; then
    if ! { shape "" "$veth" && shape "$ns" eth0; }; then
      die "tc rejected --rate $rate${delay:+ --delay $delay}"
    fi
  fi
done

hostfile=$tmp/hostfile
agent=$tmp/agent
for ns in "${namespaces[@]}"; do
  echo "$ns slots=$slots"
done >"$hostfile"
# mpirun calls AGENT HOST WORDS..., like ssh: the words joined by spaces form one shell command.
cat >"$agent" <<'EOF'
#!/usr/bin/env bash
# Remote-shell agent for Open MPI (plm_rsh_agent): runs the command in network namespace $1,
# with a host name of its own (a UTS namespace named like the host), as a real host has: Open MPI
# names its session directories in /tmp after the host name, and daemons of several "hosts"
# sharing one name raced to create the same directory ("File exists", orte_init failed).
h=$1
shift
exec ip netns exec "$h" unshare --uts bash -c "echo \"\$0\" >/proc/sys/kernel/hostname && $*" "$h"
EOF
chmod 755 "$agent"

export HEARTH_NETNS_HOSTFILE=$hostfile
export HEARTH_NETNS_AGENT=$agent
export HEARTH_NETNS_CIDR=$cidr
export HEARTH_NETNS_HOSTS="${namespaces[*]}"
export HEARTH_NETNS_ADDRS="${addrs[*]}"
export HEARTH_NETNS_MPIRUN_ARGS="--hostfile $hostfile --rsh-agent $agent --net $cidr --bind none"

shaping=""
[ -z "$rate" ] || shaping+=", rate $rate each way"
[ -z "$delay" ] || shaping+=", delay $delay each way"
read -r -a host_names <<<"$HEARTH_NETNS_HOSTS"
read -r -a host_addrs <<<"$HEARTH_NETNS_ADDRS"
listing=""
for i in "${!host_names[@]}"; do listing+="${host_names[$i]}=${host_addrs[$i]} "; done
echo "$prog: $num_hosts host(s) on $bridge ($cidr$shaping): $listing" >&2

# In the background so a signal reaches our trap at once; <&0 keeps the caller's stdin.
"$@" <&0 &
child=$!
wait "$child"
rc=$?
child=""
exit "$rc"
