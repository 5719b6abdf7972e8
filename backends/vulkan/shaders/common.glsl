// Shared by every shader: the flat index of a 2D grid (lavapipe and the spec
// allow only 65535 workgroups per dimension) and the error record sync reads.
#extension GL_EXT_control_flow_attributes : require

uint flat_group() { return gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x; }

// Binding 8 of every set: [0] error code (0: none), [1] node, [2], [3] details.
layout(std430, set = 0, binding = 8) buffer ErrBuf { uint err[]; };

void report_error(uint code, uint node, uint a, uint b) {
  if (atomicCompSwap(err[0], 0u, code) == 0u) {
    err[1] = node;
    err[2] = a;
    err[3] = b;
  }
}
