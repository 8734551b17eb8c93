// SPDX-License-Identifier: GPL-2.0
/*
 * kddm.ko: kernel Distributed Data Management.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <kddm/version.h>

static int __init kddm_init(void)
{
	pr_info("version %s loaded\n", KDDM_VERSION);
	return 0;
}

static void __exit kddm_exit(void)
{
	pr_info("version %s unloaded\n", KDDM_VERSION);
}

module_init(kddm_init);
module_exit(kddm_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kDDM: coherent cluster-wide objects");
MODULE_VERSION(KDDM_VERSION);
