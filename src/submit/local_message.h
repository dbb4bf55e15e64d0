// The cleanup of a locally submitted message (Postfix's pickup + cleanup for `sendmail`):
// recipients from the command line and, with -t, from To/Cc/Bcc (Resent-To/Cc/Bcc when the
// message has them), Bcc removed with -t, unqualified addresses completed with myorigin,
// DSN options checked, LF or CRLF input turned into CRLF lines, a leading mbox "From " line
// dropped, and the trace and missing headers added: Received (by, from userid), From (with
// the full name from -F or the password file), Date and Message-ID. Pure: the caller passes
// who submitted, the queue id and the time. Used by pickup (authoritative) and by sendmail
// (to refuse a bad request before it is dropped).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "message/envelope.h"
#include "submit/drop_file.h"

namespace estafeta::submit {

struct Submitter {
  std::string login;       // the submitting user's login name ("uid:1234" when it has none)
  std::string gecos_name;  // the user's full name from the password file, or ""
  uint32_t uid = 0;
  std::string myorigin;    // domain for unqualified addresses
  std::string myhostname;  // Received "by", Message-ID's domain
};

/// A message ready to be queued, except for what needs its queue id.
struct LocalMessage {
  std::string sender;  // envelope sender ("" for the null sender)
  std::vector<message::Recipient> recipients;
  std::string notify, ret, envid, body_type;  // SMTP spellings ("SUCCESS,FAILURE", "HDRS")
  std::string headers;  // the message's header fields as kept, CRLF
  std::string body;     // after the empty line, CRLF
  std::string from_name;
  bool has_from = false, has_date = false, has_message_id = false;
};

/// `sender` is the envelope sender already allowed by the submit policy ("" for <>; an
/// unqualified one is completed here). Errors: no recipients, a bad -N/-R/-V/-B value.
Result<LocalMessage> prepare_local_message(const DropRequest& request, std::string sender,
                                           const Submitter& who);

/// The content to queue: Received, the kept headers, the missing From/Date/Message-ID, the
/// empty line, the body.
std::string render_local_message(const LocalMessage& m, const Submitter& who,
                                 const std::string& queue_id, int64_t time_us);

/// `address` with "@myorigin" appended when it has no domain; "" and "<>" give "".
std::string qualify(std::string address, const std::string& myorigin);

}  // namespace estafeta::submit
