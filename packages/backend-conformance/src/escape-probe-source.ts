/**
 * The C source of the escape probe: a hostile command's toolbox, compiled static at test
 * set-up (see `buildEscapeProbe`) and copied into the rootfs. Modes:
 *
 * - `fds`: prints each open descriptor above 2 as `fd N -> target`;
 * - `add-key DESC PAYLOAD` (on the host): puts a `user` key in the caller's session and user
 *   keyrings (expiring after 10 minutes);
 * - `keys DESC`: looks for that key in the session, user and user-session keyrings and through
 *   request_key, printing `found WHERE PAYLOAD` for each hit;
 * - `syscalls PATH`: calls, directly through syscall(2), each path-taking system call a
 *   tracing sandbox might not translate on PATH (a file that exists only on the host),
 *   printing `reached NAME` when one saw it, then `control stat ERRNO` for plain stat;
 * - `unsafe-calls`: prints `available NAME` for each of io_uring_setup, execveat,
 *   pidfd_getfd and process_vm_readv that works (they bypass a tracer's translation or reach
 *   other processes; execveat is called with invalid flags, so it never runs anything, and
 *   counts as available unless it fails with ENOSYS), then `done`;
 * - `peek PID`: tries to take descriptor 0 of process PID (pidfd_getfd) and to read its memory
 *   (process_vm_readv at a bogus address: EFAULT means the kernel allowed it), printing
 *   `reached NAME` for each the kernel let through;
 * - `ancestors PID TERCES`: walks up from its parent (PPid in `/proc/<pid>/status`) to PID
 *   (polythene), and for each process tries its `/proc/<pid>/environ` and `/proc/<pid>/mem`.
 *   PID's own: `reached environ|mem PID` when it opens at all. Any other's: `reached … PID`
 *   only when it holds the secret (TERCES reversed, so no argv holds it plainly), else
 *   `read … PID`; `blocked … PID ERRNO` when refused. Ends with `target PID` once it got there,
 *   or `no target` (another pid namespace).
 */
export const ESCAPE_PROBE_SOURCE: string = String.raw`
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#if defined(__x86_64__)
enum { NR_add_key = 248, NR_request_key = 249, NR_keyctl = 250, NR_statx = 332,
       NR_name_to_handle_at = 303, NR_process_vm_readv = 310, NR_execveat = 322 };
#elif defined(__aarch64__)
enum { NR_add_key = 217, NR_request_key = 218, NR_keyctl = 219, NR_statx = 291,
       NR_name_to_handle_at = 264, NR_process_vm_readv = 270, NR_execveat = 281 };
#else
#error unsupported architecture
#endif
enum { NR_openat2 = 437, NR_faccessat2 = 439, NR_open_tree = 428, NR_fchmodat2 = 452,
       NR_io_uring_setup = 425, NR_pidfd_open = 434, NR_pidfd_getfd = 438 };

static void report(const char *name, long result) {
  if (result >= 0) printf("reached %s\n", name);
  else printf("blocked %s %d\n", name, errno);
}

static int list_fds(void) {
  DIR *dir = opendir("/proc/self/fd");
  if (!dir) { perror("opendir /proc/self/fd"); return 1; }
  struct dirent *entry;
  char path[64], target[512];
  while ((entry = readdir(dir))) {
    int fd = atoi(entry->d_name);
    if (entry->d_name[0] == '.' || fd <= 2 || fd == dirfd(dir)) continue;
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, target, sizeof target - 1);
    target[n < 0 ? 0 : n] = 0;
    printf("fd %d -> %s\n", fd, target);
  }
  closedir(dir);
  return 0;
}

static int add_key(const char *desc, const char *payload) {
  int rings[] = {-3 /* session */, -4 /* user */};
  for (int i = 0; i < 2; i++) {
    long key = syscall(NR_add_key, "user", desc, payload, strlen(payload), rings[i]);
    if (key < 0) { perror("add_key"); return 1; }
    syscall(NR_keyctl, 15 /* KEYCTL_SET_TIMEOUT */, key, 600);
  }
  return 0;
}

static int find_keys(const char *desc) {
  struct { int id; const char *name; } rings[] = {{-3, "session"}, {-4, "user"}, {-5, "user-session"}};
  char payload[256];
  for (int i = 0; i < 3; i++) {
    long key = syscall(NR_keyctl, 10 /* KEYCTL_SEARCH */, rings[i].id, "user", desc, 0);
    if (key < 0) { printf("none %s %d\n", rings[i].name, errno); continue; }
    long n = syscall(NR_keyctl, 11 /* KEYCTL_READ */, key, payload, sizeof payload - 1);
    payload[n < 0 ? 0 : n] = 0;
    printf("found %s %s\n", rings[i].name, payload);
  }
  long key = syscall(NR_request_key, "user", desc, NULL, 0);
  if (key >= 0) {
    long n = syscall(NR_keyctl, 11, key, payload, sizeof payload - 1);
    payload[n < 0 ? 0 : n] = 0;
    printf("found request_key %s\n", payload);
  } else {
    printf("none request_key %d\n", errno);
  }
  return 0;
}

static int try_syscalls(const char *path) {
  struct { uint64_t flags, mode, resolve; } how = {O_RDONLY, 0, 0};
  report("openat2", syscall(NR_openat2, AT_FDCWD, path, &how, sizeof how));
  char statx_buffer[512];
  report("statx", syscall(NR_statx, AT_FDCWD, path, 0, 0x7ff, statx_buffer));
  report("faccessat2", syscall(NR_faccessat2, AT_FDCWD, path, F_OK, 0));
  struct { unsigned bytes; int type; unsigned char data[128]; } handle = {128, 0, {0}};
  int mount_id;
  long named = syscall(NR_name_to_handle_at, AT_FDCWD, path, &handle, &mount_id, 0);
  /* EOPNOTSUPP: the path was found, on a filesystem without handles (it reached it). */
  report("name_to_handle_at", named >= 0 || errno == EOPNOTSUPP ? 0 : -1);
  report("open_tree", syscall(NR_open_tree, AT_FDCWD, path, 01000000 /* OPEN_TREE_CLOEXEC */));
  report("fchmodat2", syscall(NR_fchmodat2, AT_FDCWD, path, 0644, 0));
  struct stat st;
  long control = syscall(SYS_newfstatat, AT_FDCWD, path, &st, 0);
  printf("control stat %d\n", control >= 0 ? 0 : errno);
  return 0;
}

static int unsafe_calls(void) {
  char params[120];
  memset(params, 0, sizeof params);
  if (syscall(NR_io_uring_setup, 1, params) >= 0) printf("available io_uring_setup\n");
  char *no_args[] = {NULL};
  if (syscall(NR_execveat, AT_FDCWD, "/bin/sh", no_args, no_args, 0x7fff0000) >= 0 || errno != ENOSYS)
    printf("available execveat\n");
  long self = syscall(NR_pidfd_open, getpid(), 0);
  if (self >= 0 && syscall(NR_pidfd_getfd, self, 1, 0) >= 0) printf("available pidfd_getfd\n");
  char source[8] = "secret", target[8];
  struct iovec local = {target, sizeof target}, remote = {source, sizeof source};
  if (syscall(NR_process_vm_readv, getpid(), &local, 1, &remote, 1, 0) >= 0)
    printf("available process_vm_readv\n");
  printf("done\n");
  return 0;
}

static int peek(int pid) {
  long pidfd = syscall(NR_pidfd_open, pid, 0);
  if (pidfd >= 0) {
    long fd = syscall(NR_pidfd_getfd, pidfd, 0, 0);
    if (fd >= 0) printf("reached pidfd_getfd\n");
    else printf("blocked pidfd_getfd %d\n", errno);
  } else {
    printf("blocked pidfd_open %d\n", errno);
  }
  char target[8];
  struct iovec local = {target, sizeof target}, remote = {(void *)8, sizeof target};
  long n = syscall(NR_process_vm_readv, pid, &local, 1, &remote, 1, 0);
  if (n >= 0 || errno == EFAULT) printf("reached process_vm_readv\n");
  else printf("blocked process_vm_readv %d\n", errno);
  return 0;
}

static int parent_of(int pid) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  FILE *file = fopen(path, "r");
  if (!file) return -1;
  int parent = -1;
  while (fgets(line, sizeof line, file))
    if (!strncmp(line, "PPid:", 5)) parent = atoi(line + 5);
  fclose(file);
  return parent;
}

/* Reads fd from offset (pread) in chunks, looking for the secret across chunk edges. */
static int has_secret_at(int fd, unsigned long start, unsigned long end, const char *secret) {
  static char buffer[1 << 20];
  size_t length = strlen(secret), kept = 0;
  for (unsigned long at = start; at < end;) {
    size_t want = sizeof buffer - kept;
    if (want > end - at) want = end - at;
    ssize_t n = pread(fd, buffer + kept, want, (off_t)at);
    if (n <= 0) return 0;
    size_t filled = kept + (size_t)n;
    if (memmem(buffer, filled, secret, length)) return 1;
    at += (unsigned long)n;
    kept = filled < length - 1 ? filled : length - 1;
    memmove(buffer, buffer + filled - kept, kept);
  }
  return 0;
}

static int memory_has_secret(int pid, int mem, const char *secret) {
  char path[64], line[512];
  snprintf(path, sizeof path, "/proc/%d/maps", pid);
  FILE *maps = fopen(path, "r");
  if (!maps) return 0;
  int found = 0;
  while (!found && fgets(line, sizeof line, maps)) {
    unsigned long start, end;
    char perms[8];
    if (sscanf(line, "%lx-%lx %7s", &start, &end, perms) != 3 || perms[0] != 'r') continue;
    if (strstr(line, "[vvar]") || end - start > (1UL << 30)) continue;
    found = has_secret_at(mem, start, end, secret);
  }
  fclose(maps);
  return found;
}

static int peek_ancestors(int target, const char *reversed) {
  char secret[256], path[64];
  size_t length = strlen(reversed);
  if (length == 0 || length >= sizeof secret) return 2;
  for (size_t i = 0; i < length; i++) secret[i] = reversed[length - 1 - i];
  secret[length] = 0;
  static char environ_text[1 << 20];
  int pid = getppid();
  for (int depth = 0; pid > 0 && depth < 64; depth++) {
    int is_target = pid == target;
    snprintf(path, sizeof path, "/proc/%d/environ", pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
      printf("blocked environ %d %d\n", pid, errno);
    } else {
      ssize_t total = 0, n;
      while (total < (ssize_t)sizeof environ_text &&
             (n = read(fd, environ_text + total, sizeof environ_text - (size_t)total)) > 0)
        total += n;
      close(fd);
      int has = total > 0 && memmem(environ_text, (size_t)total, secret, length) != NULL;
      if (total < 0 || (total == 0 && !is_target)) printf("blocked environ %d %d\n", pid, errno);
      else printf("%s environ %d\n", is_target || has ? "reached" : "read", pid);
    }
    snprintf(path, sizeof path, "/proc/%d/mem", pid);
    fd = open(path, O_RDONLY);
    if (fd < 0) {
      printf("blocked mem %d %d\n", pid, errno);
    } else {
      int has = !is_target && memory_has_secret(pid, fd, secret);
      printf("%s mem %d\n", is_target || has ? "reached" : "read", pid);
      close(fd);
    }
    if (is_target) {
      printf("target %d\n", pid);
      return 0;
    }
    if (pid == 1) break;
    pid = parent_of(pid);
  }
  printf("no target\n");
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc >= 2 && !strcmp(argv[1], "fds")) return list_fds();
  if (argc >= 4 && !strcmp(argv[1], "add-key")) return add_key(argv[2], argv[3]);
  if (argc >= 3 && !strcmp(argv[1], "keys")) return find_keys(argv[2]);
  if (argc >= 3 && !strcmp(argv[1], "syscalls")) return try_syscalls(argv[2]);
  if (argc >= 2 && !strcmp(argv[1], "unsafe-calls")) return unsafe_calls();
  if (argc >= 3 && !strcmp(argv[1], "peek")) return peek(atoi(argv[2]));
  if (argc >= 4 && !strcmp(argv[1], "ancestors")) return peek_ancestors(atoi(argv[2]), argv[3]);
  fprintf(stderr, "usage: escape-probe fds | add-key DESC PAYLOAD | keys DESC | syscalls PATH | unsafe-calls | peek PID | ancestors PID TERCES\n");
  return 2;
}
`;
