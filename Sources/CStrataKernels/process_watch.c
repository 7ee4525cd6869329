// A child that stops when the process that started it ends: a sweep's runs
// (strata sweep) must not outlive the sweep, even one killed with SIGKILL.
#include "StrataKernels.h"
#include <signal.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

int strata_stop_with_parent(int parent) {
#ifdef __linux__
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) return -1;
    if (getppid() != (pid_t)parent) raise(SIGTERM);
    return 0;
#else
    (void)parent;
    return -1;
#endif
}
