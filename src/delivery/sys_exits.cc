// The sysexits table and the command outcome rules. See sys_exits.h.
#include "delivery/sys_exits.h"

#include <fmt/format.h>

#include <cstring>

#include "base/ascii.h"

namespace estafeta::delivery {
namespace {

// <sysexits.h> codes 64..78 with the status Postfix gives each (sys_exits.c facts): only
// EX_OSERR and EX_TEMPFAIL are temporary.
constexpr SysExit kTable[] = {
    {64, "5.3.0", "command line usage error"},  {65, "5.6.0", "data format error"},
    {66, "5.3.0", "cannot open input"},         {67, "5.1.1", "user unknown"},
    {68, "5.1.2", "host name unknown"},         {69, "5.3.0", "service unavailable"},
    {70, "5.3.0", "internal software error"},   {71, "4.3.0", "system resource problem"},
    {72, "5.3.0", "critical OS file missing"},  {73, "5.2.0", "can't create user output file"},
    {74, "5.3.0", "input/output error"},        {75, "4.3.0", "temporary failure"},
    {76, "5.5.0", "remote error in protocol"},  {77, "5.7.0", "permission denied"},
    {78, "5.3.5", "local configuration error"},
};

// "4.x.y text" / "5.x.y text" at the start of the output (x and y 1-3 digits): the
// status and the text, else nullopt.
std::optional<std::pair<std::string, std::string>> leading_dsn(std::string_view out) {
  if (out.size() < 5 || (out[0] != '4' && out[0] != '5') || out[1] != '.') return std::nullopt;
  size_t i = 2;
  for (int part = 0; part < 2; ++part) {
    size_t digits = 0;
    while (i < out.size() && ascii::is_digit(out[i]) && digits < 4) {
      ++i;
      ++digits;
    }
    if (digits == 0 || digits > 3) return std::nullopt;
    if (part == 0) {
      if (i >= out.size() || out[i] != '.') return std::nullopt;
      ++i;
    }
  }
  std::string dsn(out.substr(0, i));
  if (i < out.size() && out[i] != ' ') return std::nullopt;
  std::string_view text = out.substr(i);
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  return std::make_pair(std::move(dsn), std::string(text.empty() ? out.substr(0, i) : text));
}

TaskResult of_class(std::string dsn, std::string text) {
  return dsn[0] == '4' ? deferred(std::move(dsn), std::move(text))
                       : bounced(std::move(dsn), std::move(text));
}

}  // namespace

std::optional<SysExit> sys_exit(int code) {
  for (const SysExit& e : kTable) {
    if (e.code == code) return e;
  }
  return std::nullopt;
}

std::string command_output_text(std::string_view raw, size_t limit) {
  std::string out;
  for (char c : raw.substr(0, limit)) {
    const auto u = static_cast<unsigned char>(c);
    out += u < 0x20 || u == 0x7f ? ' ' : c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

TaskResult command_result(const CommandEnd& end, std::string_view command,
                          std::string_view output) {
  const std::string suffix =
      output.empty() ? std::string() : fmt::format(". Command output: {}", output);
  if (end.timed_out) {
    return bounced("5.3.0", fmt::format("Command time limit exceeded: \"{}\"{}", command, suffix));
  }
  if (end.signaled) {
    return deferred(
        "4.3.0", fmt::format("Command died with signal {}: \"{}\"{}", end.signal, command, suffix));
  }
  if (end.exit_code != 0) {
    if (auto dsn = leading_dsn(output)) return of_class(dsn->first, dsn->second);
    if (auto e = sys_exit(end.exit_code)) {
      return of_class(std::string(e->dsn), fmt::format("{}{}", e->text, suffix));
    }
    return bounced("5.3.0", fmt::format("Command died with status {}: \"{}\"{}", end.exit_code,
                                        command, suffix));
  }
  if (end.write_errno != 0) {
    return bounced(
        "5.3.0", fmt::format("Command failed: {}: \"{}\"", std::strerror(end.write_errno), command),
        end.write_errno);
  }
  return TaskResult{
      TaskStatus::Delivered, "2.0.0", fmt::format("delivered to command: {}", command), {}, 0, {}};
}

}  // namespace estafeta::delivery
