// The cleanup rewriting parameters of main.cf as plain data (canonical, masquerading,
// virtual aliases, automatic BCC), parsed from config::Config. Table parameters stay
// "type:name" specs: the cleanup edge opens them (maps::MapSet) and hands the Rewriter
// borrowed tables (rewrite_table_specs() lists what to open). Pure.
#pragma once

#include <initializer_list>
#include <string>
#include <vector>

#include "base/result.h"
#include "config/config.h"
#include "rewrite/masquerade.h"
#include "rewrite/virtual_alias.h"

namespace estafeta::rewrite {

/// Where an address appears (canonical_classes, masquerade_classes).
enum class AddressClass : unsigned {
  EnvelopeSender = 1,
  EnvelopeRecipient = 2,
  HeaderSender = 4,
  HeaderRecipient = 8,
};

/// A set of AddressClass values.
class ClassSet {
 public:
  constexpr ClassSet() = default;
  constexpr ClassSet(std::initializer_list<AddressClass> classes) {
    for (AddressClass c : classes) add(c);
  }
  constexpr bool has(AddressClass c) const { return (bits_ & static_cast<unsigned>(c)) != 0; }
  constexpr void add(AddressClass c) { bits_ |= static_cast<unsigned>(c); }
  bool operator==(const ClassSet&) const = default;

 private:
  unsigned bits_ = 0;
};

inline constexpr ClassSet kAllClasses{AddressClass::EnvelopeSender, AddressClass::EnvelopeRecipient,
                                      AddressClass::HeaderSender, AddressClass::HeaderRecipient};

struct RewriteSettings {
  std::vector<std::string> canonical_maps;
  std::vector<std::string> sender_canonical_maps;
  std::vector<std::string> recipient_canonical_maps;
  ClassSet canonical_classes = kAllClasses;
  ClassSet sender_canonical_classes{AddressClass::EnvelopeSender, AddressClass::HeaderSender};
  ClassSet recipient_canonical_classes{AddressClass::EnvelopeRecipient,
                                       AddressClass::HeaderRecipient};
  MasqueradeRules masquerade;
  ClassSet masquerade_classes{AddressClass::EnvelopeSender, AddressClass::HeaderSender,
                              AddressClass::HeaderRecipient};
  bool propagate_canonical = true;  ///< propagate_unmatched_extensions lists `canonical`
  bool propagate_virtual = true;    ///< ... lists `virtual`
  std::vector<std::string> virtual_alias_maps;
  std::vector<std::string> virtual_alias_domains;  ///< domains, /files and type:tables as given
  AliasLimits alias_limits;
  std::string always_bcc;
  std::vector<std::string> sender_bcc_maps;
  std::vector<std::string> recipient_bcc_maps;
  std::string recipient_delimiter;
};

/// Parses a canonical_classes / masquerade_classes value ("envelope_sender, header_sender");
/// an unknown name is an error naming it.
Result<ClassSet> parse_classes(const std::vector<std::string>& names);

/// Reads the parameters above from `config`; an error names the parameter that cannot be
/// used.
Result<RewriteSettings> make_rewrite_settings(const config::Config& config);

/// Every "type:name" spec the settings name, once each, in parameter order (for MapSet).
std::vector<std::string> rewrite_table_specs(const RewriteSettings& settings);

}  // namespace estafeta::rewrite
