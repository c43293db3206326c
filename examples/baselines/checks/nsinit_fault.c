// A pid-namespace init that faults: killed by SIGSEGV natively; under ptrace the kernel
// keeps SIGNAL_UNKILLABLE (force_sig_info_to_task), drops the fatal signal, and the task
// re-executes the faulting store forever. Prints how the child ended within 3 s.
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
static char stack[1 << 16];
static int child(void *a) { (void)a; *(volatile int *)0 = 1; return 0; }
int main(void) {
    pid_t p = clone(child, stack + sizeof stack, CLONE_NEWPID | SIGCHLD, 0);
    if (p < 0) { perror("clone"); return 2; }
    for (int i = 0; i < 30; i++) {
        int st;
        if (waitpid(p, &st, WNOHANG) == p) {
            if (WIFSIGNALED(st)) printf("child killed by signal %d\n", WTERMSIG(st));
            else printf("child exited %d\n", WEXITSTATUS(st));
            return 0;
        }
        usleep(100000);
    }
    printf("child still running after 3 s (looping on its fault)\n");
    kill(p, SIGKILL);
    waitpid(p, 0, 0);
    return 0;
}
