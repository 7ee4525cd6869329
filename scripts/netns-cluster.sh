#!/usr/bin/env bash
# Test hosts on this machine: H network namespaces (strata-h0 ... ) joined by
# veth pairs on a bridge, each link shaped with tc (rate and delay), and a
# strata command run across them by Open MPI over TCP, so every byte between
# ranks crosses a real network stack. Needs root (ip netns, tc). Everything it
# makes is removed when it ends, however it ends.
#
#   scripts/netns-cluster.sh --hosts 3 --rate 1gbit --delay 25us -- finetune softmax --hidden 500 --limit 6000 --run runs/h3
#   scripts/netns-cluster.sh --check        # can this machine make test hosts? (exit 0 yes, 3 no, with the reason)
#
# Options: --hosts H (default 2), --rate R (tc's units: 1gbit, 10gbit; default
# 1gbit), --delay D (one way, per link; default 25us), --slots S (ranks per
# host, default 1), --strata PATH (default the checkout's .build/release/strata,
# else .build/debug/strata). The command runs in the caller's folder. Output: the command's, then one line
# `netns-cluster: H hosts, RATE, DELAY, SECONDS s` for scripts to read.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)" # the command runs in the caller's folder
hosts=2 rate=1gbit delay=25us slots=1 strata="" check=0
while [ $# -gt 0 ]; do
  case "$1" in
    --hosts) hosts="$2"; shift 2 ;;
    --rate) rate="$2"; shift 2 ;;
    --delay) delay="$2"; shift 2 ;;
    --slots) slots="$2"; shift 2 ;;
    --strata) strata="$2"; shift 2 ;;
    --check) check=1; shift ;;
    --) shift; break ;;
    *) echo "netns-cluster: unknown option '$1' (see the comment at the top of $0)" >&2; exit 2 ;;
  esac
done
case "$hosts" in ''|*[!0-9]*) echo "netns-cluster: --hosts must be a whole number from 1 to 200, got '$hosts'" >&2; exit 2 ;; esac
[ "$hosts" -ge 1 ] && [ "$hosts" -le 200 ] || { echo "netns-cluster: --hosts must be from 1 to 200, got $hosts" >&2; exit 2; }

reason=""
[ "$(id -u)" = 0 ] || reason="needs root (network namespaces and tc)"
[ -z "$reason" ] && ! command -v ip >/dev/null && reason="needs ip (apt install iproute2)"
[ -z "$reason" ] && ! command -v tc >/dev/null && reason="needs tc (apt install iproute2)"
[ -z "$reason" ] && ! command -v mpirun >/dev/null && reason="needs Open MPI's mpirun (apt install openmpi-bin)"
if [ -z "$reason" ]; then
  ip netns add strata-probe$$ 2>/dev/null && ip netns del strata-probe$$ || reason="cannot make network namespaces here (a container without CAP_SYS_ADMIN?)"
fi
if [ -n "$reason" ]; then echo "netns-cluster: $reason" >&2; exit 3; fi
[ "$check" = 1 ] && { echo "netns-cluster: this machine can make test hosts"; exit 0; }
[ $# -gt 0 ] || { echo "netns-cluster: give the strata command after --" >&2; exit 2; }
if [ -z "$strata" ]; then
  strata="$root/.build/release/strata"
  [ -x "$strata" ] || strata="$root/.build/debug/strata"
fi
[ -x "$strata" ] || { echo "netns-cluster: no built strata at $strata (swift build -c release --product strata)" >&2; exit 2; }
strata="$(cd "$(dirname "$strata")" && pwd)/$(basename "$strata")"

bridge=strata-br0
# Both ends of each link are shaped: a message crosses two (host to bridge,
# bridge to host), so each gets half the delay. netem gives rate and delay;
# a kernel without it (sch_netem) gets tbf, rate only, and says so.
half=$(awk -v d="$delay" 'BEGIN { n = d + 0; u = d; sub(/^[0-9.]+/, "", u); printf "%g%s", n / 2, u }')
burst=$(awk -v r="$rate" 'BEGIN { n = r + 0; u = tolower(r); m = (u ~ /gbit/) ? 1e9 : (u ~ /mbit/) ? 1e6 : (u ~ /kbit/) ? 1e3 : 1; b = n * m / 8 / 250; printf "%d", (b < 32768 ? 32768 : b) }')
shaping="rate $rate, delay $delay (netem)"
shape() {
  local run=(); [ -n "$1" ] && run=(ip netns exec "$1")
  if ! "${run[@]}" tc qdisc add dev "$2" root netem rate "$rate" delay "$half" 2>/dev/null; then
    "${run[@]}" tc qdisc add dev "$2" root tbf rate "$rate" burst "$burst" latency 50ms
    shaping="rate $rate (tbf; this kernel has no netem, so no added delay)"
  fi
}
cleanup() {
  for ((i = 0; i < hosts; i++)); do ip netns del "strata-h$i" 2>/dev/null || true; ip link del "strata-v$i" 2>/dev/null || true; done
  ip link del "$bridge" 2>/dev/null || true
  rm -f "${hostfile:-}"
}
trap cleanup EXIT INT TERM
cleanup
ip link add "$bridge" type bridge
ip link set "$bridge" up
hostfile=$(mktemp /tmp/strata-hosts.XXXXXX)
for ((i = 0; i < hosts; i++)); do
  ns="strata-h$i"
  ip netns add "$ns"
  ip link add "strata-v$i" type veth peer name eth0 netns "$ns"
  ip link set "strata-v$i" master "$bridge" up
  ip netns exec "$ns" ip addr add "10.77.0.$((i + 1))/24" dev eth0
  ip netns exec "$ns" ip link set eth0 up
  ip netns exec "$ns" ip link set lo up
  shape "$ns" eth0
  shape "" "strata-v$i"
  echo "10.77.0.$((i + 1)) slots=$slots" >> "$hostfile"
done
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
start=$(date +%s.%N)
status=0
# Over TCP, Open MPI 4.1's one-sided windows (Downpour's server, Sandblaster's
# chunk counter) need its point-to-point component: osc/rdma wants RDMA hardware.
timeout 1800 ip netns exec strata-h0 unshare --uts /bin/sh -c 'hostname strata-h0; exec "$@"' sh \
  mpirun -np $((hosts * slots)) --hostfile "$hostfile" --mca plm_rsh_agent "$root/scripts/netns-agent.sh" \
  --mca btl tcp,self --mca osc pt2pt --mca btl_tcp_if_include 10.77.0.0/24 --mca oob_tcp_if_include 10.77.0.0/24 --bind-to none \
  -x OMPI_ALLOW_RUN_AS_ROOT -x OMPI_ALLOW_RUN_AS_ROOT_CONFIRM "$strata" "$@" || status=$?
seconds=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
echo "netns-cluster: $hosts hosts, $shaping, $seconds s"
exit $status
