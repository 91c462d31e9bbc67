/*
 * polythene-box: the two sides of a box that stays up (`polythene start`, `exec --in`).
 *
 *   polythene-box init --pid-namespace [--expire-after-ms N] [--grace-ms N]
 *     Runs inside the box as the process that holds it (bwrap's command, or pid 1 of the
 *     chroot chain's pid namespace). It reaps every zombie re-parented to it (a child
 *     subreaper), counts SIGUSR1 as "the box was used now", and ends the box on SIGTERM,
 *     SIGINT, SIGHUP or SIGQUIT, or by itself once no SIGUSR1 came for N ms: SIGTERM to every
 *     process of the box, the grace period, then SIGKILL to all, and it exits 0. It works with
 *     no polythene process running.
 *
 *   polythene-box enter --pid P --start-time T --uid U --gid G --cwd DIR [--caps MASK] [--detach]
 *                       -- ARGV...
 *     Runs on the host: joins the namespaces of the box's holder P (user first when it is not
 *     ours, then ipc, uts, net, pid, mount), takes P's root as its own root, forks the command
 *     into the box's pid namespace (so it sees the box's /proc), narrows the bounding set to
 *     MASK (hex CAP_* bits, default none) and clears the ambient set, becomes U:G, keeps MASK
 *     as its capabilities when U is 0 and it entered the box's own user namespace (else none:
 *     a box without one is the host's root), sets no_new_privs, enters
 *     DIR, starts a new session and exec's ARGV (looked up on the PATH of its environment,
 *     which is the command's whole environment). Without --detach it waits, forwards SIGINT,
 *     SIGTERM, SIGHUP and SIGQUIT to the command's session, tells the holder the box is in
 *     use every second, and exits as the command did. With --detach the command is left
 *     running (re-parented to the box's init, never to a host process) and it exits 0 once
 *     the command was exec'd. T (field 22 of /proc/P/stat) guards against a recycled pid.
 *
 * Its own failures are one line on stderr starting "polythene-box: ", exit 125; a command
 * that cannot be run is exit 127 (not found) or 126.
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KEYCTL_JOIN_SESSION_KEYRING 1

static void fail(const char *what) {
  fprintf(stderr, "polythene-box: %s: %s\n", what, strerror(errno));
  exit(125);
}

static void fail_plain(const char *what) {
  fprintf(stderr, "polythene-box: %s\n", what);
  exit(125);
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long parse_number(const char *text, const char *what) {
  char *end;
  errno = 0;
  long long value = strtoll(text, &end, 10);
  if (errno != 0 || *text == '\0' || *end != '\0' || value < 0) fail_plain(what);
  return value;
}

/* ---- init ------------------------------------------------------------------------------- */

static int in_own_pid_namespace = 0;

/* True while a process other than pid 1 and this one is left in the box's /proc. */
static int others_left(void) {
  DIR *dir = opendir("/proc");
  if (dir == NULL) return 0;
  pid_t self = getpid();
  int found = 0;
  struct dirent *entry;
  while ((entry = readdir(dir)) != NULL) {
    char *end;
    long pid = strtol(entry->d_name, &end, 10);
    if (*end != '\0' || pid <= 1 || pid == self) continue;
    found = 1;
    break;
  }
  closedir(dir);
  return found;
}

static void reap_all(void) {
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

static int end_box(long long grace_ms) {
  /* kill(-1) reaches every process of the pid namespace but its init (bwrap's, or the chroot
   * chain's set-up shell, which ends with this): only sound in the box's own pid namespace,
   * which --pid-namespace says (polythene starts a box only with a backend that makes one).
   * Anywhere else it would signal the caller's whole host session: refuse. */
  if (!in_own_pid_namespace) fail_plain("not told it runs in a pid namespace of its own (--pid-namespace): refusing to signal every process");
  kill(-1, SIGTERM);
  kill(-1, SIGCONT);
  long long deadline = now_ms() + grace_ms;
  while (now_ms() < deadline) {
    reap_all();
    if (!others_left()) return 0;
    struct timespec pause = {0, 50 * 1000000};
    nanosleep(&pause, NULL);
  }
  kill(-1, SIGKILL);
  reap_all();
  return 0;
}

static int run_init(int argc, char **argv) {
  long long expire_ms = 0, grace_ms = 3000;
  for (int i = 0; i < argc; i++) {
    if (strcmp(argv[i], "--expire-after-ms") == 0 && i + 1 < argc)
      expire_ms = parse_number(argv[++i], "--expire-after-ms needs a number");
    else if (strcmp(argv[i], "--pid-namespace") == 0)
      in_own_pid_namespace = 1;
    else if (strcmp(argv[i], "--grace-ms") == 0 && i + 1 < argc)
      grace_ms = parse_number(argv[++i], "--grace-ms needs a number");
    else fail_plain("usage: polythene-box init --pid-namespace [--expire-after-ms N] [--grace-ms N]");
  }
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  sigset_t set;
  sigemptyset(&set);
  int handled[] = {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1};
  for (size_t i = 0; i < sizeof handled / sizeof handled[0]; i++) sigaddset(&set, handled[i]);
  if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) fail("cannot block signals");
  /* Nothing of the host's stays open here: the log is stdout and stderr. */
  int devnull = open("/dev/null", O_RDONLY);
  if (devnull >= 0) {
    dup2(devnull, 0);
    if (devnull > 0) close(devnull);
  }
  long long last_used = now_ms();
  for (;;) {
    struct timespec wait = {3600, 0};
    if (expire_ms > 0) {
      long long left = last_used + expire_ms - now_ms();
      if (left <= 0) {
        fprintf(stderr, "polythene-box: idle for %lld ms: the box expires\n", expire_ms);
        return end_box(grace_ms);
      }
      wait.tv_sec = left / 1000;
      wait.tv_nsec = (left % 1000) * 1000000;
    }
    siginfo_t info;
    int sig = sigtimedwait(&set, &info, &wait);
    if (sig < 0) continue; /* EAGAIN (a look at the expiry) or EINTR */
    if (sig == SIGCHLD) reap_all();
    else if (sig == SIGUSR1) last_used = now_ms();
    else return end_box(grace_ms);
  }
}

/* ---- enter ------------------------------------------------------------------------------ */

static pid_t command_pid = 0;
static pid_t holder_pid = 0;

static void forward_signal(int sig) {
  if (command_pid > 0) kill(-command_pid, sig);
}

static void heartbeat(int sig) {
  (void)sig;
  kill(holder_pid, SIGUSR1);
  alarm(1);
}

static unsigned long long read_start_time(pid_t pid) {
  char path[64], buffer[4096];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t length = read(fd, buffer, sizeof buffer - 1);
  close(fd);
  if (length <= 0) return 0;
  buffer[length] = '\0';
  /* The name (field 2) may hold spaces and parentheses: count fields after the last ')'. */
  char *cursor = strrchr(buffer, ')');
  if (cursor == NULL) return 0;
  cursor += 2; /* field 3 */
  for (int field = 3; field < 22 && cursor != NULL; field++) {
    cursor = strchr(cursor, ' ');
    if (cursor != NULL) cursor++;
  }
  return cursor == NULL ? 0 : strtoull(cursor, NULL, 10);
}

static int open_namespace(pid_t pid, const char *name) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)pid, name);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("cannot open the box's namespaces (is it running?)");
  return fd;
}

static void drop_privileges(uid_t uid, gid_t gid, unsigned long long keep) {
  /* The bounding set needs CAP_SETPCAP, which goes with the uid change: narrow it first,
   * CAP_SETPCAP last. */
  for (int cap = 0; cap <= 63; cap++) {
    if (cap == CAP_SETPCAP || (keep >> cap) & 1ULL) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) fail("cannot drop capabilities");
  }
  if (!((keep >> CAP_SETPCAP) & 1ULL) && prctl(PR_CAPBSET_DROP, CAP_SETPCAP, 0, 0, 0) != 0) fail("cannot drop capabilities");
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  gid_t groups[1] = {gid};
  /* In a user namespace whose setgroups is denied, the groups cannot change (EPERM). */
  if (setgroups(1, groups) != 0 && errno != EPERM) fail("cannot set groups");
  if (setresgid(gid, gid, gid) != 0 || setresuid(uid, uid, uid) != 0)
    fail("cannot become that user in this box (a box in a user namespace maps only its own user)");
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  unsigned long long kept = uid == 0 ? keep : 0;
  for (int i = 0; i < 2; i++) {
    __u32 bits = (__u32)(kept >> (32 * i));
    data[i].effective = bits;
    data[i].permitted = bits;
    data[i].inheritable = bits;
  }
  if (syscall(SYS_capset, &header, data) != 0) fail("cannot set capabilities");
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail("cannot set no_new_privs");
}

static void close_other_fds(int keep) {
  for (int fd = 3; fd < 1024; fd++) {
    if (fd != keep) close(fd);
  }
  if (syscall(SYS_close_range, 1024, ~0U, 0) != 0 && errno != ENOSYS) {
  }
}

static int run_enter(int argc, char **argv) {
  pid_t pid = 0;
  unsigned long long start_time = 0;
  long long uid = -1, gid = -1;
  const char *cwd = "/";
  int detach = 0, index = 0;
  unsigned long long caps = 0;
  for (; index < argc; index++) {
    const char *arg = argv[index];
    if (strcmp(arg, "--") == 0) {
      index++;
      break;
    }
    if (strcmp(arg, "--detach") == 0) detach = 1;
    else if (index + 1 >= argc) fail_plain("usage: polythene-box enter --pid P --start-time T --uid U --gid G --cwd DIR [--caps MASK] [--detach] -- ARGV...");
    else if (strcmp(arg, "--pid") == 0) pid = (pid_t)parse_number(argv[++index], "--pid needs a number");
    else if (strcmp(arg, "--start-time") == 0) start_time = (unsigned long long)parse_number(argv[++index], "--start-time needs a number");
    else if (strcmp(arg, "--uid") == 0) uid = parse_number(argv[++index], "--uid needs a number");
    else if (strcmp(arg, "--gid") == 0) gid = parse_number(argv[++index], "--gid needs a number");
    else if (strcmp(arg, "--cwd") == 0) cwd = argv[++index];
    else if (strcmp(arg, "--caps") == 0) {
      char *end = NULL;
      errno = 0;
      caps = strtoull(argv[++index], &end, 16);
      if (errno != 0 || end == argv[index] || *end != '\0') fail_plain("--caps needs a hex mask");
    }
    else fail_plain("unknown option");
  }
  if (pid <= 0 || uid < 0 || gid < 0 || index >= argc) fail_plain("usage: polythene-box enter --pid P --start-time T --uid U --gid G --cwd DIR [--caps MASK] [--detach] -- ARGV...");
  char **command = argv + index;
  holder_pid = pid;

  char path[64];
  snprintf(path, sizeof path, "/proc/%d/root", (int)pid);
  int root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) fail("cannot open the box's root (is it running?)");
  struct stat own_user, box_user;
  if (stat("/proc/self/ns/user", &own_user) != 0) fail("cannot read this process's user namespace");
  int user_ns = open_namespace(pid, "user");
  if (fstat(user_ns, &box_user) != 0) fail("cannot read the box's user namespace");
  int joins_user = own_user.st_ino != box_user.st_ino || own_user.st_dev != box_user.st_dev;
  const char *names[] = {"ipc", "uts", "net", "pid", "mnt"};
  int types[] = {CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWNET, CLONE_NEWPID, CLONE_NEWNS};
  int fds[5];
  for (int i = 0; i < 5; i++) fds[i] = open_namespace(pid, names[i]);
  /* Every handle is open: only now is the pid known to still be the holder it was. */
  if (start_time == 0 || read_start_time(pid) != start_time) {
    errno = ESRCH;
    fail("the box's holder is gone");
  }
  kill(pid, SIGUSR1);
  /* The box's namespaces may be owned by a user namespace above the holder's own (root's
   * bwrap dropping to the image user nests one): whatever our privileges already allow is
   * entered first, the user namespace next (which gives its privileges and drops ours), then
   * the rest. An unprivileged caller enters the user namespace first, as nsenter does. */
  int entered[5] = {0};
  if (geteuid() == 0) {
    for (int i = 0; i < 5; i++) entered[i] = setns(fds[i], types[i]) == 0;
  }
  if (joins_user && setns(user_ns, CLONE_NEWUSER) != 0) fail("cannot enter the box's user namespace");
  for (int i = 0; i < 5; i++) {
    if (!entered[i] && setns(fds[i], types[i]) != 0) fail("cannot enter the box's namespaces");
    close(fds[i]);
  }
  close(user_ns);
  /* The holder's root, not the mount namespace's: bwrap's root is a mount moved over it. */
  if (fchdir(root) != 0 || chroot(".") != 0) fail("cannot take the box's root");
  close(root);

  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) fail("cannot make a pipe");
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old);
  pid_t child = fork();
  if (child < 0) fail("cannot fork into the box");
  if (child == 0) {
    close(report[0]);
    if (detach) {
      /* A grandchild: its parent (this, in the box) dies at once, so the box's init adopts it
       * and no subreaper of the host can. */
      pid_t grandchild = fork();
      if (grandchild < 0) _exit(125);
      if (grandchild > 0) _exit(0);
    }
    for (int sig = 1; sig < 65; sig++) signal(sig, SIG_DFL);
    sigprocmask(SIG_SETMASK, &old, NULL);
    setsid();
    syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL);
    /* Capabilities only in the box's own user namespace: without one its root is the host's. */
    drop_privileges((uid_t)uid, (gid_t)gid, joins_user ? caps : 0);
    if (!detach) prctl(PR_SET_PDEATHSIG, SIGKILL);
    int error = 0;
    if (chdir(cwd) != 0) error = errno | 0x10000;
    close_other_fds(report[1]);
    if (error == 0) {
      execvp(command[0], command);
      error = errno;
    }
    if (write(report[1], &error, sizeof error) < 0) {
    }
    _exit(error == ENOENT ? 127 : 126);
  }
  close(report[1]);
  command_pid = child;
  int error = 0;
  ssize_t got = read(report[0], &error, sizeof error);
  if (detach || got == (ssize_t)sizeof error) {
    int status;
    waitpid(child, &status, 0);
    if (got == (ssize_t)sizeof error) {
      if (error & 0x10000) {
        fprintf(stderr, "polythene: --workdir %s: %s in the box\n", cwd, strerror(error & 0xffff));
        return 125;
      }
      fprintf(stderr, "polythene: %s: %s in the box\n", command[0],
              error == ENOENT ? "command not found" : strerror(error));
      return error == ENOENT ? 127 : 126;
    }
    return 0;
  }
  struct sigaction forward = {0};
  forward.sa_handler = forward_signal;
  int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
  for (size_t i = 0; i < 4; i++) sigaction(forwarded[i], &forward, NULL);
  struct sigaction beat = {0};
  beat.sa_handler = heartbeat;
  sigaction(SIGALRM, &beat, NULL);
  sigprocmask(SIG_SETMASK, &old, NULL);
  alarm(1);
  int status = 0;
  while (waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) fail("cannot wait for the command");
  }
  alarm(0);
  kill(pid, SIGUSR1);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  int sig = WTERMSIG(status);
  prctl(PR_SET_DUMPABLE, 0);
  signal(sig, SIG_DFL);
  sigset_t only;
  sigemptyset(&only);
  sigaddset(&only, sig);
  sigprocmask(SIG_UNBLOCK, &only, NULL);
  raise(sig);
  return 128 + sig;
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "init") == 0) return run_init(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "enter") == 0) return run_enter(argc - 2, argv + 2);
  fail_plain("usage: polythene-box init|enter ...");
  return 125;
}
