/* What the C loops (dn_pool_c.c, dn_conv_c.c) read: a tensor in the layout
 * its writer chose when the loop knows it (plain, nChw8c, nChw16c), else
 * reordered into plain private memory by the step's primitives. */
#include "dn.h"

/* The block of tensor t's layout: 1 plain, 8 or 16 channel-blocked, 0 any other. */
int64_t dn_loop_block(const dn_graph_info *gi, int t) {
  const nnb_tensor_desc *d = &gi->g->tensors[t];
  dnnl_memory_desc_t md, tag;
  dn_md_of(gi, t, &md);
  if (dn_is_plain(d, &md)) return 1;
  static const struct {
    dnnl_format_tag_t tag;
    int64_t blk;
  } blocked[] = {{dnnl_nChw8c, 8}, {dnnl_nChw16c, 16}};
  for (int i = 0; i < 2; i++) {
    if (d->dims[1] % blocked[i].blk) continue;
    dnnl_memory_desc_init_by_tag(&tag, 4, md.dims, dnnl_f32, blocked[i].tag);
    if (dnnl_memory_desc_equal(&tag, &md)) return blocked[i].blk;
  }
  return 0;
}

/* Input `in` of the step as the loop reads it: itself when its layout is
 * known, else a reorder into plain private memory at byte `off`. */
nnb_status dn_loop_input(dn_step *s, const dn_graph_info *gi, int in, size_t off, int64_t *blk,
                         nnb_error *e) {
  *blk = dn_loop_block(gi, s->n->in[in]);
  s->aux_p[in] = s->in[in];
  if (*blk) return NNB_OK;
  dnnl_memory_desc_t from, to;
  dn_md_of(gi, s->n->in[in], &from);
  dn_md_tensor(&to, s->ti[in]);
  *blk = 1;
  s->aux_p[in] = (char *)s->priv + off;
  nnb_status r = dn_add_reorder(s, &from, &to, e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_FROM, &from, s->in[in], e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_TO, &to, s->aux_p[in], e);
  return r;
}
