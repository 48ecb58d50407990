/* upf_test_eal: the DPDK environment of the vigil-upf unit tests, shared by
 * their cmocka group set-up and tear-down: two lcores, no hugepages, no
 * PCI, 128 MB, no shared configuration or telemetry, and a file prefix
 * unique to the test program and process (its run directory is removed
 * again at the end). Header-only (static inline): tests/unit builds each
 * test_*.c as one program. */
#ifndef VIGIL_UPF_TEST_EAL_H
#define VIGIL_UPF_TEST_EAL_H

#include <rte_eal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define UPF_TEST_EAL_PREFIX "--file-prefix="

static char upf_test_eal_prefix[64];

/* rte_eal_init() for the test program 'name'. 0 or -1 (cmocka's group
 * set-up convention). */
static inline int
upf_test_eal_init(const char *name)
{
    char *argv[] = {
        (char *) name, (char *) "-l", (char *) "0-1",
        (char *) "--no-huge", (char *) "--no-pci", (char *) "-m",
        (char *) "128", upf_test_eal_prefix, (char *) "--no-shconf",
        (char *) "--no-telemetry", (char *) "--log-level=lib.eal:error",
        NULL,
    };

    snprintf(upf_test_eal_prefix, sizeof upf_test_eal_prefix,
             UPF_TEST_EAL_PREFIX "%s_%d", name, (int) getpid());
    return rte_eal_init((int) (sizeof argv / sizeof argv[0]) - 1, argv) < 0
           ? -1 : 0;
}

/* rte_eal_cleanup() and the removal of the run directory. Returns 0. */
static inline int
upf_test_eal_cleanup(void)
{
    char path[128];

    rte_eal_cleanup();
    snprintf(path, sizeof path, "/var/run/dpdk/%s",
             upf_test_eal_prefix + strlen(UPF_TEST_EAL_PREFIX));
    rmdir(path);
    return 0;
}

#endif
