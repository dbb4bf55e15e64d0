// Rewriting settings from main.cf (see settings.h).
#include "rewrite/settings.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <string_view>
#include <utility>

namespace estafeta::rewrite {
namespace {

constexpr std::pair<std::string_view, AddressClass> kClassNames[] = {
    {"envelope_sender", AddressClass::EnvelopeSender},
    {"envelope_recipient", AddressClass::EnvelopeRecipient},
    {"header_sender", AddressClass::HeaderSender},
    {"header_recipient", AddressClass::HeaderRecipient},
};

Result<ClassSet> classes_of(const config::Config& config, std::string_view parameter) {
  Result<ClassSet> classes = parse_classes(config.get_list(parameter));
  if (!classes) return make_error(fmt::format("{}: {}", parameter, classes.error().message));
  return classes;
}

// The limits are Int parameters the config layer bounds (>= 1).
int limit_of(const config::Config& config, std::string_view parameter) {
  return static_cast<int>(std::clamp<long long>(config.get_int(parameter), 1, 1 << 30));
}

}  // namespace

Result<ClassSet> parse_classes(const std::vector<std::string>& names) {
  ClassSet out;
  for (const std::string& name : names) {
    const auto* it = std::find_if(std::begin(kClassNames), std::end(kClassNames),
                                  [&](const auto& entry) { return entry.first == name; });
    if (it == std::end(kClassNames)) {
      return make_error(fmt::format("unknown address class \"{}\"", name));
    }
    out.add(it->second);
  }
  return out;
}

Result<RewriteSettings> make_rewrite_settings(const config::Config& config) {
  RewriteSettings s;
  s.canonical_maps = config.get_list("canonical_maps");
  s.sender_canonical_maps = config.get_list("sender_canonical_maps");
  s.recipient_canonical_maps = config.get_list("recipient_canonical_maps");
  struct ClassParameter {
    std::string_view name;
    ClassSet* into;
  };
  for (const ClassParameter& p :
       {ClassParameter{"canonical_classes", &s.canonical_classes},
        ClassParameter{"sender_canonical_classes", &s.sender_canonical_classes},
        ClassParameter{"recipient_canonical_classes", &s.recipient_canonical_classes},
        ClassParameter{"masquerade_classes", &s.masquerade_classes}}) {
    Result<ClassSet> classes = classes_of(config, p.name);
    if (!classes) return classes.error();
    *p.into = *classes;
  }
  s.masquerade.domains = config.get_list("masquerade_domains");
  s.masquerade.exceptions = config.get_list("masquerade_exceptions");
  const std::vector<std::string> propagate = config.get_list("propagate_unmatched_extensions");
  s.propagate_canonical =
      std::find(propagate.begin(), propagate.end(), "canonical") != propagate.end();
  s.propagate_virtual = std::find(propagate.begin(), propagate.end(), "virtual") != propagate.end();
  s.virtual_alias_maps = config.get_list("virtual_alias_maps");
  s.virtual_alias_domains = config.get_list("virtual_alias_domains");
  s.alias_limits.recursion_limit = limit_of(config, "virtual_alias_recursion_limit");
  s.alias_limits.expansion_limit = limit_of(config, "virtual_alias_expansion_limit");
  s.always_bcc = config.get("always_bcc");
  s.sender_bcc_maps = config.get_list("sender_bcc_maps");
  s.recipient_bcc_maps = config.get_list("recipient_bcc_maps");
  s.recipient_delimiter = config.get("recipient_delimiter");
  return s;
}

std::vector<std::string> rewrite_table_specs(const RewriteSettings& settings) {
  std::vector<std::string> specs;
  for (const auto* list : {&settings.canonical_maps, &settings.sender_canonical_maps,
                           &settings.recipient_canonical_maps, &settings.virtual_alias_maps,
                           &settings.sender_bcc_maps, &settings.recipient_bcc_maps}) {
    for (const std::string& spec : *list) {
      if (std::find(specs.begin(), specs.end(), spec) == specs.end()) specs.push_back(spec);
    }
  }
  return specs;
}

}  // namespace estafeta::rewrite
