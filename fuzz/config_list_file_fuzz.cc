// Fuzz target: list files of match lists ("/file/name" items; config/list_files.h). The input
// is a list file; expanding "/in" reads the input again, so a file that names itself checks
// the nesting limit. No item may be empty or contain a separator. Input: any bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/list_files.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  for (const std::string& item : estafeta::config::parse_list_file(text)) {
    if (item.empty() || item.find_first_of(" \t\r\n,#") != std::string::npos) __builtin_trap();
  }
  auto read = [&text](const std::string& path) -> estafeta::Result<std::string> {
    if (path == "/in") return text;
    return estafeta::make_error("cannot open");
  };
  (void)estafeta::config::expand_list_files({"a", "/in", "!/in"}, read);
  return 0;
}
