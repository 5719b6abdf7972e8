/* The microarchitecture a CPU's family and model numbers imply. Cloud VMs
 * often name every CPU "AMD EPYC" or "Intel Xeon Processor", so the name
 * cannot tell a Zen 3 host from a Zen 5 one; cpuid's family and model can.
 * A small table of the server and desktop cores nnbench is likely to meet;
 * anything else is said to be unknown rather than guessed. */
#ifndef NNB_CPU_UARCH_H
#define NNB_CPU_UARCH_H

#include <stddef.h>

/* Writes the microarchitecture into buf, e.g. "Zen 3", or "unknown" when
 * the (vendor, family, model) is not in the table or not known (-1). */
void nnb_cpu_uarch(const char *vendor, int family, int model, char *buf, size_t len);

#endif
