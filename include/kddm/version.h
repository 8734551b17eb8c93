/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _KDDM_VERSION_H
#define _KDDM_VERSION_H

#define KDDM_VERSION "0.1.1"

#endif /* _KDDM_VERSION_H */
