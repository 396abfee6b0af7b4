/* SPDX-License-Identifier: MIT */
/*
 * The configuration of a VM (struct vm_config) and its JSON form, the
 * shape of Firecracker's configuration document. One module for every
 * way a configuration arrives: the command line (cli.c fills the struct),
 * --config-file (a whole document) and the control API (one section per
 * request). Pure: no I/O, no KVM; every function checks the whole input
 * before it changes anything, and reports one line in err.
 */
#ifndef VMM_CONFIG_H
#define VMM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

#define VMM_MAX_CPUS      64
#define VMM_CMDLINE_MAX   4096
#define VMM_PATH_MAX      4096
#define VMM_SOCK_PATH_MAX 108  /* sun_path */
#define VMM_MAX_DISKS     16
#define VMM_MAX_NETS      4
#define VMM_DISK_ID_MAX   20   /* virtio-blk GET_ID: 20 bytes */

#define VMM_DEFAULT_MEM     (256ULL << 20)
#define VMM_DEFAULT_CMDLINE "console=ttyS0 reboot=k panic=-1"
#define VMM_MIN_MEM         (2ULL << 20)
#define VMM_MAX_MEM         (1ULL << 40)

enum console_mode {
	CONSOLE_STDIO,  /* serial <-> this terminal (the default) */
	CONSOLE_NONE,   /* serial output only to --serial-log, no input */
	CONSOLE_VIRTIO, /* virtio-console (hvc0) <-> this terminal; the
			   serial port still prints (early boot messages) */
};

/*
 * A token bucket (Firecracker's TokenBucket): size tokens (bytes or
 * operations) refilled every refill_time_ms, plus a one-time burst.
 * size == 0 or refill_time_ms == 0: no limit.
 */
struct vm_bucket {
	uint64_t size;
	uint64_t one_time_burst;
	uint64_t refill_time_ms;
};

/* A rate limiter: bytes per refill and operations per refill. */
struct vm_rate_limit {
	struct vm_bucket bandwidth;
	struct vm_bucket ops;
};

static inline bool vm_bucket_set(const struct vm_bucket *b)
{
	return b->size && b->refill_time_ms;
}

/* How a disk's I/O is done off the event loop (devices/virtio_blk.c). */
enum disk_io {
	DISK_IO_THREAD,        /* a thread per disk: preadv/pwritev */
	DISK_IO_URING,         /* io_uring, submitted from the event loop */
};

/* What a guest flush does (Firecracker's cache_type). */
enum disk_cache {
	DISK_CACHE_WRITEBACK,  /* the default: a flush reaches the disk
				  (fdatasync) before it completes */
	DISK_CACHE_UNSAFE,     /* asked for by name only: flushes complete
				  at once, data survive a guest crash but not
				  a host crash (QEMU's cache=unsafe) */
};

struct vm_disk {
	char path[VMM_PATH_MAX];
	enum disk_io io;       /* the API's io_engine: Sync, Async */
	enum disk_cache cache; /* the API's cache_type */
	char partuuid[40];     /* the root partition: root=PARTUUID=... */
	struct vm_rate_limit rate;
	bool read_only;
	bool root;             /* the API's is_root_device: /dev/vda */
	char id[VMM_DISK_ID_MAX + 1]; /* default: the file's base name */
};

struct vm_net {
	char id[32];           /* the API's iface_id ("" from the CLI) */
	char tap[16];          /* IFNAMSIZ */
	uint8_t mac[6];
	bool mac_set;          /* else derived from the TAP name */
	unsigned int mtu;      /* 0: the TAP's */
	struct vm_rate_limit rx_rate, tx_rate;
};

/* virtio-rng (the API's /entropy) */
struct vm_entropy {
	bool enabled;
	struct vm_rate_limit rate;
};

/* virtio-vsock with Firecracker's Unix-socket host side (/vsock) */
struct vm_vsock {
	bool enabled;
	uint32_t guest_cid;    /* >= 3 */
	char uds_path[VMM_SOCK_PATH_MAX];
	char id[32];
};

/* The logger section / PUT /logger; applied with log_configure(). */
struct vm_log {
	bool set;              /* a logger section was given */
	char path[VMM_PATH_MAX]; /* "" = stderr */
	int level;             /* enum log_level, or -1: unchanged */
	bool show_level;       /* prefix each line with its level */
	bool show_origin;      /* and with the source file and line */
};

/* Strings are owned; "" = not set. */
struct vm_config {
	char kernel[VMM_PATH_MAX];
	char initrd[VMM_PATH_MAX];
	char cmdline[VMM_CMDLINE_MAX];
	uint64_t mem_size;   /* bytes */
	unsigned int cpus;
	char serial_log[VMM_PATH_MAX];
	bool serial_timestamps; /* time since vmm start before each line */
	enum console_mode console;
	struct vm_disk disk[VMM_MAX_DISKS];
	unsigned int nr_disks;
	struct vm_net net[VMM_MAX_NETS];
	unsigned int nr_nets;
	struct vm_entropy entropy;
	struct vm_vsock vsock;
	bool smt;            /* two threads per core (an even vCPU count) */
	bool huge_pages;     /* guest RAM in 2 MiB pages */
	bool quiet;          /* no informational lines on stderr */
	int verbose;         /* -v: more log lines */
	struct vm_log log;

	/* control */
	char api_sock[VMM_SOCK_PATH_MAX]; /* --api-sock */
	unsigned int api_sock_mode;       /* --api-sock-mode (0600) */
	char config_file[VMM_PATH_MAX];   /* --config-file */
	char metrics_path[VMM_PATH_MAX];  /* --metrics-path */
	char id[64];                      /* --id: the instance's name */
	bool boot_timer_line;             /* --boot-timer: timeline at exit */
	char bundle[VMM_PATH_MAX];        /* --bundle: an OCI bundle to run */
	int bundle_args;                  /* argv index of the command after
					     the options, 0 = none */

	/* snapshots: --restore and --mem-file, or PUT /snapshot/load */
	char restore[VMM_PATH_MAX];       /* the snapshot file, "" = boot */
	char restore_mem[VMM_PATH_MAX];   /* its memory file */
	bool restore_paused;              /* load's resume_vm: false */

	/* confinement (vmm/seccomp.h) */
	bool no_seccomp;                  /* --no-seccomp */
	char seccomp_filter[VMM_PATH_MAX]; /* --seccomp-filter: user's JSON */
	/* debugging */
	char gdb[VMM_SOCK_PATH_MAX];      /* --gdb: a TCP port or a socket path */
	bool gdb_wait;                    /* --gdb-wait: stop before boot */

	/* aarch64 only (the x86-64 platform refuses them) */
	unsigned int gic;                 /* --gic: 0 = auto, 2 or 3 */
	char dump_dtb[VMM_PATH_MAX];      /* --dump-dtb: device tree copy */
};

/*
 * Parse len bytes as one JSON value (valid UTF-8, nothing after it).
 * 0 with *out to put, or -EINVAL with err set.
 */
int config_parse_json(const char *buf, size_t len, struct json_object **out,
		      char *err, size_t errlen) __attribute__((warn_unused_result));

/* The defaults: 256 MiB, 1 vCPU, console on stdio, VMM_DEFAULT_CMDLINE. */
void config_init(struct vm_config *cfg);

/*
 * Fields of a configuration that the command line can set; cli.c says
 * which it set, config_overlay() lets them win over a config file's.
 */
enum config_field_bit {
	CFG_KERNEL = 1 << 0, CFG_INITRD = 1 << 1, CFG_CMDLINE = 1 << 2,
	CFG_MEM = 1 << 3, CFG_CPUS = 1 << 4, CFG_METRICS = 1 << 5,
	CFG_ID = 1 << 6, CFG_SMT = 1 << 7, CFG_HUGE = 1 << 8,
};

/*
 * The rule for --config-file with other options: what the command line
 * sets wins, field by field; its --disk and --net come after the file's
 * drives and interfaces (one with the same id replaces the file's); the
 * options a file cannot hold (console, API socket, log verbosity, ...)
 * come from the command line. 0, or -EINVAL when the lists overflow.
 */
int config_overlay(struct vm_config *file, const struct vm_config *cli,
		   unsigned int cli_set, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/*
 * A whole configuration document ({"boot-source": ..., "machine-config":
 * ..., "drives": [...], "network-interfaces": [...], "logger": ...,
 * "metrics": ...}) applied to cfg. 0 or -EINVAL with err set.
 */
int config_from_json(struct vm_config *cfg, struct json_object *doc,
		     char *err, size_t errlen) __attribute__((warn_unused_result));

/* One section each, as the API's PUT bodies; id from the path or NULL. */
int config_boot_source(struct vm_config *cfg, struct json_object *o,
		       char *err, size_t errlen);
int config_machine(struct vm_config *cfg, struct json_object *o,
		   char *err, size_t errlen);
int config_drive(struct vm_config *cfg, const char *id, struct json_object *o,
		 char *err, size_t errlen);
int config_net(struct vm_config *cfg, const char *id, struct json_object *o,
	       char *err, size_t errlen);
int config_logger(struct vm_config *cfg, struct json_object *o,
		  char *err, size_t errlen);
/* Firecracker's /vsock, /entropy and /serial. */
int config_vsock(struct vm_config *cfg, struct json_object *o, char *err,
		 size_t errlen);
int config_entropy(struct vm_config *cfg, struct json_object *o, char *err,
		   size_t errlen);
int config_serial(struct vm_config *cfg, struct json_object *o, char *err,
		  size_t errlen);
/* PATCH /machine-config: any subset of its fields, over cfg. */
int config_machine_patch(struct vm_config *cfg, struct json_object *o,
			 char *err, size_t errlen);
/*
 * PATCH /drives/{id} and /network-interfaces/{id}: the entry as it would
 * be after the change in *out (cfg unchanged), and its index; or -EINVAL.
 * The caller applies it to the running device, then to cfg.
 */
int config_drive_patch(struct vm_config *cfg, const char *id,
		       struct json_object *o, struct vm_disk *out, char *err,
		       size_t errlen);
int config_net_patch(struct vm_config *cfg, const char *id,
		     struct json_object *o, struct vm_net *out, char *err,
		     size_t errlen);
int config_metrics(struct vm_config *cfg, struct json_object *o,
		   char *err, size_t errlen);

/* New JSON for GET /vm/config and GET /machine-config; caller puts. */
struct json_object *config_to_json(const struct vm_config *cfg);
struct json_object *config_machine_json(const struct vm_config *cfg);

/*
 * The one MAC parser: "52:54:00:12:34:56" (len bytes of s), unicast
 * only. 0 or -EINVAL. config_format_mac() writes 18 bytes with the NUL.
 */
int config_parse_mac(const char *s, size_t len, uint8_t mac[6]);
void config_format_mac(const uint8_t mac[6], char out[18]);

/*
 * Checking a JSON object's members: each known, of its type; the required
 * ones present. A null value counts as absent for optional members.
 */
struct config_field {
	const char *name;
	int type;              /* a json_type */
	bool required;
};
int config_check_fields(struct json_object *o, const struct config_field *f,
			size_t nf, char *err, size_t errlen);

#endif
