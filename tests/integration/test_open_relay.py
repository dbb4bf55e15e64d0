# No open relay, ever (issue 19, item 6): the classic open-relay battery, in the sixteen forms
# of nmap's smtp-open-relay script (written here from its list of address forms: a foreign
# recipient plain, with the percent hack, quoted, with a second @, source-routed, as a UUCP
# bang path, each against the server's name and its IP literal) plus case variants, from a
# client outside mynetworks (source address 127.0.0.2; mynetworks = 127.0.0.1/32). Every
# attempt is also made after RSET, pipelined in one write, over STARTTLS, and after a failed
# AUTH (a real Dovecot started by the test: AUTH PLAIN with a wrong password, 535, before each
# form). The server's relayhost is a recording SMTP sink; a message relayed from inside
# mynetworks reaches it, and so does one from outside after a successful AUTH (the controls:
# the test can fail), and nothing else from outside does.
import base64
import shutil
import tempfile
import unittest

import harness
import tools
from dovecot import DovecotAuth
from harness import EstafetaServer
from scripted_smtp import ScriptedSmtp

OUTSIDE = '127.0.0.2'
FOREIGN = 'nmap.scanme.example'
USERS = {'alice': 'secret'}
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


def b64(text):
    return base64.b64encode(text.encode()).decode()


class OpenRelayTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        tools.require('dovecot')
        cls.sink = ScriptedSmtp()
        cls.dovecot = DovecotAuth(USERS)
        try:
            cls.dovecot.__enter__()
        except BaseException:
            cls.sink.stop()
            raise
        main = {
            'mynetworks': '127.0.0.1/32',
            'relayhost': '[127.0.0.1]:%d' % cls.sink.port,
            'resolver_nameservers': '127.0.0.1:9',
            'smtpd_tls_cert_file': CERT,
            'smtpd_tls_key_file': KEY,
            'smtpd_tls_security_level': 'may',
            'smtpd_hard_error_limit': '1000',
            'smtpd_soft_error_limit': '1000',
            # AUTH through Dovecot, offered in clear too: the failed-AUTH case and its control.
            'smtpd_sasl_auth_enable': 'yes',
            'smtpd_sasl_type': 'dovecot',
            'smtpd_sasl_path': cls.dovecot.socket_path,
            'smtpd_tls_auth_only': 'no',
        }
        cls.srv = EstafetaServer(main=main, start=False)
        cls.srv.master_extra = ['smtp unix - - n - - smtp', 'relay unix - - n - - smtp']
        try:
            cls.srv.__enter__()
            cls.srv.start()
        except BaseException:
            cls.srv.__exit__(None, None, None)
            cls.dovecot.__exit__(None, None, None)
            cls.sink.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)
        cls.dovecot.__exit__(None, None, None)
        cls.sink.stop()

    def setUp(self):
        # What the sink received before this test (each test ends only once its control has
        # arrived, and whatever was queued before a control is handed on before it).
        self.sink_before = len(self.sink.accepted)

    def relayed(self):
        return [rcpts for _, rcpts, _ in self.sink.accepted[self.sink_before:]]

    def sink_holds(self, recipient):
        """The sink received a message for exactly this one recipient."""
        return [recipient] in [rcpts for _, rcpts, _ in self.sink.accepted]

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
                if how == 'after-failed-auth':
                    self.assertEqual(conv.cmd('EHLO outside.example').code, 250)
                    r = conv.cmd('AUTH PLAIN ' + b64('\0alice\0wrong'))
                    self.assertEqual(r.code, 535, r)
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
        self.assertTrue(harness.wait_until(lambda: self.sink_holds('control@%s' % FOREIGN)),
                        self.srv.log())

    def authenticated_control(self):
        """After a successful AUTH, a relay from outside is accepted and reaches the sink."""
        conv = OutsideConversation(self.srv.port)
        try:
            self.assertEqual(conv.cmd('EHLO outside.example').code, 250)
            self.assertEqual(conv.cmd('AUTH PLAIN ' + b64('\0alice\0secret')).code, 235)
            self.assertEqual(conv.cmd('MAIL FROM:<alice@outside.example>').code, 250)
            self.assertEqual(conv.cmd('RCPT TO:<signed-in@%s>' % FOREIGN).code, 250)
            self.assertEqual(conv.cmd('DATA').code, 354)
            conv.send('Subject: authenticated control\r\n\r\ncontrol\r\n.\r\n')
            self.assertEqual(conv.read_reply().code, 250)
            conv.cmd('QUIT')
        finally:
            conv.close()
        self.assertTrue(harness.wait_until(lambda: self.sink_holds('signed-in@%s' % FOREIGN)),
                        self.srv.log())

    def test_nothing_after_a_failed_auth_reaches_the_sink(self):
        self.run_battery('after-failed-auth')
        self.assertRegex(self.srv.log(), r'warning: unknown\[127\.0\.0\.2\]: SASL PLAIN '
                         r'authentication failed: .*sasl_username=alice')
        self.authenticated_control()
        self.assertEqual(self.relayed(), [['signed-in@%s' % FOREIGN]], self.srv.log())
        self.assertNotRegex(self.srv.log(), r'to=<[^>]*relaytest[^>]*>.*status=sent')
        self.assertRegex(self.srv.log(), r'client=unknown\[127\.0\.0\.2\], '
                         r'sasl_method=PLAIN, sasl_username=alice')

    def test_nothing_from_outside_reaches_the_sink(self):
        for how in ('plain', 'after-rset', 'pipelined', 'starttls'):
            with self.subTest(how=how):
                self.run_battery(how)
        # Whatever was queued before the control is handed on before it (one queue, one
        # transport); the sink must then hold the control message alone.
        self.relay_control()
        self.assertEqual(self.relayed(), [['control@%s' % FOREIGN]], self.srv.log())
        self.assertNotRegex(self.srv.log(), r'to=<[^>]*relaytest[^>]*>.*status=sent')


if __name__ == '__main__':
    unittest.main()
