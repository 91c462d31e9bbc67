/*
 * polythene-exec-guard: runs in front of every backend process (bwrap, proot, chroot's
 * set-up) and does what Node cannot before exec'ing it:
 *
 *   polythene-exec-guard [--keep-fd N]... [--keyring] [--deny-untranslated] [--reap] -- ARGV...
 *
 * - closes every file descriptor but 0, 1, 2 and those given with --keep-fd (a caller's open
 *   directory must never reach the command, which could reach host files through
 *   /proc/self/fd/N);
 * - --keyring: joins a fresh anonymous session keyring and denies add_key, request_key and
 *   keyctl (EPERM) with a seccomp filter, so the box reads no key of the caller's session or
 *   user keyring (the user keyring is the uid's own unless a user namespace changes it);
 * - --deny-untranslated: denies (ENOSYS) the system calls proot 5.1 does not translate, so
 *   libc falls back to ones it does; a filter is inherited and its ERRNO wins over proot's
 *   own SECCOMP_RET_TRACE, so proot and every process it traces are held to it;
 * - --reap: stays as the parent of ARGV (a child subreaper), finds the command (ARGV's first
 *   child), and when it ends kills every other process left (daemons that left its process
 *   group included: they are re-parented here), then exits as ARGV did, or as the command
 *   did when a signal ended it (see finish). SIGTERM, SIGINT, SIGHUP, or polythene's death
 *   (parent-death signal) kill the whole tree at once. It makes itself non-dumpable, so the
 *   command cannot read or write its memory through /proc.
 *
 * - --uid-map MAP --gid-map MAP [--newuidmap PATH --newgidmap PATH]: first becomes uid 0 of a
 *   new user namespace with these maps (see userns-map.h), before no_new_privs is set, since
 *   newuidmap/newgidmap are setuid; a box of an unprivileged caller with a subuid range.
 *   With --own-network it then makes the box's network namespace there (enter_own_network),
 *   and with --overlay OPTIONS TARGET mounts the box's overlay root there, in a private mount
 *   namespace (mount_overlay_privately).
 *
 * Its own failures are one line on stderr starting "polythene-exec-guard: ", exit 125.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *userns_program = "polythene-exec-guard";
#include "userns-map.h"

#define MAX_KEPT 16
#define MAX_PIDS 4096

static void fail(const char *what) {
  fprintf(stderr, "polythene-exec-guard: %s: %s\n", what, strerror(errno));
  exit(125);
}

/* ---- file descriptors ------------------------------------------------------------------ */

static int compare_ints(const void *a, const void *b) {
  return *(const int *)a - *(const int *)b;
}

static void close_from_proc(int low, int high) {
  DIR *dir = opendir("/proc/self/fd");
  if (dir == NULL) fail("cannot list /proc/self/fd to close inherited descriptors");
  int own = dirfd(dir);
  int found[1024];
  int count = 0;
  struct dirent *entry;
  while ((entry = readdir(dir)) != NULL && count < 1024) {
    char *end;
    long fd = strtol(entry->d_name, &end, 10);
    if (*end != '\0' || end == entry->d_name || fd == own) continue;
    if (fd >= low && fd <= high) found[count++] = (int)fd;
  }
  closedir(dir);
  for (int i = 0; i < count; i++) close(found[i]);
  if (count == 1024) close_from_proc(low, high); /* more than one batch */
}

/* Closes fds in [low, high]: close_range(2), or a walk of /proc/self/fd where it is missing. */
static void close_fds(int low, int high) {
  if (low > high) return;
  if (syscall(SYS_close_range, (unsigned)low, (unsigned)high, 0) == 0) return;
  close_from_proc(low, high);
}

static void close_inherited_fds(int *kept, int count) {
  qsort(kept, (size_t)count, sizeof kept[0], compare_ints);
  int next = 3;
  for (int i = 0; i < count; i++) {
    close_fds(next, kept[i] - 1);
    if (kept[i] + 1 > next) next = kept[i] + 1;
  }
  close_fds(next, 0x7fffffff);
}

/* ---- keyrings and seccomp -------------------------------------------------------------- */

#define KEYCTL_JOIN_SESSION_KEYRING_OP 1

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#define COMPAT_ARCH AUDIT_ARCH_I386
/* x32 uses the x86_64 numbers with this bit set: cleared before comparing. */
#define NR_MASK 0xbfffffffu
static const unsigned native_keyring[] = {248, 249, 250};
static const unsigned compat_keyring[] = {286, 287, 288};
/* openat2 faccessat2 statx name_to_handle_at open_by_handle_at io_uring_setup/enter/register
 * pidfd_getfd process_vm_readv/writev open_tree move_mount fsopen fsconfig fsmount fspick
 * mount_setattr fchmodat2 execveat quotactl_fd */
static const unsigned native_untranslated[] = {437, 439, 332, 303, 304, 425, 426, 427,
                                               438, 310, 311, 428, 429, 430, 431, 432,
                                               433, 442, 452, 322, 443};
static const unsigned compat_untranslated[] = {437, 439, 383, 341, 342, 425, 426, 427,
                                               438, 347, 348, 428, 429, 430, 431, 432,
                                               433, 442, 452, 358, 443};
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#define COMPAT_ARCH AUDIT_ARCH_ARM
#define NR_MASK 0xffffffffu
static const unsigned native_keyring[] = {217, 218, 219};
static const unsigned compat_keyring[] = {309, 310, 311};
static const unsigned native_untranslated[] = {437, 439, 291, 264, 265, 425, 426, 427,
                                               438, 270, 271, 428, 429, 430, 431, 432,
                                               433, 442, 452, 281, 443};
static const unsigned compat_untranslated[] = {437, 439, 397, 370, 371, 425, 426, 427,
                                               438, 376, 377, 428, 429, 430, 431, 432,
                                               433, 442, 452, 387, 443};
#else
#error "polythene-exec-guard: unsupported architecture"
#endif

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

struct program {
  struct sock_filter code[256];
  unsigned short length;
};

static void emit(struct program *p, struct sock_filter instruction) {
  p->code[p->length++] = instruction;
}

/* Compares the syscall number (in the accumulator) with each of `numbers`: return `action`. */
static void emit_denials(struct program *p, const unsigned *numbers, size_t count,
                         unsigned action) {
  for (size_t i = 0; i < count; i++) {
    emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, numbers[i], 0, 1));
    emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, action));
  }
}

static void emit_arch_block(struct program *p, int keyring, int untranslated, int native) {
  emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                       offsetof(struct seccomp_data, nr)));
  if (native && NR_MASK != 0xffffffffu)
    emit(p, (struct sock_filter)BPF_STMT(BPF_ALU | BPF_AND | BPF_K, NR_MASK));
  unsigned eperm = SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA);
  unsigned enosys = SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA);
  if (keyring) {
    if (native) emit_denials(p, native_keyring, COUNT(native_keyring), eperm);
    else emit_denials(p, compat_keyring, COUNT(compat_keyring), eperm);
  }
  if (untranslated) {
    if (native) emit_denials(p, native_untranslated, COUNT(native_untranslated), enosys);
    else emit_denials(p, compat_untranslated, COUNT(compat_untranslated), enosys);
  }
  emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
}

static void install_filter(int keyring, int untranslated) {
  struct program native = {.length = 0}, compat = {.length = 0}, whole = {.length = 0};
  emit_arch_block(&native, keyring, untranslated, 1);
  emit_arch_block(&compat, keyring, untranslated, 0);
  emit(&whole, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                            offsetof(struct seccomp_data, arch)));
  /* native arch: fall through into its block; else jump over it. */
  emit(&whole, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 0,
                                            native.length));
  memcpy(whole.code + whole.length, native.code, native.length * sizeof native.code[0]);
  whole.length += native.length;
  emit(&whole, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, COMPAT_ARCH, 0,
                                            compat.length));
  memcpy(whole.code + whole.length, compat.code, compat.length * sizeof compat.code[0]);
  whole.length += compat.length;
  emit(&whole, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  struct sock_fprog program = {.len = whole.length, .filter = whole.code};
  /* Root (CAP_SYS_ADMIN) may install a filter as it is; anyone else needs no_new_privs. */
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) == 0) return;
  if (errno != EACCES) fail("cannot install the seccomp filter");
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail("cannot set no_new_privs");
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0)
    fail("cannot install the seccomp filter");
}

static void join_fresh_session_keyring(void) {
  if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING_OP, NULL) >= 0) return;
  if (errno == ENOSYS) return; /* a kernel without keyrings has nothing to leak */
  fail("cannot join a fresh session keyring");
}

/* ---- reaping and killing the tree ------------------------------------------------------ */

/* Living (not zombie) children of `parent`, by scanning /proc (CONFIG_PROC_CHILDREN is not
 * everywhere). Returns how many were stored in `out`. */
static int list_children(pid_t parent, pid_t *out, int max) {
  DIR *dir = opendir("/proc");
  if (dir == NULL) return 0;
  int count = 0;
  struct dirent *entry;
  char path[64], text[512];
  while ((entry = readdir(dir)) != NULL && count < max) {
    if (entry->d_name[0] < '1' || entry->d_name[0] > '9') continue;
    if (strlen(entry->d_name) > 20) continue;
    snprintf(path, sizeof path, "/proc/%.20s/stat", entry->d_name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ssize_t length = read(fd, text, sizeof text - 1);
    close(fd);
    if (length <= 0) continue;
    text[length] = '\0';
    char *close_paren = strrchr(text, ')');
    if (close_paren == NULL) continue;
    char state;
    int ppid;
    if (sscanf(close_paren + 1, " %c %d", &state, &ppid) != 2) continue;
    if (ppid != parent || state == 'Z' || state == 'X') continue;
    out[count++] = (pid_t)atoi(entry->d_name);
  }
  closedir(dir);
  return count;
}

static pid_t backend = -1;
static int backend_status = -1;
/* A pidfd of the command once found, kept after it ended to read how it ended. */
static int command_pidfd = -1;

static void reap(void) {
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    if (pid == backend) backend_status = status;
  }
}

/* SIGKILLs every child but `spare` until none is left: as a subreaper, this process inherits
 * the children of each one killed, so the whole tree below comes up a level each round. */
static void kill_children_except(pid_t spare) {
  static pid_t pids[MAX_PIDS];
  struct timespec pause = {0, 1000000};
  for (int round = 0; round < 100000; round++) {
    int count = list_children(getpid(), pids, MAX_PIDS);
    int killed = 0;
    for (int i = 0; i < count; i++) {
      if (pids[i] == spare) continue;
      kill(pids[i], SIGKILL);
      killed++;
    }
    if (killed == 0) return;
    reap();
    nanosleep(&pause, NULL);
    reap();
  }
}

static void exit_as(int status) {
  if (WIFSIGNALED(status)) {
    int signal_number = WTERMSIG(status);
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    signal(signal_number, SIG_DFL);
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_UNBLOCK, &all, NULL);
    raise(signal_number);
    exit(128 + signal_number);
  }
  exit(WIFEXITED(status) ? WEXITSTATUS(status) : 125);
}

/* The parent and state of `pid` from its stat file; 0 when it is gone. */
static int read_stat(pid_t pid, int *ppid, char *state) {
  char path[64], text[512];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t length = read(fd, text, sizeof text - 1);
  close(fd);
  if (length <= 0) return 0;
  text[length] = '\0';
  char *close_paren = strrchr(text, ')');
  return close_paren != NULL && sscanf(close_paren + 1, " %c %d", state, ppid) == 2;
}

/* The command: the backend's first living child, or -1 while there is none. Pids are handed
 * out in order, so the few after the backend's are looked at first; the whole of /proc (a
 * read of every process's stat) only when `full`. */
static pid_t find_command(int full) {
  /* The last pid handed out bounds the look (pid wrap aside: then the scan finds it). */
  pid_t last = backend + 32;
  char text[32];
  int fd = open("/proc/sys/kernel/ns_last_pid", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ssize_t length = read(fd, text, sizeof text - 1);
    close(fd);
    if (length > 0) {
      text[length] = '\0';
      pid_t value = (pid_t)atoi(text);
      if (value >= backend && value < last) last = value;
    }
  }
  for (pid_t pid = backend + 1; pid <= last; pid++) {
    int ppid;
    char state;
    if (read_stat(pid, &ppid, &state) && ppid == backend && state != 'Z' && state != 'X')
      return pid;
  }
  if (!full) return -1;
  pid_t pids[8];
  int count = list_children(backend, pids, 8);
  pid_t lowest = -1;
  for (int i = 0; i < count; i++)
    if (lowest < 0 || pids[i] < lowest) lowest = pids[i];
  return lowest;
}

static int has_other_children(void) {
  pid_t pids[2];
  int count = list_children(getpid(), pids, 2);
  for (int i = 0; i < count; i++)
    if (pids[i] != backend) return 1;
  return 0;
}

/* True when this process has no child left at all (no /proc scan needed to know). */
static int has_no_children(void) {
  int status;
  return waitpid(-1, &status, WNOHANG | __WALL) < 0 && errno == ECHILD;
}

static int is_gone(pid_t pid) {
  char path[64], text[512];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 1;
  ssize_t length = read(fd, text, sizeof text - 1);
  close(fd);
  if (length <= 0) return 1;
  text[length] = '\0';
  char *close_paren = strrchr(text, ')');
  return close_paren == NULL || close_paren[2] == 'Z' || close_paren[2] == 'X';
}

/* The pidfd_info of Linux 6.15's PIDFD_GET_INFO, as far as the exit status. */
struct exit_info {
  uint64_t mask;
  uint64_t cgroupid;
  uint32_t ids[11];
  int32_t exit_code;
};
#define INFO_EXIT (1UL << 3)
#define GET_INFO _IOWR(0xFF, 11, struct exit_info)

/* How the command ended (a wait status) once it has been reaped, read through its pidfd
 * (Linux 6.15 and later, for any holder of the pidfd); -1 when that cannot be told. */
static int read_command_status(void) {
  if (command_pidfd < 0) return -1;
  struct exit_info info;
  memset(&info, 0, sizeof info);
  info.mask = INFO_EXIT;
  if (ioctl(command_pidfd, GET_INFO, &info) < 0 || !(info.mask & INFO_EXIT)) return -1;
  return info.exit_code;
}

/* The backend has exited: kill what is left (usually nothing: no scan then), exit as it did.
 * A command that a signal ended is the exception: proot reports the last status a process
 * of the command exited with (a child's `exit 0` before the command's own `kill -9`), and
 * tells the signal only when no process exited before; the command's own status, once the
 * kernel gives it, says what happened. */
static void finish(void) {
  if (!has_no_children()) kill_children_except(-1);
  int command_status = read_command_status();
  if (WIFEXITED(backend_status) && command_status != -1 && WIFSIGNALED(command_status))
    exit_as(command_status);
  exit_as(backend_status);
}

/* The command has ended. The backend normally exits right after it; only when it is still
 * there a moment later do leftovers hold it, and only then is /proc scanned for them. */
static void kill_leftovers(int signals) {
  struct pollfd fd = {signals, POLLIN, 0};
  poll(&fd, 1, 20);
  reap();
  if (backend_status != -1) finish();
  kill_children_except(backend);
}

static void run_reaping(char **argv) {
  sigset_t handled, previous;
  sigemptyset(&handled);
  sigaddset(&handled, SIGCHLD);
  sigaddset(&handled, SIGTERM);
  sigaddset(&handled, SIGINT);
  sigaddset(&handled, SIGHUP);
  if (sigprocmask(SIG_BLOCK, &handled, &previous) != 0) fail("sigprocmask");
  int signals = signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK);
  if (signals < 0) fail("signalfd");
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) fail("cannot become a child subreaper");
  pid_t parent = getppid();
  if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) fail("cannot set a parent-death signal");
  if (getppid() != parent) exit(125); /* polythene died already */
  /* The command (under proot: the same user, the same pid namespace) must not read or write
   * this process's memory or trace it: it is not traced by proot, so code written into it
   * would run untranslated. Before the fork, so the command never sees it otherwise; the
   * backend's exec resets it for the backend. */
  if (prctl(PR_SET_DUMPABLE, 0) != 0) fail("cannot make itself non-dumpable");

  backend = fork();
  if (backend < 0) fail("fork");
  if (backend == 0) {
    close(signals);
    sigprocmask(SIG_SETMASK, &previous, NULL);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    execv(argv[0], argv);
    fprintf(stderr, "polythene-exec-guard: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(125);
  }

  pid_t command = -1;
  int has_command_ended = 0;
  int wait_ms = 1;
  for (int round = 0;; round++) {
    if (!has_command_ended && command < 0) {
      /* Most commands end (and proot with them) before a full scan would be worth it. */
      int full = wait_ms >= 32 && round % 2 == 0;
      command = find_command(full);
      if (command > 0) {
        command_pidfd = (int)syscall(SYS_pidfd_open, command, 0);
        if (command_pidfd < 0 && errno == ESRCH) has_command_ended = 1;
      } else if (full && has_other_children()) {
        /* No command under the backend, yet processes re-parented here: it has ended. */
        has_command_ended = 1;
      }
      if (has_command_ended) kill_leftovers(signals);
    }
    int command_fd = has_command_ended ? -1 : command_pidfd;
    struct pollfd fds[2] = {{signals, POLLIN, 0}, {command_fd, POLLIN, 0}};
    int timeout = -1;
    if (!has_command_ended && command < 0) {
      timeout = wait_ms;
      if (wait_ms < 32) wait_ms *= 2;
    } else if (!has_command_ended && command_fd < 0) {
      timeout = 20; /* no pidfd here: poll the command's state */
    }
    int ready = poll(fds, command_fd >= 0 ? 2 : 1, timeout);
    if (ready < 0 && errno != EINTR) fail("poll");
    if (!has_command_ended && command > 0 &&
        ((command_fd >= 0 && (fds[1].revents & POLLIN)) || (command_fd < 0 && is_gone(command)))) {
      has_command_ended = 1;
      kill_leftovers(signals);
    }
    struct signalfd_siginfo info;
    while (read(signals, &info, sizeof info) == (ssize_t)sizeof info) {
      if (info.ssi_signo == SIGCHLD) continue;
      /* SIGTERM, SIGINT, SIGHUP, or polythene's death: everything goes, now. */
      kill_children_except(-1);
      exit(128 + SIGKILL);
    }
    reap();
    if (backend_status != -1) finish();
  }
}

int main(int argc, char **argv) {
  int kept[MAX_KEPT];
  int kept_count = 0;
  int keyring = 0, untranslated = 0, reaping = 0, own_network = 0;
  const char *overlay_options = NULL, *overlay_target = NULL;
  const char *newuidmap = NULL, *newgidmap = NULL, *uid_map = NULL, *gid_map = NULL;
  int i = 1;
  for (; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--") == 0) {
      i++;
      break;
    } else if (strcmp(arg, "--keep-fd") == 0 && i + 1 < argc && kept_count < MAX_KEPT) {
      char *end;
      long fd = strtol(argv[++i], &end, 10);
      if (*end != '\0' || fd < 3 || fd > 65535) {
        fprintf(stderr, "polythene-exec-guard: bad --keep-fd %s\n", argv[i]);
        return 125;
      }
      kept[kept_count++] = (int)fd;
    } else if (strcmp(arg, "--keyring") == 0) {
      keyring = 1;
    } else if (strcmp(arg, "--deny-untranslated") == 0) {
      untranslated = 1;
    } else if (strcmp(arg, "--reap") == 0) {
      reaping = 1;
    } else if (strcmp(arg, "--own-network") == 0) {
      own_network = 1;
    } else if (strcmp(arg, "--overlay") == 0 && i + 2 < argc) {
      overlay_options = argv[++i];
      overlay_target = argv[++i];
    } else if (strcmp(arg, "--uid-map") == 0 && i + 1 < argc) {
      uid_map = argv[++i];
    } else if (strcmp(arg, "--gid-map") == 0 && i + 1 < argc) {
      gid_map = argv[++i];
    } else if (strcmp(arg, "--newuidmap") == 0 && i + 1 < argc) {
      newuidmap = argv[++i];
    } else if (strcmp(arg, "--newgidmap") == 0 && i + 1 < argc) {
      newgidmap = argv[++i];
    } else {
      fprintf(stderr, "polythene-exec-guard: unknown option %s\n", arg);
      return 125;
    }
  }
  if (i >= argc) {
    fprintf(stderr,
            "usage: polythene-exec-guard [--keep-fd N]... [--keyring] [--deny-untranslated] "
            "[--reap] [--uid-map MAP --gid-map MAP [--newuidmap PATH --newgidmap PATH] [--own-network] [--overlay OPTIONS TARGET]] -- "
            "ARGV...\n");
    return 125;
  }
  close_inherited_fds(kept, kept_count);
  /* Before no_new_privs (the seccomp filter below): newuidmap and newgidmap are setuid. */
  if ((uid_map == NULL) != (gid_map == NULL)) {
    fprintf(stderr, "polythene-exec-guard: give both --uid-map and --gid-map\n");
    return 125;
  }
  if (uid_map != NULL && enter_user_namespace(newuidmap, newgidmap, uid_map, gid_map) != 0)
    return 125;
  if ((own_network || overlay_options != NULL) && uid_map == NULL) {
    fprintf(stderr, "polythene-exec-guard: --own-network and --overlay need --uid-map\n");
    return 125;
  }
  if (own_network && enter_own_network() != 0) return 125;
  if (overlay_options != NULL && mount_overlay_privately(overlay_options, overlay_target) != 0)
    return 125;
  if (keyring) join_fresh_session_keyring();
  if (keyring || untranslated) install_filter(keyring, untranslated);
  if (reaping) run_reaping(argv + i);
  execv(argv[i], argv + i);
  fprintf(stderr, "polythene-exec-guard: cannot run %s: %s\n", argv[i], strerror(errno));
  return 125;
}
