// estafeta_parameters_doc: prints docs/parameters.md, generated from parameters.def.
// Usage: estafeta_parameters_doc > docs/parameters.md
#include <cstdio>

#include "config/parameters.h"

int main() {
  std::string doc = estafeta::config::parameters_markdown();
  return std::fwrite(doc.data(), 1, doc.size(), stdout) == doc.size() ? 0 : 1;
}
