#include "ops/tile_op.h"

namespace tessera::ops {

SharedEffects TileOpNode::shared_effects(const LayoutMap& /*layouts*/) const {
  SharedEffects e;
  for (const ir::Operand& o : operands()) {
    if (o.region.buffer->scope == ir::Scope::shared) {
      e.reads |= o.reads();
      e.writes |= o.writes();
    }
  }
  return e;
}

} // namespace tessera::ops
