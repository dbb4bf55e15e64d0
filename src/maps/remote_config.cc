// Remote table config files; see remote_config.h.
#include "maps/remote_config.h"

#include <algorithm>
#include <cstdlib>

#include "maps/line_reader.h"

namespace estafeta::maps {

Result<RemoteConfig> parse_remote_config(std::string_view text, const std::string& file_name,
                                         const std::vector<std::string_view>& allowed) {
  SplitLines split = split_logical_lines(text, file_name);
  RemoteConfig out;
  for (const LogicalLine& line : split.lines) {
    std::string where = file_name + ", line " + std::to_string(line.line) + ": ";
    size_t eq = line.text.find('=');
    if (eq == std::string::npos) return make_error(where + "missing '=' after parameter name");
    std::string name(trim_table_space(std::string_view(line.text).substr(0, eq)));
    std::string value(trim_table_space(std::string_view(line.text).substr(eq + 1)));
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      return make_error(where + "unknown parameter \"" + name + "\"");
    }
    out.insert_or_assign(std::move(name), std::move(value));
  }
  return out;
}

Result<double> parse_timeout_seconds(std::string_view text) {
  std::string s(text);
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end == nullptr || *end != '\0' || !(v >= 0) || v > 3600) {
    return make_error("bad timeout \"" + s + "\": expected seconds");
  }
  return v;
}

Result<std::string> expand_query(std::string_view format, std::string_view key,
                                 const std::function<std::string(std::string_view)>& escape) {
  size_t at = key.rfind('@');
  std::string_view local = at == std::string_view::npos ? key : key.substr(0, at);
  std::string_view domain = at == std::string_view::npos ? std::string_view() : key.substr(at + 1);
  std::string out;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') {
      out.push_back(format[i]);
      continue;
    }
    if (++i == format.size()) return make_error("query ends with '%'");
    switch (format[i]) {
      case '%':
        out.push_back('%');
        break;
      case 's':
        out += escape(key);
        break;
      case 'u':
        out += escape(local);
        break;
      case 'd':
        out += escape(domain);
        break;
      default:
        return make_error(std::string("unknown query escape \"%") + format[i] + "\"");
    }
  }
  return out;
}

}  // namespace estafeta::maps
