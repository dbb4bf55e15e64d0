// unix:passwd.byname and unix:group.byname; see unix_map.h.
#include "maps/unix_map.h"

#include <grp.h>
#include <pwd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "base/ascii.h"

namespace estafeta::maps {
namespace {

// The NSS buffer grows on ERANGE up to this size; a larger entry is a TempFail.
constexpr size_t kMaxBuffer = size_t(1) << 20;

// Calls `get(buffer, size, &found)` (a getpwnam_r/getgrnam_r wrapper returning its error
// code) with a growing buffer. Returns 0 with found set or null, or the error code.
template <typename Getter>
int call_with_buffer(std::vector<char>& buffer, Getter get) {
  buffer.resize(1024);
  while (true) {
    int rc = get(buffer.data(), buffer.size());
    if (rc != ERANGE) return rc;
    if (buffer.size() >= kMaxBuffer) return ERANGE;
    buffer.resize(buffer.size() * 2);
  }
}

// getpwnam_r(3): 0 with no result, ENOENT and ESRCH all mean "no such name".
bool means_not_found(int rc) { return rc == 0 || rc == ENOENT || rc == ESRCH; }

class UnixMap final : public Map {
 public:
  UnixMap(bool groups, bool fold_keys) : groups_(groups), fold_keys_(fold_keys) {}

  LookupResult lookup(std::string_view key) const override {
    std::string name = fold_keys_ ? ascii::lower(key) : std::string(key);
    if (name.empty() || name.find('\0') != std::string::npos) return LookupResult::not_found();
    return groups_ ? lookup_group(name) : lookup_user(name);
  }

 private:
  static LookupResult failure(const char* call, const std::string& name, int rc) {
    return LookupResult::temp_fail(std::string(call) + "(" + name + "): " + std::strerror(rc));
  }

  static LookupResult lookup_user(const std::string& name) {
    std::vector<char> buffer;
    passwd entry{};
    passwd* found = nullptr;
    int rc = call_with_buffer(buffer, [&](char* buf, size_t size) {
      return ::getpwnam_r(name.c_str(), &entry, buf, size, &found);
    });
    if (found == nullptr) {
      if (means_not_found(rc)) return LookupResult::not_found();
      return failure("getpwnam_r", name, rc);
    }
    return LookupResult::found(std::string(entry.pw_name) + ":" + entry.pw_passwd + ":" +
                               std::to_string(entry.pw_uid) + ":" + std::to_string(entry.pw_gid) +
                               ":" + entry.pw_gecos + ":" + entry.pw_dir + ":" + entry.pw_shell);
  }

  static LookupResult lookup_group(const std::string& name) {
    std::vector<char> buffer;
    group entry{};
    group* found = nullptr;
    int rc = call_with_buffer(buffer, [&](char* buf, size_t size) {
      return ::getgrnam_r(name.c_str(), &entry, buf, size, &found);
    });
    if (found == nullptr) {
      if (means_not_found(rc)) return LookupResult::not_found();
      return failure("getgrnam_r", name, rc);
    }
    std::string value = std::string(entry.gr_name) + ":" + entry.gr_passwd + ":" +
                        std::to_string(entry.gr_gid) + ":";
    for (char** member = entry.gr_mem; member != nullptr && *member != nullptr; ++member) {
      if (member != entry.gr_mem) value.push_back(',');
      value.append(*member);
    }
    return LookupResult::found(std::move(value));
  }

  bool groups_;
  bool fold_keys_;
};

}  // namespace

Result<std::unique_ptr<Map>> open_unix_map(const std::string& name, const OpenOptions& options) {
  if (name == "passwd.byname") return std::unique_ptr<Map>(new UnixMap(false, options.fold_keys));
  if (name == "group.byname") return std::unique_ptr<Map>(new UnixMap(true, options.fold_keys));
  return make_error("unix:" + name + ": unknown table (unix: has passwd.byname and group.byname)");
}

}  // namespace estafeta::maps
