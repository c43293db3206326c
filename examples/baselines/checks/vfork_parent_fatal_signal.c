// A fatal signal to a vfork parent: natively it dies at once (a zombie while its vfork
// child still runs); under ptrace complete_signal() does not promote the fatal signal to a
// group kill (`sig == SIGKILL || !p->ptrace`), so the parent stays in wait_for_vfork_done
// (state D) until the child exits. Prints the parent's state 300 ms after the signal.
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
    int ready[2];
    if (pipe(ready)) return 2;
    pid_t p = fork();
    if (p == 0) {
        if (vfork() == 0) {
            // The parent is suspended in vfork now.
            write(ready[1], "r", 1);
            usleep(1000000);
            _exit(0);
        }
        _exit(0);
    }
    char b;
    read(ready[0], &b, 1);
    usleep(100000);
    kill(p, SIGUSR1);
    usleep(300000);
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", p);
    FILE *f = fopen(path, "r");
    if (f && fgets(buf, sizeof buf, f)) {
        char *s = strrchr(buf, ')');
        printf("vfork parent 300 ms after SIGUSR1: state %c\n", s ? s[2] : '?');
    }
    int st;
    waitpid(p, &st, 0);
    printf("then %s %d\n", WIFSIGNALED(st) ? "killed by signal" : "exited", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
    return 0;
}
