// The restriction-list engine: Postfix's smtpd_check for one SMTP stage, as a step machine
// with no I/O. The caller builds a RestrictionEvaluator for a stage with the session's facts,
// then calls next() until it returns a Verdict; every other Step is a Need the caller meets
// (a table lookup, a DNS query, a policy service request, a sleep) and answers with the
// matching answer_*() call before calling next() again. So the edge (smtpd) can do the work
// asynchronously, on its event loop or on a lookup pool.
//
// Semantics are Postfix's (postconf(5), access(5), SMTPD_ACCESS_README):
// - Each list is evaluated in order; the first restriction that permits (OK) or rejects ends
//   the list. A permit ends that list only: at RCPT the next list is still evaluated. DUNNO
//   and restrictions that do not match go on.
// - RCPT (and VRFY): with smtpd_delay_reject (default) the client, HELO and sender lists are
//   evaluated first, as at their own stage, then smtpd_relay_restrictions, then
//   smtpd_recipient_restrictions; an unqualified "postmaster" is always accepted. Without
//   smtpd_delay_reject the client, HELO and sender lists run at connect, HELO and MAIL; ETRN
//   runs the client and HELO lists first when delayed.
// - defer_if_permit (and a DNS check that could not finish, with *_tempfail_action =
//   defer_if_permit) turns a final permit of the stage into its 4xx deferral;
//   defer_if_reject turns a later 5xx rejection into its 4xx deferral; warn_if_reject turns
//   the next restriction's rejection into a "reject_warning" log entry.
// - A table that cannot answer (TempFail) refuses with "451 4.3.5 ... Server configuration
//   error" (access tables) or "451 4.3.0 <x>: Temporary lookup failure" (mynetworks, the
//   address resolver, reject_unlisted_*), never with "not found".
// - DNS list lookups that fail are logged and treated as "not listed" (Postfix: an RBL
//   server outage must not block mail); permit_dnswl_client then acts as defer_if_reject.
//
// The evaluation is replayed from the start after each answer (answers are remembered, a
// table key or DNS name is asked once): restriction lists are short, and replay keeps the
// engine an ordinary recursive evaluator with no saved stack. Not thread-safe; one per
// stage evaluation. The settings must outlive the evaluator.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "maps/map.h"
#include "policy/address_list.h"
#include "policy/restriction_settings.h"

namespace estafeta::policy {

enum class Stage { Connect, Helo, Mail, Rcpt, Data, EndOfData, Etrn, Vrfy };

/// How a client name lookup ended (Postfix's SMTPD_PEER_CODE_*): a name that was found
/// (and, for client_name, verified); no name (or a name that does not map back); or a
/// temporary DNS failure.
enum class NameStatus { Ok, Permanent, Temporary };

/// What the caller knows about an envelope address from the address resolver
/// (policy/address_facts.h computes these from route::RouteSettings).
struct AddressFacts {
  /// permit_auth_destination: a local, virtual or relay domain, without sender-specified
  /// routing (Yes); anything else (No); the resolver's tables could not answer (TempFail).
  Match authorized = Match::No;
  bool final_destination = false;  ///< a local, virtual alias or virtual mailbox domain
  bool routed = false;             ///< sender-specified routing (user%host@..., host!user@...)
  std::string resolved;            ///< the resolved address; "" means the address as given
  /// reject_unlisted_{sender,recipient}: the address tables of its class list it (or there
  /// is no table to check: Yes), they do not (No), or they could not answer (TempFail).
  Match listed = Match::Yes;
  int unlisted_code = 550;     ///< unknown_*_reject_code of its class
  std::string unlisted_table;  ///< "local recipient", "virtual mailbox", ...
};

struct TlsFacts {
  bool active = false;
  std::string protocol;  ///< "TLSv1.3"
  std::string cipher;
  int keysize = 0;
  std::string ccert_subject;  ///< verified client certificate only
  std::string ccert_issuer;
  std::string ccert_fingerprint;
  std::string ccert_pubkey_fingerprint;
};

struct PolicyFacts {
  std::string client_address;  ///< numeric, no brackets
  std::string client_port;
  std::string client_name = "unknown";  ///< verified (forward-confirmed) name, or "unknown"
  NameStatus client_name_status = NameStatus::Permanent;
  std::string reverse_client_name = "unknown";  ///< the PTR name, unverified, or "unknown"
  NameStatus reverse_client_name_status = NameStatus::Permanent;
  std::string server_address;
  std::string server_port;
  std::optional<std::string> helo;    ///< the HELO/EHLO argument; nullopt before HELO/EHLO
  bool ehlo = false;                  ///< the client said EHLO (protocol_state at Stage::Helo)
  std::string protocol = "SMTP";      ///< protocol_name: SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA
  std::optional<std::string> sender;  ///< MAIL FROM ("" for <>); nullopt before MAIL
  AddressFacts sender_facts;
  std::optional<std::string> recipient;  ///< RCPT TO or the VRFY argument; nullopt otherwise
  AddressFacts recipient_facts;
  std::optional<std::string> etrn_domain;
  std::string queue_id;
  std::string sasl_method;
  std::string sasl_username;  ///< non-empty once AUTH succeeded
  std::string sasl_sender;
  /// Estafeta addition (permit_drac_client, docs/drac.md): the client's address holds a
  /// DRAC grant that has not expired. The edge sets it when a list names permit_drac_client.
  bool drac_client = false;
  TlsFacts tls;
  uint64_t size = 0;               ///< SIZE= or the message size at end of data
  size_t recipient_count = 0;      ///< recipients accepted so far in the transaction
  bool unauth_pipelining = false;  ///< the session saw improper pipelining
  std::string instance;            ///< a per-message identifier for the policy protocol
  std::string stress;              ///< "yes" under overload, else ""
};

/// Look `key` up in the table `table` ("type:name"); answer with its maps::LookupResult.
struct LookupNeed {
  std::string table;
  std::string key;
  bool operator==(const LookupNeed&) const = default;
};

enum class DnsType { A, TXT, MX, NS, Address /* A and AAAA: any address */ };

/// Query the DNS for `name`; answer with a DnsAnswer.
struct DnsNeed {
  std::string name;
  DnsType type = DnsType::A;
  bool operator==(const DnsNeed&) const = default;
};

/// Send Postfix's policy delegation request (the attributes, in order, as name=value lines
/// ended by an empty line) to `service` ("inet:host:port" or "unix:/path"); answer with the
/// action attribute of the reply, or a failure.
struct PolicyNeed {
  std::string service;
  std::vector<std::pair<std::string, std::string>> attributes;
  bool operator==(const PolicyNeed&) const = default;
};

/// Pause for `seconds`, then answer_slept().
struct SleepNeed {
  int seconds = 0;
  bool operator==(const SleepNeed&) const = default;
};

using Need = std::variant<LookupNeed, DnsNeed, PolicyNeed, SleepNeed>;

struct DnsAnswer {
  enum class Status { Ok, NotFound /* NXDOMAIN */, NoData, TempFail };
  Status status = Status::NotFound;
  /// Ok: A and Address: the addresses ("127.0.0.2"); TXT: the strings; MX: the exchange
  /// host names ("." or "" for a null MX); NS: the name server host names.
  std::vector<std::string> values;
  /// MX: the preference of each value (same order); empty for the other types.
  std::vector<int> preferences = {};
  /// Not Ok: why, for logs ("Host not found", "Host not found, try again"); may be empty.
  std::string reason = {};
};

struct PolicyAnswer {
  bool ok = false;     ///< false: the service could not be reached or did not answer
  std::string action;  ///< the reply's action, an access(5) value ("DUNNO", "defer_if_permit ...")
};

/// A log record for the edge to write, with Postfix's keyword: "reject", "reject_warning",
/// "warn", "info", "hold", "discard", "filter", "redirect", "bcc", or "warning" (a
/// configuration problem, for the daemon's own log: "warning: ...").
struct LogEntry {
  std::string kind;
  std::string text;
  bool operator==(const LogEntry&) const = default;
};

/// What access table actions ask of the transaction (Postfix keeps them even when the
/// recipient that triggered them is refused later).
struct TransactionActions {
  bool discard = false;
  bool hold = false;
  std::vector<std::string> prepend;     ///< header lines, first first
  std::optional<std::string> redirect;  ///< the last REDIRECT wins
  std::optional<std::string> filter;    ///< the last FILTER wins
  std::vector<std::string> bcc;
  bool operator==(const TransactionActions&) const = default;
};

/// What must be carried from one stage to the next of a session when smtpd_delay_reject is
/// off: a defer_if_permit raised at connect, HELO or MAIL still defers a later permit.
struct StageMemory {
  bool defer_if_permit_client = false;
  bool defer_if_permit_helo = false;
  bool defer_if_permit_sender = false;
  int defer_code = 0;  ///< the pending deferral (the first one raised)
  std::string defer_dsn;
  std::string defer_text;
  bool operator==(const StageMemory&) const = default;
};

struct Verdict {
  bool accepted = true;
  std::string reply;        ///< when refused: "554 5.7.1 <a@b>: Relay access denied"
  bool disconnect = false;  ///< the refusal is a 421 or 521: close after replying
  TransactionActions actions;
  std::vector<LogEntry> log;
  StageMemory memory;  ///< pass to the next stage's evaluator
  /// reject_unlisted_recipient was evaluated (the implicit smtpd_reject_unlisted_recipient
  /// check that follows the lists must then be skipped), or DISCARD was triggered.
  bool recipient_listed_checked = false;
};

using Step = std::variant<Need, Verdict>;

class RestrictionEvaluator {
 public:
  RestrictionEvaluator(const RestrictionSettings& settings, Stage stage, PolicyFacts facts,
                       StageMemory memory = {});

  /// The next Need, or the Verdict (then every later call returns it again).
  Step next();

  /// Answers to the Need that next() returned last. Precondition: that Need was of the
  /// matching type.
  void answer_lookup(maps::LookupResult result);
  void answer_dns(DnsAnswer answer);
  void answer_policy(PolicyAnswer answer);
  void answer_slept();

 private:
  struct Run;
  friend struct Run;

  const RestrictionSettings& settings_;
  std::set<std::string, std::less<>> class_names_;
  Stage stage_;
  PolicyFacts facts_;
  StageMemory memory_;
  std::map<std::pair<std::string, std::string>, maps::LookupResult> lookups_;
  std::map<std::pair<std::string, int>, DnsAnswer> dns_;
  std::vector<PolicyAnswer> policy_answers_;
  int sleeps_answered_ = 0;
  std::optional<Need> pending_;
  std::optional<Verdict> verdict_;
};

/// Postfix's log line for an entry, without the queue ID prefix: "reject: RCPT from
/// name[addr]: 554 5.7.1 ...; from=<s> to=<r> proto=ESMTP helo=<h>". "warning" entries are
/// returned as their text.
std::string format_log_entry(const LogEntry& entry, Stage stage, const PolicyFacts& facts);

/// The SMTP command name Postfix logs and sends as protocol_state: CONNECT, HELO or EHLO,
/// MAIL, RCPT, DATA, END-OF-MESSAGE, ETRN, VRFY.
std::string_view protocol_state(Stage stage, const PolicyFacts& facts);

}  // namespace estafeta::policy
