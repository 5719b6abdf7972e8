#include "cpu_uarch.h"

#include <stdio.h>
#include <string.h>

typedef struct uarch_row {
  const char *vendor;
  int family, model_lo, model_hi; /* inclusive model range */
  const char *name;
} uarch_row;

/* Family and model as /proc/cpuinfo prints them (decimal, extended fields
 * folded in). Sources: AMD's and Intel's processor programming references
 * and the Linux kernel's intel-family.h. */
static const uarch_row rows[] = {
    {"AuthenticAMD", 21, 0x00, 0xff, "Bulldozer family"},
    {"AuthenticAMD", 23, 0x00, 0x2f, "Zen / Zen+"},
    {"AuthenticAMD", 23, 0x30, 0xff, "Zen 2"},
    {"AuthenticAMD", 25, 0x00, 0x0f, "Zen 3"},
    {"AuthenticAMD", 25, 0x10, 0x1f, "Zen 4"},
    {"AuthenticAMD", 25, 0x20, 0x2f, "Zen 3"},
    {"AuthenticAMD", 25, 0x40, 0x4f, "Zen 3+"},
    {"AuthenticAMD", 25, 0x50, 0x5f, "Zen 3"},
    {"AuthenticAMD", 25, 0x60, 0x7f, "Zen 4"},
    {"AuthenticAMD", 25, 0xa0, 0xaf, "Zen 4c"},
    {"AuthenticAMD", 26, 0x00, 0xff, "Zen 5"},
    {"HygonGenuine", 24, 0x00, 0xff, "Dhyana (Zen)"},
    {"GenuineIntel", 6, 0x2d, 0x2d, "Sandy Bridge-EP"},
    {"GenuineIntel", 6, 0x3e, 0x3e, "Ivy Bridge-EP"},
    {"GenuineIntel", 6, 0x3c, 0x3c, "Haswell"},
    {"GenuineIntel", 6, 0x3f, 0x3f, "Haswell-EP"},
    {"GenuineIntel", 6, 0x4f, 0x4f, "Broadwell-EP"},
    {"GenuineIntel", 6, 0x4e, 0x4e, "Skylake"},
    {"GenuineIntel", 6, 0x5e, 0x5e, "Skylake"},
    {"GenuineIntel", 6, 0x55, 0x55, "Skylake-SP / Cascade Lake / Cooper Lake"},
    {"GenuineIntel", 6, 0x8e, 0x8e, "Kaby Lake / Coffee Lake (mobile)"},
    {"GenuineIntel", 6, 0x9e, 0x9e, "Kaby Lake / Coffee Lake"},
    {"GenuineIntel", 6, 0x6a, 0x6a, "Ice Lake-SP"},
    {"GenuineIntel", 6, 0x6c, 0x6c, "Ice Lake-D"},
    {"GenuineIntel", 6, 0x7e, 0x7e, "Ice Lake"},
    {"GenuineIntel", 6, 0x8c, 0x8d, "Tiger Lake"},
    {"GenuineIntel", 6, 0x97, 0x97, "Alder Lake"},
    {"GenuineIntel", 6, 0x9a, 0x9a, "Alder Lake"},
    {"GenuineIntel", 6, 0xb7, 0xb7, "Raptor Lake"},
    {"GenuineIntel", 6, 0xba, 0xba, "Raptor Lake"},
    {"GenuineIntel", 6, 0xbf, 0xbf, "Raptor Lake"},
    {"GenuineIntel", 6, 0x8f, 0x8f, "Sapphire Rapids"},
    {"GenuineIntel", 6, 0xcf, 0xcf, "Emerald Rapids"},
    {"GenuineIntel", 6, 0xad, 0xad, "Granite Rapids"},
    {"GenuineIntel", 6, 0xaf, 0xaf, "Sierra Forest"},
};

void nnb_cpu_uarch(const char *vendor, int family, int model, char *buf, size_t len) {
  for (size_t i = 0; vendor && family >= 0 && model >= 0 && i < sizeof rows / sizeof *rows; i++)
    if (!strcmp(rows[i].vendor, vendor) && rows[i].family == family && model >= rows[i].model_lo &&
        model <= rows[i].model_hi) {
      snprintf(buf, len, "%s", rows[i].name);
      return;
    }
  snprintf(buf, len, "unknown");
}
