// clone3 with CLONE_FS: the child shares the parent's cwd, so it sees the parent's later
// chdir. proot honours CLONE_FS for clone(2) but not for clone3(2).
#define _GNU_SOURCE
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
    mkdir("clone3_fs.d", 0700);
    struct clone_args a;
    memset(&a, 0, sizeof a);
    a.flags = CLONE_FS;
    a.exit_signal = SIGCHLD;
    long p = syscall(SYS_clone3, &a, sizeof a);
    if (p < 0) { perror("clone3"); return 2; }
    if (p == 0) {
        usleep(300000);
        char cwd[4096];
        getcwd(cwd, sizeof cwd);
        printf("child's cwd after the parent's chdir: %s\n", strrchr(cwd, '/')); fflush(stdout);
        _exit(0);
    }
    chdir("clone3_fs.d");
    waitpid(p, 0, 0);
    chdir("..");
    rmdir("clone3_fs.d");
    return 0;
}
