/* SPDX-License-Identifier: MIT */
/**
 * DOC: Connection steering
 *
 * A thread-per-core server runs one loop per CPU, each with its own
 * listening socket on the same port (SO_REUSEPORT). Plain reuseport picks
 * a listener by hashing the connection's 4-tuple, which spreads
 * connections unevenly and ignores where the connection arrived. With a
 * steering group, a BPF_PROG_TYPE_SK_REUSEPORT program picks instead the
 * listener of the loop on the CPU that is handling the new connection
 * (bpf_get_smp_processor_id()); it keeps the packet processing, the
 * accept and the connection's whole life on one CPU. Where that CPU has no
 * listener the kernel falls back to its own reuseport hash.
 *
 * The listeners sit in a BPF_MAP_TYPE_REUSEPORT_SOCKARRAY indexed by CPU.
 * Use:
 *
 *   1. ursa_steer_open() once, with the number of CPUs (or 0 for all).
 *   2. For each loop: ursa_listen() with %URSA_LISTEN_REUSEPORT, then
 *      ursa_steer_add() with the CPU the loop's thread is pinned to.
 *   3. ursa_steer_close() when the listeners are set up or at exit: the
 *      program stays attached to the reuseport group for as long as one
 *      of its sockets is open.
 *
 * It needs CONFIG_URSA_BPF, libbpf and the right to load BPF programs
 * (root, or CAP_BPF with CAP_NET_ADMIN). When any of them is missing the
 * calls fail with a negative errno and the server should go on with plain
 * reuseport; ursa_steer_strerror() gives the one line to tell the user.
 */
#ifndef URSA_STEER_H
#define URSA_STEER_H

/*
 * A steering group: the program and its socket map. Opaque; made by
 * ursa_steer_open(), freed by ursa_steer_close().
 */
struct ursa_steer;

/**
 * ursa_steer_open() - Load the steering program and create its map.
 * @nr_cpus: How many CPUs the map has slots for (count); 0 means every
 *	possible CPU. CPUs from @nr_cpus on always use the hash fallback.
 * @steerp: Where to store the new group.
 *
 * Creates a BPF_MAP_TYPE_REUSEPORT_SOCKARRAY of @nr_cpus slots and loads
 * the BPF_PROG_TYPE_SK_REUSEPORT program that selects the slot of the
 * current CPU (see the overview). Nothing is attached yet. The program is
 * loaded through libbpf's bpf_prog_load(); semantics of the selection are
 * the kernel's bpf_sk_select_reuseport().
 *
 * Context: Any thread, at setup.
 * Return: 0 and *@steerp set, or a negative errno (*@steerp untouched):
 * * -EOPNOTSUPP - ursa was built without CONFIG_URSA_BPF.
 * * -EPERM - the caller may not load BPF programs (not root, no CAP_BPF,
 *   kernel.unprivileged_bpf_disabled, a seccomp profile).
 * * -EINVAL - @steerp is %NULL, or the kernel refused the program or map
 *   (a kernel older than 4.19 has no SK_REUSEPORT programs).
 * * -ENOMEM - out of memory, or the map hit RLIMIT_MEMLOCK on an old
 *   kernel.
 */
int ursa_steer_open(unsigned int nr_cpus, struct ursa_steer **steerp);

/**
 * ursa_steer_add() - Put a loop's listening socket in the slot of a CPU.
 * @steer: The group.
 * @cpu: The CPU whose new connections this socket takes (0-based).
 * @listen_fd: A TCP socket set up with SO_REUSEPORT, bound and already
 *	listening (ursa_listen() with %URSA_LISTEN_REUSEPORT).
 *
 * The first socket added attaches the program to the socket's reuseport
 * group (SO_ATTACH_REUSEPORT_EBPF); from then on it runs for every new
 * connection on that port. Every socket added must be in the same group
 * (same address and port). Adding to a slot again replaces its socket.
 * The map holds no reference on @listen_fd: when it is closed, its slot
 * empties and that CPU falls back to the hash.
 *
 * Context: Any thread, at setup.
 * Return: 0, or a negative errno:
 * * -EINVAL - @steer is %NULL, or @listen_fd is not a listening TCP
 *   socket with SO_REUSEPORT.
 * * -E2BIG - @cpu is not below the group's number of slots.
 * * -EBADF - @listen_fd is not an open file descriptor.
 * * -EBUSY - @listen_fd is in another group's map.
 * * -EOPNOTSUPP - built without CONFIG_URSA_BPF, or @listen_fd is not a
 *   socket the map takes.
 * * Others from bpf(BPF_MAP_UPDATE_ELEM) or setsockopt(2).
 */
int ursa_steer_add(struct ursa_steer *steer, unsigned int cpu, int listen_fd);

/**
 * ursa_steer_nr_cpus() - The number of slots of a group.
 * @steer: The group.
 *
 * Context: Any.
 * Return: the slot count ursa_steer_open() chose (CPUs), 0 for %NULL.
 */
unsigned int ursa_steer_nr_cpus(const struct ursa_steer *steer);

/**
 * ursa_steer_close() - Release a steering group.
 * @steer: The group, or %NULL (then it does nothing).
 *
 * Closes the program and map file descriptors and frees @steer. A program
 * already attached stays in force on its reuseport group until the last
 * socket of the group is closed: closing the group does not change how
 * connections are steered, it only stops further ursa_steer_add() calls.
 *
 * Context: Any thread.
 */
void ursa_steer_close(struct ursa_steer *steer);

/**
 * ursa_steer_strerror() - Explain an ursa_steer_open() error to a user.
 * @err: The negative errno ursa_steer_open() or ursa_steer_add() returned.
 *
 * Names the likely cause: a build without CONFIG_URSA_BPF for
 * -EOPNOTSUPP, missing privileges for -EPERM, and so on.
 *
 * Context: Any.
 * Return: a static, one-line message.
 */
const char *ursa_steer_strerror(int err);

#endif /* URSA_STEER_H */
