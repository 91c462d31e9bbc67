/*
 * polythene-userns: runs ARGV as uid 0 / gid 0 of a new user namespace whose id maps it writes
 * (as root) or has newuidmap/newgidmap write (unprivileged, from /etc/subuid and /etc/subgid):
 *
 *   polythene-userns [--newuidmap PATH --newgidmap PATH] --uid-map MAP --gid-map MAP
 *                    [--own-network] [--overlay OPTIONS TARGET] -- ARGV...
 *
 * Without --newuidmap the maps are written to /proc/PID/{uid,gid}_map directly, which needs
 * CAP_SETUID/CAP_SETGID over the outer ids (root). See userns-map.h for how. File descriptors
 * are left as they are (the exec guard in front closed the others). The exec guard does the
 * same itself with the same options, before it sets no_new_privs (newuidmap is setuid).
 * --own-network then gives it a network namespace of its own (see enter_own_network).
 * --overlay first mounts the box's overlay root, as the caller (root), in a private mount
 * namespace (see mount_overlay_privately).
 *
 * Its own failures are one line on stderr starting "polythene-userns: ", exit 125.
 */
static const char *userns_program = "polythene-userns";
#include "userns-map.h"

static void usage(const char *why) {
  fprintf(stderr,
          "polythene-userns: %s; usage: polythene-userns [--newuidmap PATH --newgidmap PATH] "
          "--uid-map MAP --gid-map MAP [--own-network] [--overlay OPTIONS TARGET] -- ARGV...\n",
          why);
  exit(125);
}

int main(int argc, char **argv) {
  const char *newuidmap = NULL, *newgidmap = NULL, *uid_map = NULL, *gid_map = NULL;
  const char *overlay_options = NULL, *overlay_target = NULL;
  int i = 1, own_network = 0;
  for (; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) {
      i++;
      break;
    }
    if (strcmp(argv[i], "--own-network") == 0) {
      own_network = 1;
      continue;
    }
    if (strcmp(argv[i], "--overlay") == 0) {
      if (i + 2 >= argc) usage("--overlay needs OPTIONS and TARGET");
      overlay_options = argv[++i];
      overlay_target = argv[++i];
      continue;
    }
    if (i + 1 >= argc) usage("an option lacks its value");
    if (strcmp(argv[i], "--newuidmap") == 0) newuidmap = argv[++i];
    else if (strcmp(argv[i], "--newgidmap") == 0) newgidmap = argv[++i];
    else if (strcmp(argv[i], "--uid-map") == 0) uid_map = argv[++i];
    else if (strcmp(argv[i], "--gid-map") == 0) gid_map = argv[++i];
    else usage("unknown option");
  }
  if (i >= argc) usage("no command after --");
  if (uid_map == NULL || gid_map == NULL) usage("--uid-map and --gid-map are required");
  if (overlay_options != NULL && mount_overlay_privately(overlay_options, overlay_target) != 0)
    return 125;
  if (enter_user_namespace(newuidmap, newgidmap, uid_map, gid_map) != 0) return 125;
  if (own_network && enter_own_network() != 0) return 125;
  execvp(argv[i], &argv[i]);
  fprintf(stderr, "polythene-userns: cannot run %s: %s\n", argv[i], strerror(errno));
  return 125;
}
