/*
 * polythene-userns: runs ARGV as uid 0 / gid 0 of a new user namespace whose id maps it writes
 * (as root) or has newuidmap/newgidmap write (unprivileged, from /etc/subuid and /etc/subgid):
 *
 *   polythene-userns [--newuidmap PATH --newgidmap PATH] --uid-map MAP --gid-map MAP -- ARGV...
 *
 * MAP is "INNER OUTER COUNT[ INNER OUTER COUNT]..." (the uid_map format, at most 5 ranges).
 * Without --newuidmap the maps are written to /proc/PID/{uid,gid}_map directly, which needs
 * CAP_SETUID/CAP_SETGID over the outer ids (root). setgroups stays allowed, so the box's root
 * may call setgroups(2) (apt drops to its _apt user that way).
 *
 * The process keeps its pid: it forks a short-lived child that waits until the parent has
 * called unshare(CLONE_NEWUSER), writes the parent's maps from outside the namespace, and
 * exits; the parent then becomes uid 0 of the namespace (full capabilities there, none
 * outside) and execs ARGV. File descriptors are left as they are (the exec guard in front
 * closed the others).
 *
 * Its own failures are one line on stderr starting "polythene-userns: ", exit 125.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_MAP_WORDS 15

static void fail(const char *what) {
  fprintf(stderr, "polythene-userns: %s: %s\n", what, strerror(errno));
  exit(125);
}

static void usage(const char *why) {
  fprintf(stderr,
          "polythene-userns: %s; usage: polythene-userns [--newuidmap PATH --newgidmap PATH] "
          "--uid-map MAP --gid-map MAP -- ARGV...\n",
          why);
  exit(125);
}

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
    if (count >= MAX_MAP_WORDS + 2) usage("too many map ranges");
    argv[count++] = word;
  }
  argv[count] = NULL;
  pid_t child = fork();
  if (child < 0) fail("fork");
  if (child == 0) {
    execv(tool, argv);
    fprintf(stderr, "polythene-userns: cannot run %s: %s\n", tool, strerror(errno));
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
    int ok = wait_ok(uid_tool);
    ok = wait_ok(gid_tool) && ok;
    _exit(ok ? 0 : 1);
  }
  if (write_map(parent, "uid_map", uid_map) != 0) {
    fprintf(stderr, "polythene-userns: cannot write the uid map \"%s\": %s\n", uid_map,
            strerror(errno));
    _exit(1);
  }
  if (write_map(parent, "gid_map", gid_map) != 0) {
    fprintf(stderr, "polythene-userns: cannot write the gid map \"%s\": %s\n", gid_map,
            strerror(errno));
    _exit(1);
  }
  _exit(0);
}

int main(int argc, char **argv) {
  const char *newuidmap = NULL, *newgidmap = NULL, *uid_map = NULL, *gid_map = NULL;
  int i = 1;
  for (; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) {
      i++;
      break;
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
  if ((newuidmap == NULL) != (newgidmap == NULL)) usage("give both --newuidmap and --newgidmap");
  if (strlen(uid_map) >= 512 || strlen(gid_map) >= 512) usage("map too long");

  int ready[2];
  if (pipe2(ready, O_CLOEXEC) != 0) fail("pipe");
  pid_t parent = getpid();
  pid_t mapper = fork();
  if (mapper < 0) fail("fork");
  if (mapper == 0) {
    close(ready[1]);
    /* Die with the parent rather than map a stranger that took its pid. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    map_parent(ready[0], parent, newuidmap, newgidmap, uid_map, gid_map);
  }
  close(ready[0]);
  if (unshare(CLONE_NEWUSER) != 0) fail("cannot create a user namespace");
  if (write(ready[1], "x", 1) != 1) fail("cannot signal the id mapper");
  close(ready[1]);
  if (!wait_ok(mapper)) {
    fprintf(stderr,
            "polythene-userns: cannot map the ids of the user namespace (uid map \"%s\", gid "
            "map \"%s\")\n",
            uid_map, gid_map);
    return 125;
  }
  if (setresgid(0, 0, 0) != 0) fail("setresgid 0 in the user namespace");
  if (setgroups(0, NULL) != 0) fail("setgroups in the user namespace");
  if (setresuid(0, 0, 0) != 0) fail("setresuid 0 in the user namespace");
  execvp(argv[i], &argv[i]);
  fprintf(stderr, "polythene-userns: cannot run %s: %s\n", argv[i], strerror(errno));
  return 125;
}
