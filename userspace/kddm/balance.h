/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _KDDM_CLI_BALANCE_H
#define _KDDM_CLI_BALANCE_H

#include <stdbool.h>
#include <stdint.h>

int kddm_load(bool json);
int kddm_balancer(const char *req);

#endif
