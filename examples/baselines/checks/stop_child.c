/* A child stopped by SIGSTOP stays stopped: /proc/PID/stat reads T natively (t, a
 * tracing stop, under strace -f). Under proot 5.1 the child goes on running: proot
 * resumes a tracee from its group stop. docs/implementations.md, proot, 432283ab. */
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void nap(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

int main(void) {
    pid_t c = fork();
    if (c == 0) {
        for (;;)
            pause();
    }
    nap(200);
    kill(c, SIGSTOP);
    nap(300);
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)c);
    FILE *f = fopen(path, "r");
    char state = '?';
    if (f && fgets(buf, sizeof buf, f)) {
        char *p = buf;
        while (*p && *p != ')')
            p++;
        if (*p)
            state = p[2];
    }
    if (f)
        fclose(f);
    printf("child state 300 ms after SIGSTOP: %c\n", state);
    fflush(stdout);
    kill(c, SIGKILL);
    waitpid(c, NULL, 0);
    return 0;
}
