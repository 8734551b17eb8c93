/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kDDM coherence engine: portability layer.
 *
 * coh.c and coh.h include only this file.  In the kernel it maps to
 * <linux/types.h>, <linux/string.h> and <linux/compiler.h>; in user space
 * (the simulator) to the C standard headers.
 */
#ifndef _KDDM_COH_PORT_H
#define _KDDM_COH_PORT_H

#ifdef __KERNEL__

#include <linux/types.h>
#include <linux/string.h>
#include <linux/compiler.h>

/* Statistics are shared by all objects of a node: tolerate racy updates. */
#define coh_stat_inc(p)	WRITE_ONCE(*(p), READ_ONCE(*(p)) + 1)
/* Node-wide hints written by one context and read by any. */
#define coh_load(x)	READ_ONCE(x)
#define coh_store(x, v)	WRITE_ONCE(x, v)

#else /* !__KERNEL__ */

#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int32_t s32;
typedef int64_t s64;

#define coh_stat_inc(p)	((*(p))++)
#define coh_load(x)	(x)
#define coh_store(x, v)	((x) = (v))

#endif /* __KERNEL__ */

#endif /* _KDDM_COH_PORT_H */
