/*
 * polythene-become: the last step of a bwrap run in a user namespace with a full id map, run
 * by bwrap in the box as root of that namespace, right before the command.
 *
 *   polythene-become --caps MASK --uid U --gid G -- ARGV...
 *
 * bwrap 0.8 can only become another user by nesting a user namespace that maps that one id
 * (everything else shows as nobody, or, in a namespace whose root is the caller, root's files
 * become that user's). This helper runs with the run's capabilities plus the few it needs for
 * its own work (SETUID, SETGID, SETPCAP) and then:
 *   - narrows the bounding set to MASK (hex bits of CAP_*), clears the ambient set;
 *   - becomes U:G (supplementary groups: G only) when they are not 0:0;
 *   - sets the permitted, effective and inheritable sets to MASK for uid 0, to nothing for any
 *     other uid;
 *   - exec's ARGV, looked up on the PATH of its environment (the command's whole environment).
 * bwrap has set no_new_privs before, so nothing the command exec's gains more.
 *
 * Its own failures are one line on stderr starting "polythene: ", exit 125; a command that
 * cannot be run is exit 127 (not found) or 126.
 */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static void fail(const char *what) {
  fprintf(stderr, "polythene: setting up the box: %s: %s\n", what, strerror(errno));
  exit(125);
}

static void usage(void) {
  fputs("polythene-become: usage: polythene-become --caps MASK --uid U --gid G -- ARGV...\n", stderr);
  exit(125);
}

static unsigned long long parse(const char *text, int base) {
  char *end = NULL;
  errno = 0;
  unsigned long long value = strtoull(text, &end, base);
  if (errno != 0 || end == text || *end != '\0') usage();
  return value;
}

static void narrow_bounding_set(unsigned long long mask) {
  /* Dropping needs CAP_SETPCAP in the effective set: it goes last. */
  for (int cap = 0; cap <= 63; cap++) {
    if (cap == CAP_SETPCAP || (mask >> cap) & 1ULL) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) fail("cannot narrow the capability bounding set");
  }
  if (!((mask >> CAP_SETPCAP) & 1ULL) && prctl(PR_CAPBSET_DROP, CAP_SETPCAP, 0, 0, 0) != 0) {
    fail("cannot narrow the capability bounding set");
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) fail("cannot clear the ambient capabilities");
}

static void set_capabilities(unsigned long long mask) {
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  for (int i = 0; i < 2; i++) {
    __u32 bits = (__u32)(mask >> (32 * i));
    data[i].effective = bits;
    data[i].permitted = bits;
    data[i].inheritable = bits;
  }
  if (syscall(SYS_capset, &header, data) != 0) fail("cannot set the capabilities");
}

int main(int argc, char **argv) {
  int has_caps = 0;
  long long uid = -1, gid = -1;
  unsigned long long mask = 0;
  int index = 1;
  for (; index < argc; index++) {
    const char *arg = argv[index];
    if (strcmp(arg, "--") == 0) {
      index++;
      break;
    }
    if (index + 1 >= argc) usage();
    else if (strcmp(arg, "--caps") == 0) {
      mask = parse(argv[++index], 16);
      has_caps = 1;
    } else if (strcmp(arg, "--uid") == 0) uid = (long long)parse(argv[++index], 10);
    else if (strcmp(arg, "--gid") == 0) gid = (long long)parse(argv[++index], 10);
    else usage();
  }
  if (!has_caps || uid < 0 || gid < 0 || uid > 0xfffffffeLL || gid > 0xfffffffeLL || index >= argc) usage();
  char **command = argv + index;

  narrow_bounding_set(mask);
  if (uid != 0 || gid != 0) {
    gid_t groups[1] = {(gid_t)gid};
    if (setgroups(1, groups) != 0) fail("cannot set the groups");
    if (setresgid((gid_t)gid, (gid_t)gid, (gid_t)gid) != 0) fail("cannot become that group");
    if (setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) != 0) fail("cannot become that user");
  }
  set_capabilities(uid == 0 ? mask : 0);
  execvp(command[0], command);
  int error = errno;
  fprintf(stderr, "polythene: %s: %s in the box\n", command[0], error == ENOENT ? "command not found" : strerror(error));
  return error == ENOENT ? 127 : 126;
}
