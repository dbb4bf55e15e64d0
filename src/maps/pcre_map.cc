// pcre: tables over PCRE2; see pcre_map.h.
#include "maps/pcre_map.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <vector>

namespace estafeta::maps {
namespace {

class Pcre2Regex final : public CompiledRegex {
 public:
  explicit Pcre2Regex(pcre2_code* code) : code_(code) {
    uint32_t n = 0;
    pcre2_pattern_info(code_, PCRE2_INFO_CAPTURECOUNT, &n);
    captures_ = static_cast<int>(n);
  }
  Pcre2Regex(const Pcre2Regex&) = delete;
  Pcre2Regex& operator=(const Pcre2Regex&) = delete;
  ~Pcre2Regex() override { pcre2_code_free(code_); }

  int capture_count() const override { return captures_; }

  std::optional<std::vector<std::string>> match(std::string_view subject) const override {
    // Match data is per call: the compiled code is shared by every thread.
    pcre2_match_data* md = pcre2_match_data_create_from_pattern(code_, nullptr);
    if (md == nullptr) return std::nullopt;
    int rc = pcre2_match(code_, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), 0, 0,
                         md, nullptr);
    std::optional<std::vector<std::string>> out;
    if (rc > 0) {
      PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
      std::vector<std::string> groups(captures_ + 1);
      for (int i = 0; i < rc && i <= captures_; ++i) {
        if (ov[2 * i] != PCRE2_UNSET && ov[2 * i + 1] >= ov[2 * i]) {
          groups[i].assign(subject.substr(ov[2 * i], ov[2 * i + 1] - ov[2 * i]));
        }
      }
      out = std::move(groups);
    }
    pcre2_match_data_free(md);
    return out;
  }

 private:
  pcre2_code* code_;
  int captures_ = 0;
};

}  // namespace

Result<std::unique_ptr<CompiledRegex>> compile_pcre_regex(const RegexPattern& p) {
  uint32_t options = 0;
  if (p.icase) options |= PCRE2_CASELESS;
  if (p.multiline) options |= PCRE2_MULTILINE;
  if (p.dotall) options |= PCRE2_DOTALL;
  if (p.extended) options |= PCRE2_EXTENDED;
  if (p.anchored) options |= PCRE2_ANCHORED;
  if (p.dollar_endonly) options |= PCRE2_DOLLAR_ENDONLY;
  if (p.ungreedy) options |= PCRE2_UNGREEDY;
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(p.source.data()), p.source.size(),
                                   options, &error, &offset, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR buf[256];
    pcre2_get_error_message(error, buf, sizeof buf);
    return make_error("error in regex at offset " + std::to_string(offset) + ": " +
                      reinterpret_cast<const char*>(buf));
  }
  // JIT is an optimisation: when unavailable the interpreter gives the same answers.
  (void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
  return std::unique_ptr<CompiledRegex>(std::make_unique<Pcre2Regex>(code));
}

BuiltMap build_pcre_map(std::string_view text, const std::string& file_name) {
  return build_regex_table(text, file_name, RegexDialect::Pcre, compile_pcre_regex);
}

}  // namespace estafeta::maps
