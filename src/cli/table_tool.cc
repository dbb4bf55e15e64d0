// The postmap/postalias machinery shared by `estafeta map` and `estafeta alias`; see
// table_tool.h.
#include "cli/table_tool.h"

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <unordered_map>

#include "base/ascii.h"
#include "checks/message_lines.h"
#include "maps/lmdb_map.h"
#include "maps/map_spec.h"
#include "maps/open_map.h"

namespace estafeta::cli {
namespace {

using maps::DuplicatePolicy;
using maps::Entry;
using maps::MapSpec;
using maps::OpenOptions;

constexpr std::string_view kDefaultType = "lmdb";

int fatal(const TableTool& tool, const std::string& message) {
  std::fprintf(stderr, "%s: fatal: %s\n", tool.program, message.c_str());
  return 1;
}

void warn_all(const TableTool& tool, const std::vector<std::string>& warnings) {
  for (const std::string& w : warnings) {
    std::fprintf(stderr, "%s: warning: %s\n", tool.program, w.c_str());
  }
}

std::string read_all_stdin() {
  std::string text;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, stdin)) > 0) text.append(buf, n);
  return text;
}

// One key per input line; an empty line is the empty key, as postmap reads it (body_checks
// tables see the empty lines of a message body).
std::vector<std::string> stdin_keys() {
  std::vector<std::string> keys;
  std::string line;
  while (std::getline(std::cin, line)) keys.push_back(line);
  return keys;
}

struct Options {
  OpenOptions open;
  bool incremental = false;
  bool sequence = false;
  bool header_keys = false;  // -h: with -q -, each logical header of a message is a key
  bool body_keys = false;    // -b: with -q -, each body line of a message is a key
  std::optional<std::string> query;
  std::optional<std::string> delete_key;
  std::vector<std::string> maps;
};

// Compiles (or with -i, updates) one indexed table from its source file or stdin. Entries
// stream into LMDB in input order, as postmap does: the first of two equal keys wins unless
// -r, with a warning unless -w.
int compile(const TableTool& tool, const MapSpec& spec, const Options& opt) {
  if (!maps::is_indexed_type(spec.type)) {
    return fatal(tool, "unsupported dictionary type: " + spec.type_name +
                           " does not support bulk-mode creation.");
  }
  std::string db = maps::lmdb_path_for(spec.name);
  std::string text;
  std::string source_name = spec.name;
  std::vector<Entry> existing;
  if (opt.incremental) {
    Result<std::vector<Entry>> old = maps::read_lmdb_entries(db, true);
    if (!old.ok()) return fatal(tool, old.error().message);
    existing = std::move(*old);
    text = read_all_stdin();
    source_name = "stdin";
  } else {
    Result<std::string> src = maps::read_text_file(spec.name);
    if (!src.ok()) return fatal(tool, src.error().message);
    text = std::move(*src);
  }
  maps::SplitLines split = maps::split_logical_lines(text, source_name);
  size_t map_size = (size_t(64) << 20) + text.size() * 16 + existing.size() * 256;
  bool replace = opt.open.duplicates == DuplicatePolicy::Replace;
  for (int attempt = 0; attempt < 6; ++attempt, map_size *= 4) {
    std::vector<std::string> warnings = split.warnings;
    auto writer = maps::LmdbTableWriter::create(db, map_size);
    if (!writer.ok()) return fatal(tool, writer.error().message);
    maps::LmdbTableWriter& w = **writer;
    Status failed;
    for (const Entry& e : existing) {
      if (auto r = w.put(e.key, e.value, true); !r.ok()) {
        failed = r.error();
        break;
      }
    }
    for (size_t i = 0; failed.ok() && i < split.lines.size(); ++i) {
      const maps::LogicalLine& line = split.lines[i];
      SourceLine parsed = tool.parse_line(line, source_name, opt.open.fold_keys);
      warnings.insert(warnings.end(), parsed.warnings.begin(), parsed.warnings.end());
      if (!parsed.entry) continue;
      const std::string& key = parsed.entry->key;
      if (key.size() >= maps::LmdbTableWriter::kMaxKeySize) {
        warnings.push_back(source_name + ", line " + std::to_string(line.line) +
                           ": key longer than " +
                           std::to_string(maps::LmdbTableWriter::kMaxKeySize - 1) +
                           " bytes -- ignoring this line");
        continue;
      }
      Result<maps::LmdbTableWriter::PutOutcome> r = w.put(key, parsed.entry->value, replace);
      if (!r.ok()) {
        failed = r.error();
      } else if (*r == maps::LmdbTableWriter::PutOutcome::Duplicate &&
                 opt.open.duplicates == DuplicatePolicy::Warn) {
        warnings.push_back(spec.text() + ": duplicate entry: \"" + key + "\"");
      }
    }
    if (failed.ok()) failed = w.commit();
    if (!failed.ok() && w.map_full()) continue;  // retry with a larger map
    warn_all(tool, warnings);
    if (!failed.ok()) return fatal(tool, failed.error().message);
    return 0;
  }
  return fatal(tool, db + ": table too large");
}

Result<maps::OpenedMap> open_or_report(const TableTool& tool, const std::string& text,
                                       const OpenOptions& options) {
  Result<MapSpec> spec = maps::parse_map_spec(text, kDefaultType);
  if (!spec.ok()) return spec.error();
  Result<maps::OpenedMap> opened = maps::open_map(*spec, options);
  if (opened.ok()) warn_all(tool, opened->warnings);
  return opened;
}

int query(const TableTool& tool, const Options& opt) {
  std::vector<maps::OpenedMap> tables;
  for (const std::string& m : opt.maps) {
    Result<maps::OpenedMap> opened = open_or_report(tool, m, opt.open);
    if (!opened.ok()) return fatal(tool, opened.error().message);
    tables.push_back(std::move(*opened));
  }
  // The first table that has the key answers; a table error is fatal, never "not found".
  auto lookup = [&](const std::string& key) -> std::optional<std::string> {
    for (size_t i = 0; i < tables.size(); ++i) {
      maps::LookupResult r = tables[i].map->lookup(key);
      if (r.is_found()) return r.value;
      if (r.is_temp_fail()) {
        std::exit(fatal(tool, "table " + opt.maps[i] + ": query error: " + r.value));
      }
    }
    return std::nullopt;
  };
  bool any = false;
  std::string out;
  auto query_key = [&](const std::string& key) {
    if (std::optional<std::string> v = lookup(key)) {
      out.append(key).push_back('\t');
      out.append(*v).push_back('\n');
      any = true;
    }
  };
  if (*opt.query == "-" && (opt.header_keys || opt.body_keys)) {
    // postmap -h/-b: stdin is a message; its logical headers (folding kept, see
    // checks/message_lines.h) and/or its body lines, empty ones included, are the keys.
    checks::MessageLineSplitter splitter;
    auto query_pieces = [&](const std::vector<checks::MessagePiece>& pieces) {
      for (const checks::MessagePiece& p : pieces) {
        bool header = p.kind == checks::MessagePiece::Kind::Header;
        if (header ? opt.header_keys : opt.body_keys) query_key(p.text);
      }
    };
    std::string line;
    while (std::getline(std::cin, line)) query_pieces(splitter.push_line(line));
    query_pieces(splitter.finish());
    std::fwrite(out.data(), 1, out.size(), stdout);
  } else if (*opt.query == "-") {
    for (const std::string& key : stdin_keys()) query_key(key);
    std::fwrite(out.data(), 1, out.size(), stdout);
  } else if (std::optional<std::string> v = lookup(*opt.query)) {
    std::printf("%s\n", v->c_str());
    any = true;
  }
  std::fflush(stdout);
  return any ? 0 : 1;
}

int sequence(const TableTool& tool, const Options& opt) {
  bool any = false;
  for (const std::string& m : opt.maps) {
    Result<maps::OpenedMap> opened = open_or_report(tool, m, opt.open);
    if (!opened.ok()) return fatal(tool, opened.error().message);
    Result<std::vector<Entry>> entries = opened->map->entries();
    if (!entries.ok()) return fatal(tool, "table " + m + ": " + entries.error().message);
    for (const Entry& e : *entries) {
      std::printf("%s\t%s\n", e.key.c_str(), e.value.c_str());
      any = true;
    }
  }
  std::fflush(stdout);
  return any ? 0 : 1;
}

int remove_keys(const TableTool& tool, const Options& opt) {
  std::vector<std::string> keys;
  if (*opt.delete_key == "-") {
    keys = stdin_keys();
  } else {
    keys.push_back(*opt.delete_key);
  }
  bool any = false;
  for (const std::string& m : opt.maps) {
    Result<MapSpec> spec = maps::parse_map_spec(m, kDefaultType);
    if (!spec.ok()) return fatal(tool, spec.error().message);
    if (!maps::is_indexed_type(spec->type)) {
      return fatal(tool, "table " + m + ": delete operation is not supported");
    }
    std::string db = maps::lmdb_path_for(spec->name);
    Result<std::vector<Entry>> entries = maps::read_lmdb_entries(db, false);
    if (!entries.ok()) return fatal(tool, entries.error().message);
    std::unordered_map<std::string, bool> doomed;
    for (const std::string& k : keys) {
      doomed[opt.open.fold_keys ? ascii::lower(k) : k] = true;
    }
    std::vector<Entry> kept;
    bool changed = false;
    for (Entry& e : *entries) {
      if (doomed.count(e.key) != 0) {
        changed = true;
      } else {
        kept.push_back(std::move(e));
      }
    }
    if (changed) {
      Status st = maps::write_lmdb_file(db, std::move(kept));
      if (!st.ok()) return fatal(tool, st.error().message);
      any = true;
    }
  }
  return any ? 0 : 1;
}

}  // namespace

int compile_table_file(const TableTool& tool, const std::string& spec, bool fold_keys,
                       maps::DuplicatePolicy duplicates) {
  Result<MapSpec> parsed = maps::parse_map_spec(spec, kDefaultType);
  if (!parsed.ok()) return fatal(tool, parsed.error().message);
  Options opt;
  opt.open.fold_keys = fold_keys;
  opt.open.duplicates = duplicates;
  return compile(tool, *parsed, opt);
}

int run_table_tool(const TableTool& tool, const std::vector<std::string>& args) {
  Options opt;
  size_t i = 0;
  // getopt-style: flags may be grouped ("-fq key"); option arguments may be attached.
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a.size() < 2 || a[0] != '-') break;
    for (size_t j = 1; j < a.size(); ++j) {
      char c = a[j];
      auto take_arg = [&]() -> std::optional<std::string> {
        if (j + 1 < a.size()) {
          std::string v = a.substr(j + 1);
          j = a.size();
          return v;
        }
        if (i + 1 < args.size()) return args[++i];
        return std::nullopt;
      };
      switch (c) {
        case 'f':
          opt.open.fold_keys = false;
          break;
        case 'i':
          opt.incremental = true;
          break;
        case 'r':
          opt.open.duplicates = DuplicatePolicy::Replace;
          break;
        case 'w':
          opt.open.duplicates = DuplicatePolicy::Ignore;
          break;
        case 's':
          if (opt.query || opt.delete_key) return fatal(tool, "specify only one of -s -q or -d");
          opt.sequence = true;
          break;
        case 'q':
        case 'd': {
          std::optional<std::string> v = take_arg();
          if (!v) {
            std::fprintf(stderr, "%s: option requires an argument -- '%c'\n", tool.program, c);
            return fatal(tool, tool.usage);
          }
          if (opt.sequence || opt.query || opt.delete_key) {
            return fatal(tool, "specify only one of -s -q or -d");
          }
          (c == 'q' ? opt.query : opt.delete_key) = *v;
          break;
        }
        case 'c': {
          // Accepted for compatibility; tables are named explicitly.
          if (!take_arg()) return fatal(tool, tool.usage);
          break;
        }
        case 'N':
        case 'n':
        case 'o':
        case 'p':
        case 'u':
        case 'U':
        case 'v':
        case 'F':
          break;  // NUL-termination, privilege and verbosity knobs: no effect here
        case 'b':
        case 'h':
          if (!tool.has_header_body_options) {
            std::fprintf(stderr, "%s: invalid option -- '%c'\n", tool.program, c);
            return fatal(tool, tool.usage);
          }
          (c == 'b' ? opt.body_keys : opt.header_keys) = true;
          break;
        case 'm':
          if (tool.has_header_body_options) {
            return fatal(tool, "option -m (MIME parsing of -b/-h queries) is not supported");
          }
          [[fallthrough]];
        default:
          std::fprintf(stderr, "%s: invalid option -- '%c'\n", tool.program, c);
          return fatal(tool, tool.usage);
      }
    }
  }
  for (; i < args.size(); ++i) opt.maps.push_back(args[i]);
  if (opt.maps.empty()) return fatal(tool, tool.usage);
  if (opt.query) return query(tool, opt);
  if (opt.sequence) return sequence(tool, opt);
  if (opt.delete_key) return remove_keys(tool, opt);
  for (const std::string& m : opt.maps) {
    Result<MapSpec> spec = maps::parse_map_spec(m, kDefaultType);
    if (!spec.ok()) return fatal(tool, spec.error().message);
    int rc = compile(tool, *spec, opt);
    if (rc != 0) return rc;
  }
  return 0;
}

}  // namespace estafeta::cli
