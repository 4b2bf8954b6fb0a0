/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/lisp (internal): a path-compressed binary trie of IPv4 or IPv6
 * prefixes for longest-prefix match. At most two nodes per prefix; a lookup
 * visits at most one node per distinct prefix length on the way down.
 */
#ifndef EQX_LISP_TRIE_H
#define EQX_LISP_TRIE_H

#include <stddef.h>
#include <stdint.h>

struct lisp_trie_node {
	struct lisp_trie_node *child[2];
	void *val; /* NULL: a branching node that holds no prefix */
	uint8_t len;
	uint8_t key[16]; /* bits past len are zero */
};

struct lisp_trie {
	struct lisp_trie_node *root;
	unsigned int bits; /* 32 or 128 */
	size_t n;          /* prefixes held */
};

void lisp_trie_init(struct lisp_trie *t, unsigned int bits);
/* Free every node (not the values). */
void lisp_trie_clear(struct lisp_trie *t);

/*
 * Insert key/len -> val (val not NULL). An existing value for the same
 * prefix is replaced and returned in *old (NULL when there was none).
 * -ENOMEM or -EINVAL (len over bits).
 */
int lisp_trie_insert(struct lisp_trie *t, const uint8_t *key, unsigned int len, void *val,
		     void **old);
/* Remove key/len; returns its value, or NULL when absent. */
void *lisp_trie_remove(struct lisp_trie *t, const uint8_t *key, unsigned int len);
/* The value of exactly key/len, or NULL. */
void *lisp_trie_exact(const struct lisp_trie *t, const uint8_t *key, unsigned int len);
/*
 * The value of the longest prefix that contains key/len (its length <= len),
 * or NULL; *plen gets its length when plen is not NULL.
 */
void *lisp_trie_lpm(const struct lisp_trie *t, const uint8_t *key, unsigned int len,
		    unsigned int *plen);
/*
 * The shortest length L such that key/L contains no prefix of the trie
 * other than those that contain key itself: the "hole" a negative
 * Map-Reply may cover without hiding any prefix the trie holds.
 */
unsigned int lisp_trie_hole(const struct lisp_trie *t, const uint8_t *key);

#endif /* EQX_LISP_TRIE_H */
