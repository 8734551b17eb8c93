/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _KDDM_CLI_MIGRATE_H
#define _KDDM_CLI_MIGRATE_H

#include <stdbool.h>
#include <stdint.h>

int kddm_migrate(uint32_t pid, uint32_t node, bool tree, bool eager,
		 bool json);
int kddm_ps(bool json);
int kddm_run(uint32_t node, bool migratable, char **argv);
int kddm_balance_job(uint32_t pid, bool on);

#endif
