// SPDX-License-Identifier: MIT
/*
 * Connection steering for thread-per-core servers (see <ursa/steer.h>):
 * an SK_REUSEPORT program that hands each new connection to the listener
 * in the slot of the CPU the connection arrived on.
 *
 * The program is eleven instructions, so it is written here as an
 * instruction array and loaded with libbpf's low-level bpf_prog_load():
 * libursa then needs neither clang nor a BPF object file at build time,
 * only libbpf. In C it reads:
 *
 *	int steer(struct sk_reuseport_md *md)
 *	{
 *		__u32 cpu = bpf_get_smp_processor_id();
 *
 *		bpf_sk_select_reuseport(md, &socks, &cpu, 0);
 *		return SK_PASS;
 *	}
 *
 * When the slot is empty or past the map's end the helper fails, nothing
 * is selected, and SK_PASS without a selection makes the kernel fall back
 * to its reuseport hash (reuseport_select_sock_by_hash()).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include <generated/autoconf.h>
#include <ursa/kconfig.h>
#include <ursa/steer.h>

#ifdef CONFIG_URSA_BPF

#include <sys/socket.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

struct ursa_steer {
	int map_fd;
	int prog_fd;
	unsigned int nr_cpus;
	bool attached;
};

#define INSN(c, d, s, o, i)                 \
	((struct bpf_insn){ .code = (c),    \
			    .dst_reg = (d), \
			    .src_reg = (s), \
			    .off = (o),     \
			    .imm = (i) })
#define MOV64_REG(d, s) INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define MOV64_IMM(d, i) INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define ADD64_IMM(d, i) INSN(BPF_ALU64 | BPF_ADD | BPF_K, d, 0, 0, i)
#define STX_W(d, s, o) INSN(BPF_STX | BPF_MEM | BPF_W, d, s, o, 0)
#define CALL(f) INSN(BPF_JMP | BPF_CALL, 0, 0, 0, f)
#define EXIT() INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
/* A 64-bit load takes two slots; the second carries the high half. */
#define LD_MAP_FD(d, fd)                                              \
	INSN(BPF_LD | BPF_DW | BPF_IMM, d, BPF_PSEUDO_MAP_FD, 0, fd), \
		INSN(0, 0, 0, 0, 0)

static int steer_load(int map_fd)
{
	const struct bpf_insn insns[] = {
		MOV64_REG(BPF_REG_6, BPF_REG_1),
		CALL(BPF_FUNC_get_smp_processor_id),
		STX_W(BPF_REG_10, BPF_REG_0, -4),
		MOV64_REG(BPF_REG_1, BPF_REG_6),
		LD_MAP_FD(BPF_REG_2, map_fd),
		MOV64_REG(BPF_REG_3, BPF_REG_10),
		ADD64_IMM(BPF_REG_3, -4),
		MOV64_IMM(BPF_REG_4, 0),
		CALL(BPF_FUNC_sk_select_reuseport),
		MOV64_IMM(BPF_REG_0, SK_PASS),
		EXIT(),
	};

	return bpf_prog_load(BPF_PROG_TYPE_SK_REUSEPORT, "ursa_steer",
			     "Dual MIT/GPL", insns,
			     sizeof(insns) / sizeof(insns[0]), NULL);
}

int ursa_steer_open(unsigned int nr_cpus, struct ursa_steer **steerp)
{
	struct ursa_steer *s;
	int ret;

	if (!steerp)
		return -EINVAL;
	if (!nr_cpus) {
		ret = libbpf_num_possible_cpus();
		if (ret < 0)
			return ret;
		nr_cpus = ret;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->nr_cpus = nr_cpus;
	ret = bpf_map_create(BPF_MAP_TYPE_REUSEPORT_SOCKARRAY, "ursa_steer",
			     sizeof(__u32), sizeof(__u32), nr_cpus, NULL);
	if (ret < 0)
		goto err_free;
	s->map_fd = ret;
	ret = steer_load(s->map_fd);
	if (ret < 0)
		goto err_map;
	s->prog_fd = ret;
	*steerp = s;
	return 0;

err_map:
	close(s->map_fd);
err_free:
	free(s);
	/* A kernel without the map or program type says EINVAL. */
	return ret == -EACCES ? -EPERM : ret;
}

int ursa_steer_add(struct ursa_steer *steer, unsigned int cpu, int listen_fd)
{
	__u32 key = cpu, val;

	if (!steer)
		return -EINVAL;
	if (listen_fd < 0)
		return -EBADF;
	if (cpu >= steer->nr_cpus)
		return -E2BIG;
	val = listen_fd;
	if (bpf_map_update_elem(steer->map_fd, &key, &val, BPF_ANY) < 0)
		return -errno;
	/*
	 * Attach through the socket just added: it is in the group, so the
	 * program then runs for the whole group.
	 */
	if (!steer->attached) {
		if (setsockopt(listen_fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF,
			       &steer->prog_fd, sizeof(steer->prog_fd)) < 0) {
			int err = -errno;

			bpf_map_delete_elem(steer->map_fd, &key);
			return err;
		}
		steer->attached = true;
	}
	return 0;
}

unsigned int ursa_steer_nr_cpus(const struct ursa_steer *steer)
{
	return steer ? steer->nr_cpus : 0;
}

void ursa_steer_close(struct ursa_steer *steer)
{
	if (!steer)
		return;
	close(steer->prog_fd);
	close(steer->map_fd);
	free(steer);
}

#else /* !CONFIG_URSA_BPF */

int ursa_steer_open(unsigned int nr_cpus, struct ursa_steer **steerp)
{
	return -EOPNOTSUPP;
}

int ursa_steer_add(struct ursa_steer *steer, unsigned int cpu, int listen_fd)
{
	return -EOPNOTSUPP;
}

unsigned int ursa_steer_nr_cpus(const struct ursa_steer *steer)
{
	return 0;
}

void ursa_steer_close(struct ursa_steer *steer)
{
}

#endif /* CONFIG_URSA_BPF */

const char *ursa_steer_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case -EOPNOTSUPP:
		return IS_ENABLED(CONFIG_URSA_BPF) ?
			       "the socket is not one the reuseport map takes" :
			       "ursa was built without CONFIG_URSA_BPF";
	case -EPERM:
		return "not permitted to load BPF programs (needs root or "
		       "CAP_BPF and CAP_NET_ADMIN)";
	case -EINVAL:
		return "the kernel refused the SK_REUSEPORT program or map, "
		       "or the socket is not a listening SO_REUSEPORT socket";
	case -E2BIG:
		return "CPU number past the steering map";
	case -ENOMEM:
		return "out of memory (or RLIMIT_MEMLOCK on an old kernel)";
	case -EBADF:
		return "not an open file descriptor";
	case -EBUSY:
		return "the socket is already in another steering map";
	default:
		return "BPF steering failed";
	}
}
