// cidr: tables; see cidr_map.h. Rules are compiled into a tree of Items: an indexed run of
// plain "network result" rules, a single negated rule, or an if-block with its own items.
#include "maps/cidr_map.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <optional>
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

// An open-addressing hash index from a masked network to its first rule, built once from
// all (network, rule) pairs of a run: flat arrays, no per-entry allocation, one probe
// sequence per lookup. Invariant: insertion in increasing rule order keeps the first rule.
template <class Key, class Hash>
class FlatIndex {
 public:
  void build(const std::vector<std::pair<Key, uint32_t>>& pairs) {
    size_t capacity = 16;
    while (capacity < pairs.size() * 2) capacity *= 2;
    mask_ = capacity - 1;
    slots_.assign(capacity, Slot{Key{}, kNoMatch});
    for (const auto& [key, rule] : pairs) {
      size_t i = Hash{}(key)&mask_;
      while (slots_[i].rule != kNoMatch && !(slots_[i].key == key)) i = (i + 1) & mask_;
      if (slots_[i].rule == kNoMatch) slots_[i] = Slot{key, rule};
    }
  }
  uint32_t find(const Key& key) const {
    if (slots_.empty()) return kNoMatch;
    for (size_t i = Hash{}(key)&mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.rule == kNoMatch) return kNoMatch;
      if (s.key == key) return s.rule;
    }
  }

 private:
  struct Slot {
    Key key;
    uint32_t rule;
  };
  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

struct U32Hash {
  size_t operator()(uint32_t k) const {
    uint64_t h = uint64_t(k) * 0x9e3779b97f4a7c15ull;
    return static_cast<size_t>(h ^ (h >> 32));
  }
};

// Consecutive plain rules, indexed per prefix length. Rule numbers grow in file order, so
// the smallest hit over all lengths is the first match in file order.
struct IndexedRun {
  struct Pending {
    Key128 key;  // IPv4 networks use key.lo
    uint32_t rule;
    uint8_t prefix;
    bool v6;
  };
  struct Length4 {
    int prefix;
    FlatIndex<uint32_t, U32Hash> index;
  };
  struct Length6 {
    int prefix;
    FlatIndex<Key128, Key128Hash> index;
  };
  std::vector<Length4> v4;
  std::vector<Length6> v6;
  std::vector<Pending> pending;

  void add(const IpNetwork& net, uint32_t value_index) {
    Key128 key = net.v6 ? v6_value(net) : Key128{0, v4_value(net)};
    pending.push_back(Pending{key, value_index, static_cast<uint8_t>(net.prefix), net.v6});
  }

  // Builds one index per (family, prefix length) and frees the pending rules; called once,
  // after the last add(). The stable sort keeps file order within each group.
  void finish() {
    std::stable_sort(pending.begin(), pending.end(), [](const Pending& a, const Pending& b) {
      return a.v6 != b.v6 ? b.v6 : a.prefix < b.prefix;
    });
    std::vector<std::pair<uint32_t, uint32_t>> group4;
    std::vector<std::pair<Key128, uint32_t>> group6;
    for (size_t i = 0; i < pending.size();) {
      size_t j = i;
      while (j < pending.size() && pending[j].v6 == pending[i].v6 &&
             pending[j].prefix == pending[i].prefix) {
        ++j;
      }
      if (!pending[i].v6) {
        group4.clear();
        for (size_t k = i; k < j; ++k) {
          group4.emplace_back(static_cast<uint32_t>(pending[k].key.lo), pending[k].rule);
        }
        v4.push_back(Length4{pending[i].prefix, {}});
        v4.back().index.build(group4);
      } else {
        group6.assign(j - i, {});
        for (size_t k = i; k < j; ++k) group6[k - i] = {pending[k].key, pending[k].rule};
        v6.push_back(Length6{pending[i].prefix, {}});
        v6.back().index.build(group6);
      }
      i = j;
    }
    pending = {};
  }

  uint32_t find(const IpNetwork& addr) const {
    uint32_t best = kNoMatch;
    if (!addr.v6) {
      uint32_t a = v4_value(addr);
      for (const Length4& l : v4) best = std::min(best, l.index.find(a & v4_mask(l.prefix)));
    } else {
      Key128 a = v6_value(addr);
      for (const Length6& l : v6) best = std::min(best, l.index.find(v6_masked(a, l.prefix)));
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

namespace {

void finish_runs(std::vector<CidrMap::Item>& items) {
  for (CidrMap::Item& item : items) {
    if (auto* run = std::get_if<IndexedRun>(&item.v)) {
      run->finish();
    } else if (auto* block = std::get_if<IfBlock>(&item.v)) {
      finish_runs(block->body);
    }
  }
}

}  // namespace

BuiltMap build_cidr_map(std::string_view text, const std::string& file_name) {
  std::string prefix = "cidr map " + file_name;
  std::vector<std::string> warnings;
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
  auto handle = [&](const LogicalLine& line) {
    std::string_view t = line.text;
    size_t end = 0;
    while (end < t.size() && !is_table_space(t[end])) ++end;
    std::string_view first = t.substr(0, end);
    std::string_view rest = trim_table_space(t.substr(end));
    if (ascii::iequals(first, "endif")) {
      if (stack.size() == 1) {
        warn(line.line, "ignoring ENDIF without matching IF");
        return;
      }
      if (!rest.empty()) warn(line.line, "ignoring extra text after ENDIF");
      stack.pop_back();
      if_lines.pop_back();
      return;
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
      return;
    }
    Result<IpNetwork> net = parse_cidr_pattern(pattern);
    if (!net.ok()) {
      warn(line.line, net.error().message + ": skipping this rule");
      return;
    }
    if (is_if) {
      stack.back()->push_back(CidrMap::Item{IfBlock{*net, negate, {}}});
      stack.push_back(&std::get<IfBlock>(stack.back()->back().v).body);
      if_lines.push_back(line.line);
      return;
    }
    if (value.empty()) {
      warn(line.line, "no lookup result: skipping this rule");
      return;
    }
    uint32_t index = static_cast<uint32_t>(values.size());
    values.emplace_back(value);
    if (negate) {
      stack.back()->push_back(CidrMap::Item{NegatedRule{*net, index}});
    } else {
      current_run().add(*net, index);
    }
  };
  // Lines are streamed in chunks: a 1,000,000-network table never exists twice in memory.
  constexpr size_t kChunk = 1 << 20;
  LogicalLineReader reader(file_name);
  auto drain = [&] {
    for (std::string& w : reader.take_warnings()) warnings.push_back(std::move(w));
    for (const LogicalLine& line : reader.take_lines()) handle(line);
  };
  for (size_t off = 0; off < text.size(); off += kChunk) {
    reader.feed(text.substr(off, kChunk));
    drain();
  }
  reader.finish();
  drain();
  for (int if_line : if_lines) warn(if_line, "IF has no matching ENDIF");
  finish_runs(*top);
  return BuiltMap{std::make_unique<CidrMap>(std::move(values), std::move(top)),
                  std::move(warnings)};
}

}  // namespace estafeta::maps
