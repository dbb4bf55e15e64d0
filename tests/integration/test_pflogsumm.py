# Debian's pflogsumm reads Estafeta's log (issue 18 item 6; docs/smtp-agent.md "Log
# analysers"): a known number of messages go in over SMTP and out through the smtp agent to a
# scripted peer (relayhost) that accepts relay.test, refuses bounce.test with 550 and
# defer.test with 450. The bounce notices go back to the sender's domain through the same
# peer. pflogsumm on the log must count them as Postfix's would: received, delivered (the
# relayed mail and the notices), deferred, bounced, and the "Host/Domain Summary: Message
# Delivery" line of relay.test; with --syslog-name=estafeta for our default program names,
# with no option when main.cf says syslog_name = postfix. Skipped only without pflogsumm.
import re
import subprocess
import unittest

import harness
import test_smtp_client
import tools
from scripted_smtp import ScriptedSmtp

SENDER = 'alice@sender.test'
RELAYED = ['one@relay.test', 'two@relay.test', 'three@relay.test']
BOUNCED = ['gone@bounce.test', 'lost@bounce.test']
DEFERRED = ['later@defer.test']


def peer_reply(address, _):
    if address.endswith('@bounce.test'):
        return '550 5.1.1 <%s>: Recipient address rejected: User unknown' % address
    if address.endswith('@defer.test'):
        return '450 4.2.0 <%s>: Recipient address rejected: Try again later' % address
    return '250 2.1.5 Ok'


class PflogsummTest(unittest.TestCase):
    def setUp(self):
        try:
            self.pflogsumm = tools.require('pflogsumm')
        except tools.MissingTool as missing:
            raise unittest.SkipTest(str(missing))

    def summary(self, srv, *options):
        done = subprocess.run([self.pflogsumm] + list(options) + [srv.log_path],
                              capture_output=True, text=True, timeout=harness.TIMEOUT)
        self.assertEqual(done.returncode, 0, done.stderr)
        return done.stdout

    def total(self, summary, word):
        m = re.search(r'^\s+(\d+)\s+%s\b' % word, summary, re.M)
        self.assertIsNotNone(m, '%s not in\n%s' % (word, summary))
        return int(m.group(1))

    def domain_line(self, summary, domain):
        """(sent count, defers) of `domain` in "Host/Domain Summary: Message Delivery"."""
        section = summary.split('Host/Domain Summary: Message Delivery')[1]
        section = section.split('Host/Domain Summary: Messages Received')[0]
        m = re.search(r'^\s+(\d+)\s+\d+[kmg]?\s+(\d+)\s+.*\s%s$' % re.escape(domain),
                      section, re.M)
        self.assertIsNotNone(m, '%s not in\n%s' % (domain, section))
        return int(m.group(1)), int(m.group(2))

    def relay_known_traffic(self, **main):
        """Sends RELAYED, BOUNCED and DEFERRED through the smtp agent and waits until each
        has its status and the bounce notices went back; returns the server."""
        peer = ScriptedSmtp(rcpt=peer_reply)
        self.addCleanup(peer.stop)
        srv = test_smtp_client.SmtpClientTest.server(
            self, relayhost='[127.0.0.1]:%d' % peer.port, **main)
        for rcpt in RELAYED + BOUNCED + DEFERRED:
            test_smtp_client.send(srv, [rcpt], sender=SENDER, subject='to ' + rcpt)
        wait = test_smtp_client.SmtpClientTest.wait_status
        for rcpt in RELAYED:
            wait(self, srv, rcpt, 'sent')
        for rcpt in BOUNCED:
            wait(self, srv, rcpt, 'bounced')
        for rcpt in DEFERRED:
            wait(self, srv, rcpt, 'deferred')
        # One notice per bounced message, relayed back to the sender.
        self.assertTrue(harness.wait_until(
            lambda: len(re.findall(r'to=<%s>, .*status=sent ' % re.escape(SENDER),
                                   srv.log())) == len(BOUNCED)), srv.log())
        return srv

    def check_summary(self, summary):
        self.assertEqual(self.total(summary, 'received'), 6, summary)
        self.assertEqual(self.total(summary, 'delivered'), len(RELAYED) + len(BOUNCED), summary)
        self.assertEqual(self.total(summary, 'deferred'), len(DEFERRED), summary)
        self.assertEqual(self.total(summary, 'bounced'), len(BOUNCED), summary)
        self.assertEqual(self.total(summary, 'rejected'), 0, summary)
        self.assertEqual(self.domain_line(summary, 'relay.test'), (len(RELAYED), 0), summary)
        self.assertEqual(self.domain_line(summary, 'sender.test')[0], len(BOUNCED), summary)
        sent, defers = self.domain_line(summary, 'defer.test')
        self.assertEqual(sent, 0, summary)
        self.assertGreaterEqual(defers, 1, summary)
        # The senders' side: six messages from SENDER, with their sizes.
        self.assertRegex(summary, r'Senders by message count\n-+\n\s+6\s+%s'
                         % re.escape(SENDER))
        self.assertRegex(summary, r'bounce detail \(by relay\)\n-+\n\s+127\.0\.0\.1'
                                  r'\[127\.0\.0\.1\]:\d+ \(total: 2\)')

    def test_totals_and_the_relay_domain_with_the_syslog_name_option(self):
        srv = self.relay_known_traffic()
        self.check_summary(self.summary(srv, '--syslog-name=estafeta'))

    def test_syslog_name_postfix_needs_no_option(self):
        srv = self.relay_known_traffic(syslog_name='postfix')
        self.assertRegex(srv.log(), r'postfix/smtp\[\d+\]: \w+: to=<one@relay\.test>')
        self.check_summary(self.summary(srv))


if __name__ == '__main__':
    unittest.main()
