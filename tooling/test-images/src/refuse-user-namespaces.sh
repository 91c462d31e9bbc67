#!/bin/bash
# refuse-user-namespaces.sh CMD [ARG…]: runs CMD where the kernel refuses to create any new
# user namespace, like a CI runner with unprivileged user namespaces disabled (Ubuntu 24.04's
# GitHub runners, or user.max_user_namespaces=0), without touching a host-wide sysctl. It
# re-executes itself one user namespace deeper (mapping the caller's own uid) until the
# kernel's nesting limit refuses the next one, then runs CMD there: bwrap's unshare fails with
# ENOSPC, exactly as under user.max_user_namespaces=0.
if unshare --user --map-current-user true 2>/dev/null; then
  exec unshare --user --map-current-user /bin/bash "$0" "$@"
fi
exec "$@"
