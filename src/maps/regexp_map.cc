// regexp: tables over POSIX <regex.h>; see regexp_map.h.
#include "maps/regexp_map.h"

#include <regex.h>

#include <memory>
#include <vector>

namespace estafeta::maps {
namespace {

class PosixRegex final : public CompiledRegex {
 public:
  PosixRegex() = default;
  PosixRegex(const PosixRegex&) = delete;
  PosixRegex& operator=(const PosixRegex&) = delete;
  ~PosixRegex() override {
    if (compiled_) regfree(&re_);
  }

  Status compile(const RegexPattern& p) {
    int flags = 0;
    if (p.icase) flags |= REG_ICASE;
    if (p.extended) flags |= REG_EXTENDED;
    if (p.multiline) flags |= REG_NEWLINE;
    int rc = regcomp(&re_, p.source.c_str(), flags);
    if (rc != 0) {
      char buf[256];
      regerror(rc, &re_, buf, sizeof buf);
      return make_error(buf);
    }
    compiled_ = true;
    return {};
  }

  int capture_count() const override { return static_cast<int>(re_.re_nsub); }

  std::optional<std::vector<std::string>> match(std::string_view subject) const override {
    // regexec needs a C string; a key with a NUL byte is matched up to the NUL, as Postfix.
    std::string s(subject);
    std::vector<regmatch_t> m(re_.re_nsub + 1);
    if (regexec(&re_, s.c_str(), m.size(), m.data(), 0) != 0) return std::nullopt;
    std::vector<std::string> groups(m.size());
    for (size_t i = 0; i < m.size(); ++i) {
      if (m[i].rm_so >= 0 && m[i].rm_eo >= m[i].rm_so) {
        groups[i] = s.substr(m[i].rm_so, m[i].rm_eo - m[i].rm_so);
      }
    }
    return groups;
  }

 private:
  regex_t re_{};
  bool compiled_ = false;
};

// glibc's regcomp duplicates the parse tree for each stacked repetition operator ("a+++"),
// so memory grows exponentially with the run length (found by maps_regexp_fuzz; corpus
// case oom_glibc_stacked_repetition). No sensible pattern stacks more than a few.
constexpr int kMaxStackedRepetitions = 3;

bool has_stacked_repetitions(std::string_view re) {
  int run = 0;
  for (size_t i = 0; i < re.size(); ++i) {
    char c = re[i];
    if (c == '\\') {
      ++i;
      run = 0;
      continue;
    }
    if (c == '*' || c == '+' || c == '?') {
      if (++run > kMaxStackedRepetitions) return true;
    } else if (c == '{') {
      size_t close = re.find('}', i);
      if (close == std::string_view::npos) return false;
      i = close;
      if (++run > kMaxStackedRepetitions) return true;
    } else {
      run = 0;
    }
  }
  return false;
}

}  // namespace

Result<std::unique_ptr<CompiledRegex>> compile_posix_regex(const RegexPattern& pattern) {
  if (has_stacked_repetitions(pattern.source)) {
    return make_error("regular expression too complex: more than " +
                      std::to_string(kMaxStackedRepetitions) + " stacked repetition operators");
  }
  auto re = std::make_unique<PosixRegex>();
  Status st = re->compile(pattern);
  if (!st.ok()) return st.error();
  return std::unique_ptr<CompiledRegex>(std::move(re));
}

BuiltMap build_regexp_map(std::string_view text, const std::string& file_name) {
  return build_regex_table(text, file_name, RegexDialect::Posix, compile_posix_regex);
}

}  // namespace estafeta::maps
