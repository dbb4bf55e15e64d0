// cidr: tables; see cidr_map.h. Rules are compiled into a tree of Items: an indexed run of
// plain "network result" rules, a single negated rule, or an if-block with its own items.
#include "maps/cidr_map.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <unordered_map>
#include <utility>
#include <variant>

#include "base/ascii.h"
#include "maps/line_reader.h"

namespace estafeta::maps {
namespace {

constexpr uint32_t kNoMatch = 0xffffffffu;

struct Key128 {
  uint64_t hi = 0;
  uint64_t lo = 0;
  bool operator==(const Key128&) const = default;
};

struct Key128Hash {
  size_t operator()(const Key128& k) const {
    uint64_t h = k.hi * 0x9e3779b97f4a7c15ull ^ (k.lo + 0x632be59bd9b4e019ull + (k.hi << 6));
    return static_cast<size_t>(h ^ (h >> 29));
  }
};

uint32_t v4_value(const IpNetwork& n) {
  return (uint32_t(n.bytes[0]) << 24) | (uint32_t(n.bytes[1]) << 16) | (uint32_t(n.bytes[2]) << 8) |
         uint32_t(n.bytes[3]);
}

uint32_t v4_mask(int prefix) { return prefix == 0 ? 0 : ~uint32_t(0) << (32 - prefix); }

Key128 v6_value(const IpNetwork& n) {
  Key128 k;
  for (int i = 0; i < 8; ++i) k.hi = (k.hi << 8) | n.bytes[i];
  for (int i = 8; i < 16; ++i) k.lo = (k.lo << 8) | n.bytes[i];
  return k;
}

Key128 v6_masked(Key128 k, int prefix) {
  if (prefix <= 0) return Key128{};
  if (prefix < 64) return Key128{k.hi & (~uint64_t(0) << (64 - prefix)), 0};
  if (prefix == 64) return Key128{k.hi, 0};
  if (prefix < 128) return Key128{k.hi, k.lo & (~uint64_t(0) << (128 - prefix))};
  return k;
}

bool network_contains(const IpNetwork& net, const IpNetwork& addr) {
  if (net.v6 != addr.v6) return false;
  if (!net.v6) return (v4_value(addr) & v4_mask(net.prefix)) == v4_value(net);
  return v6_masked(v6_value(addr), net.prefix) == v6_value(net);
}

}  // namespace

// Consecutive plain rules. Invariant: each (length, network) keeps its first rule only, and
// rule numbers grow in file order, so the smallest hit is the first match in file order.
struct IndexedRun {
  std::vector<int> v4_lengths;  // distinct prefix lengths present, any order
  std::vector<int> v6_lengths;
  std::array<std::unordered_map<uint32_t, uint32_t>, 33> v4;
  std::unordered_map<int, std::unordered_map<Key128, uint32_t, Key128Hash>> v6;

  void add(const IpNetwork& net, uint32_t value_index) {
    if (!net.v6) {
      auto& table = v4[net.prefix];
      if (table.empty()) v4_lengths.push_back(net.prefix);
      table.try_emplace(v4_value(net), value_index);
    } else {
      auto [it, inserted] = v6.try_emplace(net.prefix);
      if (inserted) v6_lengths.push_back(net.prefix);
      it->second.try_emplace(v6_value(net), value_index);
    }
  }

  uint32_t find(const IpNetwork& addr) const {
    uint32_t best = kNoMatch;
    if (!addr.v6) {
      uint32_t a = v4_value(addr);
      for (int len : v4_lengths) {
        const auto& table = v4[len];
        auto it = table.find(a & v4_mask(len));
        if (it != table.end()) best = std::min(best, it->second);
      }
    } else {
      Key128 a = v6_value(addr);
      for (int len : v6_lengths) {
        const auto& table = v6.at(len);
        auto it = table.find(v6_masked(a, len));
        if (it != table.end()) best = std::min(best, it->second);
      }
    }
    return best;
  }
};

struct NegatedRule {
  IpNetwork net;
  uint32_t value_index;
};

struct IfBlock {
  IpNetwork net;
  bool negate = false;
  std::vector<CidrMap::Item> body;
};

struct CidrMap::Item {
  std::variant<IndexedRun, NegatedRule, IfBlock> v;
};

namespace {

uint32_t evaluate(const std::vector<CidrMap::Item>& items, const IpNetwork& addr) {
  for (const CidrMap::Item& item : items) {
    if (const auto* run = std::get_if<IndexedRun>(&item.v)) {
      uint32_t hit = run->find(addr);
      if (hit != kNoMatch) return hit;
    } else if (const auto* neg = std::get_if<NegatedRule>(&item.v)) {
      // Postfix: a negated pattern matches only addresses of its own family.
      if (neg->net.v6 == addr.v6 && !network_contains(neg->net, addr)) {
        return neg->value_index;
      }
    } else {
      const auto& block = std::get<IfBlock>(item.v);
      if (block.net.v6 == addr.v6 && network_contains(block.net, addr) != block.negate) {
        uint32_t hit = evaluate(block.body, addr);
        if (hit != kNoMatch) return hit;
      }
    }
  }
  return kNoMatch;
}

}  // namespace

CidrMap::CidrMap(std::vector<std::string> values, std::unique_ptr<std::vector<Item>> top)
    : values_(std::move(values)), top_(std::move(top)) {}
CidrMap::~CidrMap() = default;

LookupResult CidrMap::lookup(std::string_view key) const {
  Result<IpNetwork> addr = parse_ip_address(key);
  if (!addr.ok()) return LookupResult::not_found();
  uint32_t hit = evaluate(*top_, *addr);
  if (hit == kNoMatch) return LookupResult::not_found();
  return LookupResult::found(values_[hit]);
}

Result<IpNetwork> parse_ip_address(std::string_view text) {
  if (text.empty() || text.size() > 64) return make_error("not an address");
  std::string s(text);
  IpNetwork n;
  n.v6 = s.find(':') != std::string::npos;
  if (inet_pton(n.v6 ? AF_INET6 : AF_INET, s.c_str(), n.bytes.data()) != 1) {
    return make_error("not an address");
  }
  n.prefix = n.v6 ? 128 : 32;
  return n;
}

Result<IpNetwork> parse_cidr_pattern(std::string_view text) {
  std::string original(text);
  std::string_view addr_text = text;
  std::optional<std::string_view> mask_text;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) {
      return make_error("missing ']' character after \"" + original + "\"");
    }
    addr_text = text.substr(1, close - 1);
    std::string_view after = text.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != '/') return make_error("garbage after \"" + original + "\"");
      mask_text = after.substr(1);
    }
  }
  size_t slash = addr_text.find('/');
  if (slash != std::string_view::npos) {
    if (mask_text) return make_error("bad address pattern: \"" + original + "\"");
    mask_text = addr_text.substr(slash + 1);
    addr_text = addr_text.substr(0, slash);
  }
  Result<IpNetwork> addr = parse_ip_address(addr_text);
  if (!addr.ok()) return make_error("bad address pattern: \"" + original + "\"");
  IpNetwork n = *addr;
  int max_bits = n.v6 ? 128 : 32;
  if (!mask_text) return n;
  if (mask_text->empty() || mask_text->size() > 3 ||
      !std::all_of(mask_text->begin(), mask_text->end(), ascii::is_digit)) {
    return make_error("bad mask length in \"" + original + "\"");
  }
  int len = std::stoi(std::string(*mask_text));
  if (len > max_bits) return make_error("bad mask length in \"" + original + "\"");
  n.prefix = len;
  IpNetwork masked = n;
  int bytes = max_bits / 8;
  for (int i = 0; i < bytes; ++i) {
    int bits_here = std::clamp(len - i * 8, 0, 8);
    uint8_t m = bits_here == 0 ? 0 : uint8_t(0xff << (8 - bits_here));
    masked.bytes[i] = uint8_t(n.bytes[i] & m);
  }
  if (masked.bytes != n.bytes) {
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(n.v6 ? AF_INET6 : AF_INET, masked.bytes.data(), buf, sizeof buf);
    return make_error("non-null host address bits in \"" + original +
                      "\", perhaps you should use \"" + buf + "/" + std::to_string(len) +
                      "\" instead");
  }
  return n;
}

BuiltMap build_cidr_map(std::string_view text, const std::string& file_name) {
  std::string prefix = "cidr map " + file_name;
  SplitLines split = split_logical_lines(text, file_name);
  std::vector<std::string> warnings = std::move(split.warnings);
  std::vector<std::string> values;
  auto top = std::make_unique<std::vector<CidrMap::Item>>();
  // Stack of open item lists: top level, then one per open if-block (with its line).
  std::vector<std::vector<CidrMap::Item>*> stack = {top.get()};
  std::vector<int> if_lines;
  auto warn = [&](int line, const std::string& what) {
    warnings.push_back(prefix + ", line " + std::to_string(line) + ": " + what);
  };
  auto current_run = [&]() -> IndexedRun& {
    std::vector<CidrMap::Item>& items = *stack.back();
    if (items.empty() || !std::holds_alternative<IndexedRun>(items.back().v)) {
      items.push_back(CidrMap::Item{IndexedRun{}});
    }
    return std::get<IndexedRun>(items.back().v);
  };
  for (const LogicalLine& line : split.lines) {
    std::string_view t = line.text;
    size_t end = 0;
    while (end < t.size() && !is_table_space(t[end])) ++end;
    std::string_view first = t.substr(0, end);
    std::string_view rest = trim_table_space(t.substr(end));
    if (ascii::iequals(first, "endif")) {
      if (stack.size() == 1) {
        warn(line.line, "ignoring ENDIF without matching IF");
        continue;
      }
      if (!rest.empty()) warn(line.line, "ignoring extra text after ENDIF");
      stack.pop_back();
      if_lines.pop_back();
      continue;
    }
    bool is_if = ascii::iequals(first, "if");
    std::string_view pattern = is_if ? rest : first;
    bool negate = false;
    while (!pattern.empty() && (pattern.front() == '!' || is_table_space(pattern.front()))) {
      if (pattern.front() == '!') negate = !negate;
      pattern.remove_prefix(1);
    }
    std::string_view value = rest;
    if (is_if) {
      size_t pend = 0;
      while (pend < pattern.size() && !is_table_space(pattern[pend])) ++pend;
      if (!trim_table_space(pattern.substr(pend)).empty()) {
        warn(line.line, "ignoring extra text after IF");
      }
      pattern = pattern.substr(0, pend);
    }
    if (pattern.empty()) {
      warn(line.line, "no address pattern: skipping this rule");
      continue;
    }
    Result<IpNetwork> net = parse_cidr_pattern(pattern);
    if (!net.ok()) {
      warn(line.line, net.error().message + ": skipping this rule");
      continue;
    }
    if (is_if) {
      stack.back()->push_back(CidrMap::Item{IfBlock{*net, negate, {}}});
      stack.push_back(&std::get<IfBlock>(stack.back()->back().v).body);
      if_lines.push_back(line.line);
      continue;
    }
    if (value.empty()) {
      warn(line.line, "no lookup result: skipping this rule");
      continue;
    }
    uint32_t index = static_cast<uint32_t>(values.size());
    values.emplace_back(value);
    if (negate) {
      stack.back()->push_back(CidrMap::Item{NegatedRule{*net, index}});
    } else {
      current_run().add(*net, index);
    }
  }
  for (int if_line : if_lines) warn(if_line, "IF has no matching ENDIF");
  return BuiltMap{std::make_unique<CidrMap>(std::move(values), std::move(top)),
                  std::move(warnings)};
}

}  // namespace estafeta::maps
