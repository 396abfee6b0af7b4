/* SPDX-License-Identifier: MIT */
/*
 * `vmm ctl SOCKET COMMAND [--json]`: the built-in client of the control
 * API (ctl.c). One request per invocation.
 */
#ifndef VMM_CTL_H
#define VMM_CTL_H

/* argv[0] is "ctl". Returns the process exit status: 0 when vmm answered 2xx. */
int ctl_main(int argc, char **argv);

#endif
