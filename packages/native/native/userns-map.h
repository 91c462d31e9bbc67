/*
 * userns-map.h: creating a box's user namespace with full id maps, shared by
 * polythene-userns.c and polythene-exec-guard.c (each includes it; define userns_program, the
 * name that prefixes error lines, first).
 *
 * The process keeps its pid: it forks a short-lived child that waits until the parent has
 * called unshare(CLONE_NEWUSER), writes the parent's maps from outside the namespace (directly
 * as root, else through the setuid newuidmap/newgidmap), and exits; the parent then becomes
 * uid 0 of the namespace (full capabilities there, none outside). setgroups stays allowed, so
 * the box's root may call setgroups(2) (apt drops to its _apt user that way).
 *
 * A map is "INNER OUTER COUNT[ INNER OUTER COUNT]..." (the uid_map format, at most 5 ranges).
 */
#ifndef POLYTHENE_USERNS_MAP_H
#define POLYTHENE_USERNS_MAP_H
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_MAP_WORDS 15

/* Writes `map` to /proc/PID/NAME (root's way). */
static int write_map(pid_t pid, const char *name, const char *map) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, name);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t length = strlen(map);
  ssize_t written = write(fd, map, length);
  int saved = errno;
  close(fd);
  errno = saved;
  return written == (ssize_t)length ? 0 : -1;
}

/* Starts `tool PID WORDS...` (newuidmap/newgidmap); returns its pid. */
static pid_t start_id_tool(const char *tool, pid_t pid, const char *map) {
  char pid_text[16];
  snprintf(pid_text, sizeof pid_text, "%d", (int)pid);
  char copy[512];
  snprintf(copy, sizeof copy, "%s", map);
  char *argv[MAX_MAP_WORDS + 3];
  int count = 0;
  argv[count++] = (char *)tool;
  argv[count++] = pid_text;
  for (char *save = NULL, *word = strtok_r(copy, " \n", &save); word != NULL;
       word = strtok_r(NULL, " \n", &save)) {
    if (count >= MAX_MAP_WORDS + 2) _exit(1); /* checked by enter_user_namespace */
    argv[count++] = word;
  }
  argv[count] = NULL;
  pid_t child = fork();
  if (child < 0) return -1;
  if (child == 0) {
    execv(tool, argv);
    fprintf(stderr, "%s: cannot run %s: %s\n", userns_program, tool, strerror(errno));
    _exit(127);
  }
  return child;
}

static int wait_ok(pid_t pid) {
  int status;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return 0;
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* The child's job: once the parent has unshared, map its ids from outside. Never returns. */
static void map_parent(int ready_fd, pid_t parent, const char *newuidmap, const char *newgidmap,
                       const char *uid_map, const char *gid_map) {
  char byte;
  ssize_t got;
  do got = read(ready_fd, &byte, 1);
  while (got < 0 && errno == EINTR);
  if (got != 1) _exit(1); /* the parent failed before unsharing, and said why */
  if (newuidmap != NULL) {
    /* Both at once: each is an exec of a setuid binary, about 1.5 ms. */
    pid_t uid_tool = start_id_tool(newuidmap, parent, uid_map);
    pid_t gid_tool = start_id_tool(newgidmap, parent, gid_map);
    int ok = uid_tool > 0 && wait_ok(uid_tool);
    ok = gid_tool > 0 && wait_ok(gid_tool) && ok;
    _exit(ok ? 0 : 1);
  }
  if (write_map(parent, "uid_map", uid_map) != 0) {
    fprintf(stderr, "%s: cannot write the uid map \"%s\": %s\n", userns_program,
            uid_map, strerror(errno));
    _exit(1);
  }
  if (write_map(parent, "gid_map", gid_map) != 0) {
    fprintf(stderr, "%s: cannot write the gid map \"%s\": %s\n", userns_program,
            gid_map, strerror(errno));
    _exit(1);
  }
  _exit(0);
}

/*
 * Makes the calling process uid 0 / gid 0 of a new user namespace with these maps (see the
 * top of this file) and returns 0, or prints one line and returns -1. Call it before
 * no_new_privs is set: newuidmap and newgidmap are setuid helpers.
 */
static int enter_user_namespace(const char *newuidmap, const char *newgidmap,
                                const char *uid_map, const char *gid_map) {
  if ((newuidmap == NULL) != (newgidmap == NULL) || strlen(uid_map) >= 512 ||
      strlen(gid_map) >= 512) {
    fprintf(stderr, "%s: bad id map options\n", userns_program);
    return -1;
  }
  int ready[2];
  if (pipe2(ready, O_CLOEXEC) != 0) {
    fprintf(stderr, "%s: pipe: %s\n", userns_program, strerror(errno));
    return -1;
  }
  pid_t parent = getpid();
  pid_t mapper = fork();
  if (mapper < 0) {
    fprintf(stderr, "%s: fork: %s\n", userns_program, strerror(errno));
    return -1;
  }
  if (mapper == 0) {
    close(ready[1]);
    /* Die with the parent rather than map a stranger that took its pid. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    map_parent(ready[0], parent, newuidmap, newgidmap, uid_map, gid_map);
  }
  close(ready[0]);
  if (unshare(CLONE_NEWUSER) != 0) {
    fprintf(stderr, "%s: cannot create a user namespace: %s\n", userns_program, strerror(errno));
    close(ready[1]);
    wait_ok(mapper);
    return -1;
  }
  int signalled = write(ready[1], "x", 1) == 1;
  close(ready[1]);
  if (!signalled || !wait_ok(mapper)) {
    fprintf(stderr,
            "%s: cannot map the ids of the user namespace (uid map \"%s\", gid map \"%s\")\n",
            userns_program, uid_map, gid_map);
    return -1;
  }
  if (setresgid(0, 0, 0) != 0 || setgroups(0, NULL) != 0 || setresuid(0, 0, 0) != 0) {
    fprintf(stderr, "%s: cannot become root of the user namespace: %s\n", userns_program,
            strerror(errno));
    return -1;
  }
  return 0;
}

/*
 * Gives the calling process (root of its user namespace, see enter_user_namespace) a network
 * namespace of its own, owned by that user namespace, with the loopback up and, as podman
 * sets it, net.ipv4.ping_group_range "0 0": in-box root pings without CAP_NET_RAW. bwrap then
 * runs in it without --unshare-net (it cannot set a sysctl, and covers /proc/sys read-only).
 * Returns 0, or prints one line and returns -1.
 */
static int enter_own_network(void) {
  if (unshare(CLONE_NEWNET) != 0) {
    fprintf(stderr, "%s: cannot create a network namespace: %s\n", userns_program, strerror(errno));
    return -1;
  }
  int fd = open("/proc/sys/net/ipv4/ping_group_range", O_WRONLY | O_CLOEXEC);
  static const char range[] = "0 0\n";
  if (fd < 0 || write(fd, range, sizeof range - 1) != (ssize_t)(sizeof range - 1)) {
    fprintf(stderr, "%s: cannot set net.ipv4.ping_group_range: %s\n", userns_program, strerror(errno));
    if (fd >= 0) close(fd);
    return -1;
  }
  close(fd);
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct ifreq request;
  memset(&request, 0, sizeof request);
  snprintf(request.ifr_name, sizeof request.ifr_name, "lo");
  int up = sock >= 0 && ioctl(sock, SIOCGIFFLAGS, &request) == 0;
  if (up) {
    request.ifr_flags |= IFF_UP | IFF_RUNNING;
    up = ioctl(sock, SIOCSIFFLAGS, &request) == 0;
  }
  int saved = errno;
  if (sock >= 0) close(sock);
  if (!up) {
    fprintf(stderr, "%s: cannot bring up the loopback: %s\n", userns_program, strerror(saved));
    return -1;
  }
  return 0;
}

/*
 * Mounts an overlay (`options`, overlayfs's lowerdir=…,upperdir=…,workdir=…[,userxattr]) on
 * `target` in a new private mount namespace of the caller: the mount goes with the run, and
 * no host process sees it. Replaces unshare + sh + mount (three execs) on every overlay run.
 * Returns 0, or prints one line and returns -1.
 */
static int mount_overlay_privately(const char *options, const char *target) {
  if (unshare(CLONE_NEWNS) != 0) {
    fprintf(stderr, "%s: cannot create a mount namespace: %s\n", userns_program, strerror(errno));
    return -1;
  }
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
    fprintf(stderr, "%s: cannot make the mounts private: %s\n", userns_program, strerror(errno));
    return -1;
  }
  if (mount("overlay", target, "overlay", 0, options) != 0) {
    fprintf(stderr, "%s: cannot mount the overlay root on %s: %s\n", userns_program, target,
            strerror(errno));
    return -1;
  }
  return 0;
}

#endif
