/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lisp/lisp_trie.h"

static unsigned int
bit_at(const uint8_t *key, unsigned int i)
{
	return (key[i / 8] >> (7 - i % 8)) & 1u;
}

/* Length of the common prefix of a and b, at most max bits. */
static unsigned int
common_len(const uint8_t *a, const uint8_t *b, unsigned int max)
{
	unsigned int i, n = (max + 7) / 8, c;
	uint8_t x;

	for (i = 0; i < n; i++) {
		x = a[i] ^ b[i];
		if (x != 0) {
			c = i * 8 + (unsigned int)__builtin_clz((unsigned int)x) - 24;
			return c < max ? c : max;
		}
	}
	return max;
}

static void
masked_copy(uint8_t *dst, const uint8_t *src, unsigned int len)
{
	unsigned int full = len / 8;

	memset(dst, 0, 16);
	memcpy(dst, src, full);
	if (len % 8 != 0)
		dst[full] = (uint8_t)(src[full] & (0xff << (8 - len % 8)));
}

static struct lisp_trie_node *
node_new(const uint8_t *key, unsigned int len, void *val)
{
	struct lisp_trie_node *n = calloc(1, sizeof(*n));

	if (n == NULL)
		return NULL;
	n->len = (uint8_t)len;
	n->val = val;
	masked_copy(n->key, key, len);
	return n;
}

void
lisp_trie_init(struct lisp_trie *t, unsigned int bits)
{
	t->root = NULL;
	t->bits = bits;
	t->n = 0;
}

static void
free_rec(struct lisp_trie_node *n)
{
	if (n == NULL)
		return;
	free_rec(n->child[0]);
	free_rec(n->child[1]);
	free(n);
}

void
lisp_trie_clear(struct lisp_trie *t)
{
	free_rec(t->root);
	t->root = NULL;
	t->n = 0;
}

int
lisp_trie_insert(struct lisp_trie *t, const uint8_t *key, unsigned int len, void *val, void **old)
{
	struct lisp_trie_node **link = &t->root, *n, *leaf, *glue;
	unsigned int c;

	*old = NULL;
	if (len > t->bits || val == NULL)
		return -EINVAL;
	while ((n = *link) != NULL) {
		c = common_len(n->key, key, n->len < len ? n->len : len);
		if (c < n->len) {
			/* n is not on key's path from bit c on: split there. */
			leaf = node_new(key, len, val);
			if (leaf == NULL)
				return -ENOMEM;
			if (c == len) {
				/* The new prefix is above n. */
				leaf->child[bit_at(n->key, len)] = n;
				*link = leaf;
			} else {
				glue = node_new(key, c, NULL);
				if (glue == NULL) {
					free(leaf);
					return -ENOMEM;
				}
				glue->child[bit_at(key, c)] = leaf;
				glue->child[bit_at(n->key, c)] = n;
				*link = glue;
			}
			t->n++;
			return 0;
		}
		if (n->len == len) {
			*old = n->val;
			n->val = val;
			if (*old == NULL)
				t->n++;
			return 0;
		}
		link = &n->child[bit_at(key, n->len)];
	}
	leaf = node_new(key, len, val);
	if (leaf == NULL)
		return -ENOMEM;
	*link = leaf;
	t->n++;
	return 0;
}

static struct lisp_trie_node **
find_link(const struct lisp_trie *t, const uint8_t *key, unsigned int len,
	  struct lisp_trie_node ***parent_link)
{
	struct lisp_trie_node *const *link = &t->root, *n;

	*parent_link = NULL;
	while ((n = *link) != NULL) {
		if (n->len > len || common_len(n->key, key, n->len) < n->len)
			return NULL;
		if (n->len == len)
			return (struct lisp_trie_node **)(uintptr_t)link;
		*parent_link = (struct lisp_trie_node **)(uintptr_t)link;
		link = &n->child[bit_at(key, n->len)];
	}
	return NULL;
}

void *
lisp_trie_exact(const struct lisp_trie *t, const uint8_t *key, unsigned int len)
{
	struct lisp_trie_node **pl, **link;

	if (len > t->bits)
		return NULL;
	link = find_link(t, key, len, &pl);
	return link == NULL ? NULL : (*link)->val;
}

/* Remove a node that holds no value and has at most one child. */
static void
splice(struct lisp_trie_node **link)
{
	struct lisp_trie_node *n = *link;

	*link = n->child[0] != NULL ? n->child[0] : n->child[1];
	free(n);
}

void *
lisp_trie_remove(struct lisp_trie *t, const uint8_t *key, unsigned int len)
{
	struct lisp_trie_node **link, **pl, *n, *p;
	void *val;

	if (len > t->bits)
		return NULL;
	link = find_link(t, key, len, &pl);
	if (link == NULL || (*link)->val == NULL)
		return NULL;
	n = *link;
	val = n->val;
	n->val = NULL;
	t->n--;
	if (n->child[0] != NULL && n->child[1] != NULL)
		return val; /* still a branching point */
	splice(link);
	/* A valueless parent left with one child is no longer needed. */
	if (pl != NULL) {
		p = *pl;
		if (p->val == NULL && (p->child[0] == NULL || p->child[1] == NULL))
			splice(pl);
	}
	return val;
}

void *
lisp_trie_lpm(const struct lisp_trie *t, const uint8_t *key, unsigned int len, unsigned int *plen)
{
	const struct lisp_trie_node *n = t->root, *best = NULL;

	if (len > t->bits)
		return NULL;
	while (n != NULL && n->len <= len && common_len(n->key, key, n->len) == n->len) {
		if (n->val != NULL)
			best = n;
		if (n->len == len)
			break;
		n = n->child[bit_at(key, n->len)];
	}
	if (best == NULL)
		return NULL;
	if (plen != NULL)
		*plen = best->len;
	return best->val;
}

unsigned int
lisp_trie_hole(const struct lisp_trie *t, const uint8_t *key)
{
	const struct lisp_trie_node *n = t->root;
	unsigned int l = 0, c, b;

	while (n != NULL) {
		c = common_len(n->key, key, n->len);
		if (c < n->len) {
			/* n's subtree holds prefixes; key/(c+1) is the first to leave them out. */
			if (c + 1 > l)
				l = c + 1;
			break;
		}
		if (n->len == t->bits)
			break;
		b = bit_at(key, n->len);
		if (n->child[!b] != NULL && n->len + 1u > l)
			l = n->len + 1u;
		n = n->child[b];
	}
	return l;
}
