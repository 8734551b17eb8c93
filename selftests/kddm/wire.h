/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the selftests that play a peer put in a kDDM wire header.
 */
#ifndef _KDDM_SELFTEST_WIRE_H
#define _KDDM_SELFTEST_WIRE_H

#include <endian.h>
#include <string.h>
#include <kddm/kddm_wire.h>

/* A header of the current version; ids and incarnations 0 unless given. */
static inline void wire_hdr(struct kddm_wire_hdr *h, unsigned int src,
			    int type, __u32 len, __u64 set, __u64 obj)
{
	memset(h, 0, sizeof(*h));
	h->magic = htole16(KDDM_WIRE_MAGIC);
	h->version = KDDM_WIRE_VERSION;
	h->type = type;
	h->len = htole32(len);
	h->src = htole32(src);
	h->set_id = htole64(set);
	h->obj_id = htole64(obj);
}

#endif
