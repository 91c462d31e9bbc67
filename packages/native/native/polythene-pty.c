/*
 * polythene-pty: a pseudo-terminal of its own for a command in a box, while the user's
 * terminal stays outside the box.
 *
 *   polythene-pty relay [-i] -- BACKEND ARG...   outside the box, in front of the backend
 *   polythene-pty inner -- COMMAND ARG...        inside the box, in front of the command
 *
 * The relay holds the user's terminal (polythene's stdin, stdout and stderr): it puts it in
 * raw mode when input is forwarded (-i) and stdin is a terminal, and always restores it, also
 * when polythene dies (parent-death signal) or the backend is killed. The backend gets pipes,
 * never the terminal, so nothing in the box can reach the user's terminal (no TIOCSTI,
 * TIOCLINUX, or reading the user's keys through /proc/PID/fd). It writes frames to the
 * backend's stdin: 'w' (window size, always first), 'd' (input bytes); the end of input is
 * the end of the pipe. It relays the backend's stdout and stderr back, and exits as the
 * backend did.
 *
 * The inner runs in the box, where the box's own devpts is mounted: it opens a pty there,
 * starts the command as a session leader with the pty as its controlling terminal (so job
 * control works and `tty` names /dev/pts/N), writes input frames to the pty and sizes to it
 * (the kernel then sends SIGWINCH to the foreground job), copies the pty's output to its
 * stdout, forwards SIGINT, SIGTERM, SIGHUP and SIGQUIT to the terminal's foreground process
 * group, and exits as the command did.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

#define FRAME_DATA 'd'
#define FRAME_WINSIZE 'w'
#define FRAME_HEADER 3
#define FRAME_MAX 4096
/* How often the relay looks at the terminal's size: it is in a session of its own, so the
 * kernel's SIGWINCH goes to polythene's process group, not to it. */
#define WINSIZE_POLL_MS 100
/* After the child ended, output still in flight gets this long to arrive. */
#define DRAIN_MS 300

static void die(const char *what) {
  fprintf(stderr, "polythene-pty: %s: %s\n", what, strerror(errno));
  exit(125);
}

static int write_all(int fd, const void *data, size_t length) {
  const char *bytes = data;
  while (length > 0) {
    ssize_t written = write(fd, bytes, length);
    if (written < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    bytes += written;
    length -= (size_t)written;
  }
  return 0;
}

static int write_frame(int fd, char type, const void *payload, size_t length) {
  unsigned char header[FRAME_HEADER] = {(unsigned char)type, (unsigned char)(length >> 8),
                                        (unsigned char)(length & 0xff)};
  if (write_all(fd, header, sizeof header) < 0) return -1;
  return length == 0 ? 0 : write_all(fd, payload, length);
}

static long monotonic_ms(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return now.tv_sec * 1000L + now.tv_nsec / 1000000L;
}

/* Blocks the signals a process handles through its signalfd, and returns that fd. */
static int open_signalfd(const int *signals, int count, sigset_t *old_mask) {
  sigset_t mask;
  sigemptyset(&mask);
  for (int i = 0; i < count; i++) sigaddset(&mask, signals[i]);
  if (sigprocmask(SIG_BLOCK, &mask, old_mask) < 0) die("sigprocmask");
  int fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd < 0) die("signalfd");
  return fd;
}

/* For a child about to exec: default dispositions and the mask the process started with. */
static void reset_signals(const sigset_t *old_mask) {
  for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
  sigprocmask(SIG_SETMASK, old_mask, NULL);
}

/* Ends this process as `status` ended the child: same exit code, or same signal. */
static void exit_like(int status) {
  if (WIFEXITED(status)) exit(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    /* No core file of ours for the command's crash. */
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none);
    signal(sig, SIG_DFL);
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, sig);
    sigprocmask(SIG_UNBLOCK, &mask, NULL);
    raise(sig);
    exit(128 + sig);
  }
  exit(125);
}

/* ---------------------------------------------------------------- relay (outside the box) */

static struct termios saved_termios;
static int has_saved_termios = 0;

static void restore_terminal(void) {
  if (has_saved_termios) tcsetattr(0, TCSANOW, &saved_termios);
  has_saved_termios = 0;
}

static void make_raw(void) {
  if (tcgetattr(0, &saved_termios) < 0) return;
  struct termios raw = saved_termios;
  cfmakeraw(&raw);
  if (tcsetattr(0, TCSANOW, &raw) == 0) has_saved_termios = 1;
}

/* Writes the backend's stderr; in raw mode a newline no longer returns the carriage. */
static void write_error_output(const char *data, size_t length) {
  if (!has_saved_termios) {
    write_all(2, data, length);
    return;
  }
  size_t start = 0;
  for (size_t i = 0; i < length; i++) {
    if (data[i] != '\n') continue;
    write_all(2, data + start, i - start);
    write_all(2, "\r\n", 2);
    start = i + 1;
  }
  write_all(2, data + start, length - start);
}

static void send_winsize(int to_backend, struct winsize *last, int force) {
  struct winsize size = {0, 0, 0, 0};
  if (isatty(0) && ioctl(0, TIOCGWINSZ, &size) < 0) memset(&size, 0, sizeof size);
  if (!force && size.ws_row == last->ws_row && size.ws_col == last->ws_col) return;
  *last = size;
  unsigned char payload[4] = {(unsigned char)(size.ws_row >> 8), (unsigned char)size.ws_row,
                              (unsigned char)(size.ws_col >> 8), (unsigned char)size.ws_col};
  write_frame(to_backend, FRAME_WINSIZE, payload, sizeof payload);
}

static int run_relay(int interactive, char **argv) {
  /* It holds the user's terminal: a command of the same user (proot shares the pid namespace)
   * must not read or write its memory through /proc/<pid>/mem, nor trace it. Before the
   * fork, so no process of the box ever sees it otherwise; the backend's exec resets it. */
  if (prctl(PR_SET_DUMPABLE, 0) < 0) die("prctl");
  pid_t parent = getppid();
  /* polythene dying (even by SIGKILL) must still restore the terminal: a catchable signal. */
  if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0) die("prctl");
  if (getppid() != parent) exit(125);
  signal(SIGPIPE, SIG_IGN);

  int to_backend[2], from_stdout[2], from_stderr[2];
  if (pipe2(to_backend, O_CLOEXEC) < 0 || pipe2(from_stdout, O_CLOEXEC) < 0 ||
      pipe2(from_stderr, O_CLOEXEC) < 0)
    die("pipe");
  struct winsize last = {0, 0, 0, 0};
  /* The first frame, written before the box starts: the inner sets the size before it
   * starts the command, so even the command's first `stty size` sees it. */
  send_winsize(to_backend[1], &last, 1);

  const int signals[] = {SIGCHLD, SIGTERM, SIGHUP, SIGINT, SIGQUIT};
  sigset_t old_mask;
  int sigfd = open_signalfd(signals, 5, &old_mask);
  if (interactive && isatty(0)) make_raw();

  pid_t backend = fork();
  if (backend < 0) {
    restore_terminal();
    die("fork");
  }
  if (backend == 0) {
    /* A process group of its own, as when polythene starts a backend itself. */
    setpgid(0, 0);
    if (dup2(to_backend[0], 0) < 0 || dup2(from_stdout[1], 1) < 0 || dup2(from_stderr[1], 2) < 0)
      _exit(125);
    reset_signals(&old_mask);
    execv(argv[0], argv);
    fprintf(stderr, "polythene-pty: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(125);
  }
  close(to_backend[0]);
  close(from_stdout[1]);
  close(from_stderr[1]);

  int is_stdin_open = interactive;
  int is_stdout_open = 1, is_stderr_open = 1, is_stdout_writable = 1;
  int has_exited = 0, status = 0;
  long exited_at = 0;
  char buffer[FRAME_MAX];
  for (;;) {
    if (has_exited && ((!is_stdout_open && !is_stderr_open) || monotonic_ms() - exited_at > DRAIN_MS))
      break;
    struct pollfd fds[4] = {
        {sigfd, POLLIN, 0},
        {is_stdout_open ? from_stdout[0] : -1, POLLIN, 0},
        {is_stderr_open ? from_stderr[0] : -1, POLLIN, 0},
        {is_stdin_open && !has_exited ? 0 : -1, POLLIN, 0},
    };
    int ready = poll(fds, 4, has_saved_termios || isatty(0) ? WINSIZE_POLL_MS : DRAIN_MS);
    if (ready < 0 && errno != EINTR) break;
    if (!has_exited && isatty(0)) send_winsize(to_backend[1], &last, 0);
    if (fds[0].revents & POLLIN) {
      struct signalfd_siginfo info;
      while (read(sigfd, &info, sizeof info) == sizeof info) {
        if (info.ssi_signo != SIGCHLD) {
          /* polythene is gone, or someone ends the relay: the box goes first. The backend
           * alone: its death takes the box down (bwrap's and unshare's parent-death signal,
           * the inner side's under proot, which then ends the command's whole session). The
           * rest of its process group goes after the loop. The terminal is restored first:
           * the user's shell takes it back as soon as polythene is gone. */
          restore_terminal();
          kill(backend, SIGKILL);
        }
      }
      if (!has_exited && waitpid(backend, &status, WNOHANG) == backend) {
        has_exited = 1;
        exited_at = monotonic_ms();
      }
    }
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t count = read(from_stdout[0], buffer, sizeof buffer);
      if (count > 0) {
        if (is_stdout_writable && write_all(1, buffer, (size_t)count) < 0) is_stdout_writable = 0;
      } else if (count == 0 || errno != EINTR) {
        is_stdout_open = 0;
      }
    }
    if (fds[2].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t count = read(from_stderr[0], buffer, sizeof buffer);
      if (count > 0) write_error_output(buffer, (size_t)count);
      else if (count == 0 || errno != EINTR) is_stderr_open = 0;
    }
    if (fds[3].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t count = read(0, buffer, sizeof buffer);
      if (count > 0) {
        if (write_frame(to_backend[1], FRAME_DATA, buffer, (size_t)count) < 0) is_stdin_open = 0;
      } else if (count == 0 || errno != EINTR) {
        /* The end of input: the inner sees its stdin end. */
        is_stdin_open = 0;
        close(to_backend[1]);
        to_backend[1] = -1;
      }
    }
  }
  restore_terminal();
  if (!has_exited) {
    kill(backend, SIGKILL);
    while (waitpid(backend, &status, 0) < 0 && errno == EINTR) {
    }
  }
  /* Whatever the backend left in its process group ends with the run. */
  kill(-backend, SIGKILL);
  exit_like(status);
  return 125;
}

/* ---------------------------------------------------------------- inner (inside the box) */

static int read_full(int fd, void *data, size_t length) {
  char *bytes = data;
  while (length > 0) {
    ssize_t count = read(fd, bytes, length);
    if (count < 0 && errno == EINTR) continue;
    if (count <= 0) return -1;
    bytes += count;
    length -= (size_t)count;
  }
  return 0;
}

static void apply_winsize(int master, const unsigned char *payload) {
  struct winsize size = {0, 0, 0, 0};
  size.ws_row = (unsigned short)(payload[0] << 8 | payload[1]);
  size.ws_col = (unsigned short)(payload[2] << 8 | payload[3]);
  /* 0 x 0: no terminal on polythene's side, so no size is set. */
  if (size.ws_row != 0 && size.ws_col != 0) ioctl(master, TIOCSWINSZ, &size);
}

/* The input frames the relay writes; `pending` holds a frame that arrived in pieces. */
struct frames {
  unsigned char data[FRAME_HEADER + 65536];
  size_t length;
};

/* Applies every complete frame in `frames`. */
static void apply_frames(struct frames *frames, int master) {
  size_t at = 0;
  while (frames->length - at >= FRAME_HEADER) {
    const unsigned char *frame = frames->data + at;
    size_t length = (size_t)frame[1] << 8 | frame[2];
    if (frames->length - at < FRAME_HEADER + length) break;
    if (frame[0] == FRAME_DATA) write_all(master, frame + FRAME_HEADER, length);
    else if (frame[0] == FRAME_WINSIZE && length == 4) apply_winsize(master, frame + FRAME_HEADER);
    at += FRAME_HEADER + length;
  }
  memmove(frames->data, frames->data + at, frames->length - at);
  frames->length -= at;
}

/* The end of input: a terminal's end-of-file character, as a user typing ^D. */
static void send_end_of_input(int master) {
  struct termios modes;
  if (tcgetattr(master, &modes) == 0 && (modes.c_lflag & ICANON)) {
    char eof = (char)modes.c_cc[VEOF];
    write_all(master, &eof, 1);
  }
}

/*
 * SIGKILLs every process of session `session` (the command's): what it left behind, such as a
 * background job, ends with it, as a box's pid namespace ends it. Under proot, which has none,
 * such a process would otherwise keep the run going.
 */
static void kill_session(pid_t session) {
  for (int round = 0; round < 5; round++) {
    DIR *proc = opendir("/proc");
    if (proc == NULL) return;
    int killed = 0;
    struct dirent *entry;
    while ((entry = readdir(proc)) != NULL) {
      char *end;
      long pid = strtol(entry->d_name, &end, 10);
      if (*end != '\0' || pid <= 0 || pid == (long)getpid()) continue;
      char path[64];
      snprintf(path, sizeof path, "/proc/%ld/stat", pid);
      int fd = open(path, O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      char text[1024];
      ssize_t count = read(fd, text, sizeof text - 1);
      close(fd);
      if (count <= 0) continue;
      text[count] = '\0';
      /* The command name may hold spaces and parentheses: fields follow the last ')'. */
      char *name_end = strrchr(text, ')');
      char state;
      int parent, group, sid;
      if (name_end == NULL || sscanf(name_end + 1, " %c %d %d %d", &state, &parent, &group, &sid) != 4)
        continue;
      if (sid != session || state == 'Z') continue;
      if (kill((pid_t)pid, SIGKILL) == 0) killed++;
    }
    closedir(proc);
    if (killed == 0) return;
  }
}

static int run_inner(char **argv) {
  /* The first frame is the window size, written before the box started. */
  unsigned char first[FRAME_HEADER + 4];
  if (read_full(0, first, sizeof first) < 0 || first[0] != FRAME_WINSIZE || first[2] != 4) {
    fprintf(stderr, "polythene-pty: inner: no window size from the relay\n");
    return 125;
  }
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) die("cannot open /dev/ptmx in the box");
  if (grantpt(master) < 0 || unlockpt(master) < 0) die("cannot unlock the pty");
  apply_winsize(master, first + FRAME_HEADER);
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) {
    const char *name = ptsname(master);
    if (name == NULL) die("ptsname");
    slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) die("cannot open the pty");
  }

  signal(SIGPIPE, SIG_IGN);
  const int signals[] = {SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1};
  sigset_t old_mask;
  int sigfd = open_signalfd(signals, 6, &old_mask);
  /* Its parent (the box's init, or proot) gone, the command's session goes too (SIGUSR1). */
  pid_t parent = getppid();
  prctl(PR_SET_PDEATHSIG, SIGUSR1);
  int is_orphaned = getppid() != parent;

  pid_t child = fork();
  if (child < 0) die("fork");
  if (child == 0) {
    if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0) {
      fprintf(stderr, "polythene-pty: cannot make the pty the command's terminal: %s\n",
              strerror(errno));
      _exit(125);
    }
    if (dup2(slave, 0) < 0 || dup2(slave, 1) < 0 || dup2(slave, 2) < 0) _exit(125);
    reset_signals(&old_mask);
    execv(argv[0], argv);
    int error = errno;
    fprintf(stderr, "polythene: cannot run %s: %s\r\n", argv[0], strerror(error));
    _exit(error == ENOENT ? 127 : 126);
  }
  /* Still dumpable: proot, tracing without capabilities, reads this process's /proc entries
   * to translate its paths. Its fds give the box nothing the box has not got: its own pty, its
   * input and its output, never the user's terminal. */
  close(slave);
  if (is_orphaned) kill_session(child);

  static struct frames frames;
  frames.length = 0;
  int is_stdin_open = 1, is_master_open = 1, has_exited = 0, status = 0;
  long exited_at = 0;
  char buffer[FRAME_MAX];
  for (;;) {
    if (has_exited && (!is_master_open || monotonic_ms() - exited_at > DRAIN_MS)) break;
    struct pollfd fds[3] = {
        {sigfd, POLLIN, 0},
        {is_master_open ? master : -1, POLLIN, 0},
        {is_stdin_open && !has_exited ? 0 : -1, POLLIN, 0},
    };
    int ready = poll(fds, 3, has_exited ? 20 : -1);
    if (ready < 0 && errno != EINTR) break;
    if (ready == 0 && has_exited) break; /* nothing more in flight */
    if (fds[0].revents & POLLIN) {
      struct signalfd_siginfo info;
      while (read(sigfd, &info, sizeof info) == sizeof info) {
        if (info.ssi_signo == SIGCHLD) continue;
        if (info.ssi_signo == SIGUSR1) {
          kill_session(child);
          continue;
        }
        /* As a terminal sends it: to the foreground job, and to the command itself. */
        pid_t group = tcgetpgrp(master);
        if (group > 0) kill(-group, (int)info.ssi_signo);
        kill(child, (int)info.ssi_signo);
      }
      if (!has_exited && waitpid(child, &status, WNOHANG) == child) {
        has_exited = 1;
        exited_at = monotonic_ms();
      }
    }
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t count = read(master, buffer, sizeof buffer);
      if (count > 0) write_all(1, buffer, (size_t)count);
      /* EIO: every holder of the pty's other side has closed it. */
      else if (count == 0 || errno != EINTR) is_master_open = 0;
    }
    if (fds[2].revents & (POLLIN | POLLHUP | POLLERR)) {
      size_t room = sizeof frames.data - frames.length;
      ssize_t count = read(0, frames.data + frames.length, room);
      if (count > 0) {
        frames.length += (size_t)count;
        apply_frames(&frames, master);
      } else if (count == 0 || errno != EINTR) {
        is_stdin_open = 0;
        send_end_of_input(master);
      }
    }
  }
  kill_session(child);
  exit_like(status);
  return 125;
}

static int usage(void) {
  fprintf(stderr, "usage: polythene-pty relay [-i] -- BACKEND ARG... | inner -- COMMAND ARG...\n");
  return 125;
}

int main(int argc, char **argv) {
  if (argc < 2) return usage();
  int interactive = 0, at = 2;
  if (at < argc && strcmp(argv[at], "-i") == 0) {
    interactive = 1;
    at++;
  }
  if (at >= argc - 1 || strcmp(argv[at], "--") != 0) return usage();
  char **command = argv + at + 1;
  if (strcmp(argv[1], "relay") == 0) return run_relay(interactive, command);
  if (strcmp(argv[1], "inner") == 0) return run_inner(command);
  return usage();
}
