// The smtp agent's timeouts per stage; see smtp_timeouts.h.
#include "outbound/smtp_timeouts.h"

namespace estafeta::outbound {

std::chrono::seconds timeout_for(const SmtpTimeouts& t, smtp::ClientStage stage) {
  switch (stage) {
    case smtp::ClientStage::Greeting:
    case smtp::ClientStage::Ehlo:
    case smtp::ClientStage::Helo:
    case smtp::ClientStage::Auth:
      return t.helo;
    case smtp::ClientStage::StartTls:
      return t.starttls;
    case smtp::ClientStage::Rset:
    case smtp::ClientStage::Mail:
      return t.mail;
    case smtp::ClientStage::Rcpt:
      return t.rcpt;
    case smtp::ClientStage::Data:
      return t.data_init;
    case smtp::ClientStage::Body:
      return t.data_xfer;
    case smtp::ClientStage::EndOfData:
      return t.data_done;
    case smtp::ClientStage::Idle:
    case smtp::ClientStage::Quit:
    case smtp::ClientStage::Closed:
      return t.quit;
  }
  return t.quit;
}

}  // namespace estafeta::outbound
