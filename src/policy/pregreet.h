// The early-talker (pregreet) test that smtpd runs before its banner when smtpd_greet_pause
// is set (an Estafeta addition modelled on Postfix postscreen's pregreet test): a client that
// sends anything before the banner is refused with postscreen's "drop" reply and logged as
// postscreen logs it. Pure: texts only; the waiting is the edge's (daemon/smtpd_session.cc).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace estafeta::policy {

/// What a client that talked before the banner gets (then the connection is closed).
inline constexpr std::string_view kPregreetReply = "521 5.5.1 Protocol error\r\n";

/// "PREGREET 11 after 0.08 from [192.0.2.1]:5678: EHLO x\r\n": the byte count, the time since
/// the connection, the client, and the first 100 characters of the bytes with control and
/// non-ASCII bytes escaped (\r, \n, \t, \\, \ooo).
std::string pregreet_log_line(std::string_view bytes, std::chrono::milliseconds elapsed,
                              std::string_view address, unsigned port);

/// "HANGUP after 0.50 from [192.0.2.1]:5678 in smtpd_greet_pause": the client left first.
std::string pregreet_hangup_log_line(std::chrono::milliseconds elapsed, std::string_view address,
                                     unsigned port);

/// Postfix escape(): printable ASCII as is, \r \n \t \\ and other bytes as \ooo.
std::string escape_for_log(std::string_view bytes);

}  // namespace estafeta::policy
