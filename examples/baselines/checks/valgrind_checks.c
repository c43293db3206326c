// What differs under valgrind, one line each: clone3, clone with CLONE_FILES, signal 64
// (handled, sent, and its disposition after an exec), vfork suspending its parent, an exec
// with fd 2 closed, the pidfd calls and seccomp, a disposition for SIGSTOP, and the child's
// tid word under clone(CLONE_VM|CLONE_VFORK|CLONE_CHILD_SETTID). Run natively and under
// `valgrind -q --trace-children=yes`.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <linux/filter.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static void h(int s) { (void)s; }

static const char *res(long r) { static char b[64]; if (r >= 0) snprintf(b, sizeof b, "%ld", r); else snprintf(b, sizeof b, "-1 %s", strerrorname_np(errno)); return b; }
static char child_stack[65536];
static int child_fn(void *a) { (void)a; return 0; }
static void the_newer_calls(void) {
    int self = (int)syscall(SYS_pidfd_open, getpid(), 0);
    printf("pidfd_open(self, 0): %s\n", res(self));
    printf("pidfd_send_signal(-1, SIGURG): %s (Linux: EBADF)\n", res(syscall(SYS_pidfd_send_signal, -1, SIGURG, 0, 0)));
    printf("pidfd_getfd(-1, 1): %s (Linux: EBADF)\n", res(syscall(SYS_pidfd_getfd, -1, 1, 0)));
    if (self >= 0) close(self);
    struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    struct sock_fprog prog = {1, &allow};
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    printf("seccomp(SET_MODE_FILTER, allow all): %s\n", res(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog)));
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    printf("sigaction(SIGSTOP, SIG_DFL): %s (Linux: EINVAL)\n", res(sigaction(SIGSTOP, &sa, 0)));
    // The child's tid lands in memory the parent shares only if CLONE_VM was kept.
    static volatile pid_t tid_word = 0;
    fflush(stdout);
    long p = clone(child_fn, child_stack + sizeof child_stack, CLONE_VM | CLONE_VFORK | CLONE_CHILD_SETTID | SIGCHLD, 0, 0, 0, &tid_word);
    if (p > 0) waitpid(p, 0, 0);
    printf("clone(VM|VFORK|CHILD_SETTID): the parent reads the child's tid word as %s\n", p > 0 && tid_word == p ? "the child's tid" : tid_word == 0 ? "0 (never written in its memory)" : "something else");
    fflush(stdout);
}
int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "after_exec")) {
        struct sigaction old;
        sigaction(64, 0, &old);
        printf("after an exec, signal 64 is %s\n", old.sa_handler == SIG_IGN ? "ignored" : old.sa_handler == SIG_DFL ? "default" : "caught");
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "clone_files")) {
        // Last: valgrind aborts the whole process here.
        long p = syscall(SYS_clone, CLONE_FILES | SIGCHLD, 0, 0, 0, 0);
        if (p == 0) _exit(0);
        waitpid(p, 0, 0);
        printf("clone(CLONE_FILES|SIGCHLD): a child (%ld)\n", p);
        return 0;
    }
    the_newer_calls();
    struct clone_args a;
    memset(&a, 0, sizeof a);
    a.exit_signal = SIGCHLD;
    long p = syscall(SYS_clone3, &a, sizeof a);
    if (p == 0) _exit(0);
    if (p > 0) waitpid(p, 0, 0);
    printf("clone3(exit_signal=SIGCHLD): %s\n", p > 0 ? "a child" : strerror(errno));
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = h;
    printf("sigaction(64, handler): %s\n", sigaction(64, &sa, 0) == 0 ? "0" : strerror(errno));
    sa.sa_handler = SIG_DFL;
    sigaction(64, &sa, 0);
    fflush(stdout);
    p = fork();
    if (p == 0) {
        int r = kill(getpid(), 64);
        _exit(r == 0 ? 0 : errno);
    }
    int st;
    waitpid(p, &st, 0);
    if (WIFSIGNALED(st)) printf("kill(self, 64): killed by signal %d\n", WTERMSIG(st));
    else printf("kill(self, 64): %s\n", strerror(WEXITSTATUS(st)));
    p = fork();
    if (p == 0) {
        // Not /proc/self/exe: under valgrind that is valgrind's tool.
        execl(argv[0], argv[0], "after_exec", (char *)0);
        _exit(126);
    }
    waitpid(p, 0, 0);
    fflush(stdout);
    double t0 = now();
    if (vfork() == 0) {
        usleep(300000);
        _exit(0);
    }
    printf("vfork parent resumed after %.0f ms (child sleeps 300 ms)\n", (now() - t0) * 1000);
    wait(0);
    fflush(stdout);
    p = fork();
    if (p == 0) {
        close(2);
        execl("/bin/true", "true", (char *)0);
        _exit(126);
    }
    waitpid(p, &st, 0);
    printf("exec of /bin/true with fd 2 closed: exit %d\n", WEXITSTATUS(st));
    return 0;
}
