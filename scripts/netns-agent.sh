#!/bin/sh
# Open MPI's remote-start agent for the test hosts of scripts/netns-cluster.sh:
# called as `netns-agent.sh [ssh options] HOST COMMAND...` where ssh would be,
# it runs COMMAND in the network namespace that owns HOST's address, under
# its own hostname (a UTS namespace), so the daemon there is another host.
while [ $# -gt 0 ]; do
  case "$1" in -*) shift ;; *) break ;; esac
done
host="$1"; shift
index=$(echo "$host" | awk -F. '{print $4 - 1}')
exec ip netns exec "strata-h$index" unshare --uts /bin/sh -c "hostname strata-h$index; $*"
