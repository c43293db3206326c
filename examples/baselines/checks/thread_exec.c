// execve from a thread other than the leader: the thread takes over the process (de_thread)
// and the new program runs.
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
static void *run(void *a) { (void)a; execl("/bin/echo", "echo", "exec from a thread: the new program runs", (char *)0); perror("execl"); return 0; }
int main(void) { pthread_t t; pthread_create(&t, 0, run, 0); pthread_join(t, 0); return 1; }
