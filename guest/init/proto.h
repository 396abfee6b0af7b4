/* SPDX-License-Identifier: MIT */
/*
 * What vmm and the guest init of `vmm run --bundle` (guest/init/init.c)
 * say to each other. Shared by both sides; plain C, no dependencies.
 *
 * The spec: the bundle's config.json, checked and reduced by vmm
 * (vmm/bundle.c) to what the init needs, as the file /vmm/spec of the
 * initramfs vmm makes. A sequence of records, each one tag byte then the
 * value, ended by a NUL (values never hold a NUL: vmm refuses those).
 * Numbers are decimal. The first record is SPEC_VERSION "1".
 *
 * The channel: the process's stdin, stdout, stderr, its exit status and
 * signals travel as frames over the guest's /dev/hvc0 (a virtio-console
 * port that only vmm and the init use; the kernel's messages stay on the
 * serial port). A frame is a 3-byte header, type then payload length
 * (little-endian 16 bits, at most CHAN_MAX_PAYLOAD), then the payload.
 */
#ifndef GUEST_INIT_PROTO_H
#define GUEST_INIT_PROTO_H

/* --- spec records ----------------------------------------------------- */
#define SPEC_VERSION    'V' /* "1" */
#define SPEC_ARG        'A' /* one per process.args entry, in order */
#define SPEC_ENV        'E' /* one per process.env entry, "NAME=value" */
#define SPEC_CWD        'C'
#define SPEC_UID        'U'
#define SPEC_GID        'G'
#define SPEC_GROUP      'g' /* one per additionalGids entry */
#define SPEC_UMASK      'K'
#define SPEC_TERMINAL   'T' /* "1": the process gets a terminal */
#define SPEC_HOSTNAME   'H'
#define SPEC_RLIMIT     'R' /* "RESOURCE SOFT HARD" (RLIMIT_* number) */
#define SPEC_NO_NEW_PRIVS 'N' /* "1" */
#define SPEC_CAPS       'P' /* "BOUNDING EFFECTIVE INHERITABLE PERMITTED
			       AMBIENT", each a hex bit mask */
#define SPEC_ROOT_RO    'O' /* "1": / is remounted read-only */
#define SPEC_MOUNT      'M' /* a mount: its destination; the records up to
			       the next SPEC_MOUNT describe it: */
#define SPEC_MOUNT_TYPE 'm'
#define SPEC_MOUNT_SRC  's'
#define SPEC_MOUNT_FLAGS 'f' /* MS_* flags */
#define SPEC_MOUNT_DATA 'd'

#define SPEC_FORMAT     "1"

/* --- channel frames --------------------------------------------------- */
#define CHAN_HDR          3
#define CHAN_MAX_PAYLOAD  4096

/* guest -> vmm */
#define CHAN_STDOUT       1  /* bytes the process wrote to stdout */
#define CHAN_STDERR       2  /* ... to stderr */
#define CHAN_EXIT         3  /* 1 byte: the exit status (128+N: signal N);
			        nothing follows */
#define CHAN_ERROR        4  /* 1 byte: the exit status, then one line:
			        why the process could not be started */
#define CHAN_READY        5  /* the init reads the channel from now on:
			        vmm sends nothing before (a console tty
			        that no one has open keeps what came, and
			        reads it only on the next interrupt) */

/* vmm -> guest */
#define CHAN_STDIN        16 /* bytes for the process's stdin */
#define CHAN_STDIN_EOF    17 /* vmm's stdin ended: close the process's */
#define CHAN_SIGNAL       18 /* 1 byte: a signal number for the process */
#define CHAN_WINSIZE      19 /* 4 bytes: rows, columns (LE 16 bits each) */

/* Exit statuses, as podman and docker use them. */
#define EXIT_VMM_FAILED   125 /* vmm (or the guest init) failed */
#define EXIT_CANNOT_EXEC  126 /* the command cannot be executed */
#define EXIT_NOT_FOUND    127 /* the command was not found */

#endif
