/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _KDDM_CLI_FS_H
#define _KDDM_CLI_FS_H

#include <stdbool.h>

int kddm_df(bool json);
int kddm_where(const char *path, bool json);

#endif
