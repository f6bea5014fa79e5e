/* SPDX-License-Identifier: MIT */
/**
 * DOC: Intrusive lists
 *
 * A circular doubly linked list in the kernel's manner. The node,
 * &struct ursa_list_head, is embedded in the caller's own struct and the
 * struct is found again with ursa_container_of(). Nothing here allocates.
 *
 * The same head type serves as the list and as each node. An empty list,
 * and a node that is on no list after ursa_list_del_init(), points at
 * itself.
 */
#ifndef URSA_LIST_H
#define URSA_LIST_H

#include <stdbool.h>
#include <stddef.h>

/**
 * ursa_container_of - Get the struct that embeds a member.
 * @ptr: Pointer to the member.
 * @type: Type of the containing struct.
 * @member: Name of the member within @type.
 *
 * Return: a pointer to the containing struct.
 */
#define ursa_container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr)-offsetof(type, member)))

#ifndef container_of
#define container_of(ptr, type, member) ursa_container_of(ptr, type, member)
#endif

/**
 * struct ursa_list_head - A list head, or a node on a list.
 * @next: The next node, or the head itself at the end.
 * @prev: The previous node, or the head itself at the start.
 */
struct ursa_list_head {
	struct ursa_list_head *next;
	struct ursa_list_head *prev;
};

/**
 * URSA_LIST_HEAD_INIT - Static initialiser of an empty list.
 * @name: The list head being initialised.
 */
#define URSA_LIST_HEAD_INIT(name) \
	{                         \
		&(name), &(name)  \
	}

/**
 * ursa_list_init() - Make a list empty, or a node unlinked.
 * @head: The head or node, in caller-owned memory.
 *
 * Context: Any.
 */
static inline void ursa_list_init(struct ursa_list_head *head)
{
	head->next = head;
	head->prev = head;
}

static inline void __ursa_list_add(struct ursa_list_head *node,
				   struct ursa_list_head *prev,
				   struct ursa_list_head *next)
{
	next->prev = node;
	node->next = next;
	node->prev = prev;
	prev->next = node;
}

/**
 * ursa_list_add() - Insert a node after the head (LIFO order).
 * @node: The node to insert; it must be on no list.
 * @head: The list.
 *
 * Context: Any.
 */
static inline void ursa_list_add(struct ursa_list_head *node,
				 struct ursa_list_head *head)
{
	__ursa_list_add(node, head, head->next);
}

/**
 * ursa_list_add_tail() - Insert a node before the head (FIFO order).
 * @node: The node to insert; it must be on no list.
 * @head: The list.
 *
 * Context: Any.
 */
static inline void ursa_list_add_tail(struct ursa_list_head *node,
				      struct ursa_list_head *head)
{
	__ursa_list_add(node, head->prev, head);
}

/**
 * ursa_list_del() - Unlink a node from its list.
 * @node: The node; it must be on a list.
 *
 * The node's pointers are left stale. Use ursa_list_del_init() when the
 * node may be tested with ursa_list_empty() or unlinked again.
 *
 * Context: Any.
 */
static inline void ursa_list_del(struct ursa_list_head *node)
{
	/*
	 * Both pointers first: the compiler cannot tell that the first
	 * store leaves @node alone, and reloading @node->next after it
	 * makes the CPU wait on that store (seen in bench_input).
	 */
	struct ursa_list_head *next = node->next, *prev = node->prev;

	next->prev = prev;
	prev->next = next;
}

/**
 * ursa_list_del_init() - Unlink a node and leave it pointing at itself.
 * @node: The node; it may be on a list or already unlinked.
 *
 * Context: Any.
 */
static inline void ursa_list_del_init(struct ursa_list_head *node)
{
	ursa_list_del(node);
	ursa_list_init(node);
}

/**
 * ursa_list_empty() - Test whether a list has no nodes.
 * @head: The list, or a node unlinked with ursa_list_del_init().
 *
 * Context: Any.
 * Return: %true if @head points at itself.
 */
static inline bool ursa_list_empty(const struct ursa_list_head *head)
{
	return head->next == head;
}

/**
 * ursa_list_splice_tail_init() - Move every node of one list to another.
 * @list: The list whose nodes move; it is left empty.
 * @head: The list that receives them at its tail, in order.
 *
 * Context: Any.
 */
static inline void ursa_list_splice_tail_init(struct ursa_list_head *list,
					      struct ursa_list_head *head)
{
	struct ursa_list_head *first = list->next;
	struct ursa_list_head *last = list->prev;

	if (first == list)
		return;
	first->prev = head->prev;
	head->prev->next = first;
	last->next = head;
	head->prev = last;
	ursa_list_init(list);
}

/**
 * ursa_list_entry - Get the struct for a list node.
 * @ptr: The &struct ursa_list_head pointer.
 * @type: The type of the struct the node is embedded in.
 * @member: The name of the node within the struct.
 */
#define ursa_list_entry(ptr, type, member) ursa_container_of(ptr, type, member)

/**
 * ursa_list_first_entry - Get the first struct of a non-empty list.
 * @head: The list.
 * @type: The type of the struct the nodes are embedded in.
 * @member: The name of the node within the struct.
 */
#define ursa_list_first_entry(head, type, member) \
	ursa_list_entry((head)->next, type, member)

/**
 * ursa_list_for_each - Iterate over the nodes of a list.
 * @pos: A &struct ursa_list_head pointer used as the cursor.
 * @head: The list.
 */
#define ursa_list_for_each(pos, head) \
	for (pos = (head)->next; pos != (head); pos = pos->next)

/**
 * ursa_list_for_each_safe - Iterate over nodes, allowing removal of @pos.
 * @pos: A &struct ursa_list_head pointer used as the cursor.
 * @n: Another &struct ursa_list_head pointer used as temporary storage.
 * @head: The list.
 */
#define ursa_list_for_each_safe(pos, n, head)                  \
	for (pos = (head)->next, n = pos->next; pos != (head); \
	     pos = n, n = pos->next)

/**
 * ursa_list_for_each_entry - Iterate over the structs of a list.
 * @pos: A pointer to the struct type, used as the cursor.
 * @head: The list.
 * @member: The name of the node within the struct.
 */
#define ursa_list_for_each_entry(pos, head, member)                         \
	for (pos = ursa_list_entry((head)->next, __typeof__(*pos), member); \
	     &pos->member != (head);                                        \
	     pos = ursa_list_entry(pos->member.next, __typeof__(*pos),      \
				   member))

/**
 * ursa_list_for_each_entry_reverse - Iterate backwards over the structs.
 * @pos: A pointer to the struct type, used as the cursor.
 * @head: The list.
 * @member: The name of the node within the struct.
 */
#define ursa_list_for_each_entry_reverse(pos, head, member)                 \
	for (pos = ursa_list_entry((head)->prev, __typeof__(*pos), member); \
	     &pos->member != (head);                                        \
	     pos = ursa_list_entry(pos->member.prev, __typeof__(*pos),      \
				   member))

/**
 * ursa_list_for_each_entry_safe - Iterate over structs, allowing removal.
 * @pos: A pointer to the struct type, used as the cursor.
 * @n: Another pointer to the struct type, used as temporary storage.
 * @head: The list.
 * @member: The name of the node within the struct.
 *
 * @pos may be unlinked, and freed, in the loop body.
 */
#define ursa_list_for_each_entry_safe(pos, n, head, member)                  \
	for (pos = ursa_list_entry((head)->next, __typeof__(*pos), member),  \
	    n = ursa_list_entry(pos->member.next, __typeof__(*pos), member); \
	     &pos->member != (head); pos = n,                                \
	    n = ursa_list_entry(n->member.next, __typeof__(*n), member))

#endif /* URSA_LIST_H */
