# No open relay, ever (issue 19, item 6): the classic open-relay battery, in the sixteen forms
# of nmap's smtp-open-relay script (written here from its list of address forms: a foreign
# recipient plain, with the percent hack, quoted, with a second @, source-routed, as a UUCP
# bang path, each against the server's name and its IP literal) plus case variants, from a
# client outside mynetworks (source address 127.0.0.2; mynetworks = 127.0.0.1/32). Every
# attempt is also made after RSET, pipelined in one write, and over STARTTLS. The server's
# relayhost is a recording SMTP sink; a message relayed from inside mynetworks reaches it
# (the control: the test can fail), and nothing from outside does.
import os
import shutil
import ssl
import tempfile
import unittest

import harness
from harness import EstafetaServer
from scripted_smtp import ScriptedSmtp

OUTSIDE = '127.0.0.2'
FOREIGN = 'nmap.scanme.example'
CERT_DIR = None
CERT = KEY = None


def setUpModule():
    global CERT_DIR, CERT, KEY
    CERT_DIR = tempfile.mkdtemp(prefix='estafeta-itest-relay-')
    CERT, KEY = harness.make_certificate(CERT_DIR)


def tearDownModule():
    shutil.rmtree(CERT_DIR, ignore_errors=True)


def battery(server_name, server_ip):
    """(sender, recipient) pairs: nmap's sixteen forms and case variants."""
    literal = '[%s]' % server_ip
    forms = [
        ('<>', '<relaytest@%s>' % FOREIGN),
        ('<antispam@%s>' % literal, '<relaytest@%s>' % FOREIGN),
        ('<antispam@%s>' % server_name, '<relaytest@%s>' % FOREIGN),
        ('<antispam@%s>' % literal, '<relaytest%%%s@%s>' % (FOREIGN, literal)),
        ('<antispam@%s>' % literal, '<relaytest%%%s@%s>' % (FOREIGN, server_name)),
        ('<antispam@%s>' % literal, '<"relaytest@%s">' % FOREIGN),
        ('<antispam@%s>' % literal, '<"relaytest%%%s">' % FOREIGN),
        ('<antispam@%s>' % literal, '<relaytest@%s@%s>' % (FOREIGN, literal)),
        ('<antispam@%s>' % literal, '<"relaytest@%s"@%s>' % (FOREIGN, literal)),
        ('<antispam@%s>' % literal, '<relaytest@%s@%s>' % (FOREIGN, server_name)),
        ('<antispam@%s>' % literal, '<@%s:relaytest@%s>' % (literal, FOREIGN)),
        ('<antispam@%s>' % literal, '<@%s:relaytest@%s>' % (server_name, FOREIGN)),
        ('<antispam@%s>' % literal, '<%s!relaytest>' % FOREIGN),
        ('<antispam@%s>' % literal, '<%s!relaytest@%s>' % (FOREIGN, literal)),
        ('<antispam@%s>' % literal, '<%s!relaytest@%s>' % (FOREIGN, server_name)),
        ('<antispam@%s>' % server_name, '<"relaytest%%%s"@%s>' % (FOREIGN, server_name)),
    ]
    variants = [
        ('<>', '<RelayTest@%s>' % FOREIGN.upper()),
        ('<antispam@%s>' % server_name.upper(), '<relaytest%%%s@%s>' % (FOREIGN.upper(),
                                                                       server_name.upper())),
        ('<antispam@%s>' % literal, '<%s!RELAYTEST@%s>' % (FOREIGN.upper(), server_name.upper())),
        ('<postmaster@%s>' % server_name, '<relaytest@%s.>' % FOREIGN),
    ]
    return forms + variants


def OutsideConversation(port, source=OUTSIDE):
    """An SMTP conversation from OUTSIDE (not in mynetworks)."""
    return harness.SocketConversation('127.0.0.1', port, source=source)


class OpenRelayTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sink = ScriptedSmtp()
        main = {
            'mynetworks': '127.0.0.1/32',
            'relayhost': '[127.0.0.1]:%d' % cls.sink.port,
            'resolver_nameservers': '127.0.0.1:9',
            'smtpd_tls_cert_file': CERT,
            'smtpd_tls_key_file': KEY,
            'smtpd_tls_security_level': 'may',
            'smtpd_hard_error_limit': '1000',
            'smtpd_soft_error_limit': '1000',
        }
        cls.srv = EstafetaServer(main=main, start=False)
        cls.srv.master_extra = ['smtp unix - - n - - smtp', 'relay unix - - n - - smtp']
        cls.srv.__enter__()
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)
        cls.sink.stop()

    def attempt(self, conv, sender, recipient, pipelined=False):
        """One transaction; returns the RCPT reply. DATA is sent whatever the answer."""
        message = ('From: %s\r\nTo: %s\r\nSubject: relay test\r\n\r\nrelay test\r\n.\r\n'
                   % (sender, recipient))
        if pipelined:
            conv.send('MAIL FROM:%s\r\nRCPT TO:%s\r\nDATA\r\n' % (sender, recipient))
            mail, rcpt, data = conv.read_replies(3)
            self.assertTrue(mail.code == 250, mail)
            if data.code == 354:
                conv.send(message)
                conv.read_reply()
        else:
            self.assertEqual(conv.cmd('MAIL FROM:%s' % sender).code, 250)
            rcpt = conv.cmd('RCPT TO:%s' % recipient)
            if conv.cmd('DATA').code == 354:
                conv.send(message)
                conv.read_reply()
        conv.cmd('RSET')
        return rcpt

    def run_battery(self, how):
        refused = []
        conv = OutsideConversation(self.srv.port)
        try:
            if how == 'starttls':
                self.assertEqual(conv.cmd('EHLO outside.example').code, 250)
                self.assertEqual(conv.cmd('STARTTLS').code, 220)
                conv.starttls(harness.client_tls_context())
            self.assertEqual(conv.cmd('EHLO outside.example').code, 250)
            for sender, recipient in battery(harness.HOSTNAME, '127.0.0.1'):
                if how == 'after-rset':
                    # A legitimate transaction first, abandoned.
                    self.assertEqual(conv.cmd('MAIL FROM:<a@outside.example>').code, 250)
                    conv.cmd('RCPT TO:<someone@localhost>')
                    self.assertEqual(conv.cmd('RSET').code, 250)
                rcpt = self.attempt(conv, sender, recipient, pipelined=how == 'pipelined')
                refused.append((recipient, rcpt.code))
            conv.cmd('QUIT')
        finally:
            conv.close()
        for recipient, code in refused:
            self.assertIn(code // 100, (4, 5), 'RCPT TO:%s accepted from outside (%s)'
                          % (recipient, self.srv.log()))

    def relay_control(self):
        """A message from inside mynetworks reaches the sink: the sink records relayed mail."""
        with self.srv.connect() as conv:
            self.assertEqual(conv.cmd('EHLO inside.example').code, 250)
            self.assertEqual(conv.cmd('MAIL FROM:<inside@localhost>').code, 250)
            self.assertEqual(conv.cmd('RCPT TO:<control@%s>' % FOREIGN).code, 250)
            self.assertEqual(conv.cmd('DATA').code, 354)
            conv.send('Subject: control\r\n\r\ncontrol\r\n.\r\n')
            self.assertEqual(conv.read_reply().code, 250)
            conv.cmd('QUIT')
        self.assertTrue(harness.wait_until(
            lambda: any('control@%s' % FOREIGN in r for _, rcpts, _ in self.sink.accepted
                        for r in rcpts)), self.srv.log())

    def test_nothing_from_outside_reaches_the_sink(self):
        for how in ('plain', 'after-rset', 'pipelined', 'starttls'):
            with self.subTest(how=how):
                self.run_battery(how)
        # Whatever was queued before the control is handed on before it (one queue, one
        # transport); the sink must then hold the control message alone.
        self.relay_control()
        relayed = [rcpts for _, rcpts, _ in self.sink.accepted]
        self.assertEqual(relayed, [['control@%s' % FOREIGN]], self.srv.log())
        self.assertNotRegex(self.srv.log(), r'to=<[^>]*relaytest[^>]*>.*status=sent')


if __name__ == '__main__':
    unittest.main()
