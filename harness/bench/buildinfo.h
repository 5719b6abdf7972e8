/* How this nnbench was built, for --version and result provenance. */
#ifndef NNB_BUILDINFO_H
#define NNB_BUILDINFO_H

const char *nnb_version(void);
const char *nnb_git_commit(void); /* short hash, "-dirty" when modified, or "unknown" */
const char *nnb_build_type(void);
const char *nnb_compiler(void);
int nnb_sanitized(void);

#endif
