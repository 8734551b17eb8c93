/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _KDDM_CLI_IPC_H
#define _KDDM_CLI_IPC_H

#include <stdbool.h>

int kddm_ipcs(bool json);
int kddm_ipc_ctl(const char *what);

#endif
