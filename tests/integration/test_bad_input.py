# Bad input in DATA against the real daemon: bare LF, bare CR and every SMTP-smuggling
# variant of end-of-data, each followed by a smuggled second transaction. Whatever the
# setting, at most the one message is delivered and the smuggled one never is; with the
# default smtpd_forbid_bare_newline the server replies 521 and closes.
import time
import unittest

from harness import EstafetaServer, HOSTNAME

SMUGGLING_ENDINGS = [b'\n.\n', b'\r.\r\n', b'\n.\r\n', b'\r\n.\n', b'\r\n.\r', b'\n.\r']

SMUGGLED = (b'MAIL FROM:<mallory@example.org>\r\n'
            b'RCPT TO:<victim@localhost>\r\n'
            b'DATA\r\n'
            b'From: ceo@example.org\r\nSubject: smuggled\r\n\r\nsmuggled body\r\n')


def read_all_replies(c):
    """Reads replies until EOF (or the 30 s socket timeout); returns them."""
    out = []
    while True:
        try:
            out.append(c.read_reply())
        except (EOFError, ConnectionResetError):
            return out
        except OSError:
            return out


class BareNewlineTest(unittest.TestCase):

    def start_data(self, c, rcpt):
        c.cmd('EHLO client.example')
        self.assertEqual(c.cmd('MAIL FROM:<alice@example.org>').code, 250)
        self.assertEqual(c.cmd('RCPT TO:<%s@localhost>' % rcpt).code, 250)
        self.assertEqual(c.cmd('DATA').code, 354)

    def test_bare_lf_rejected_521_and_close(self):
        with EstafetaServer() as srv, srv.connect() as c:
            self.start_data(c, 'lf')
            c.send(b'Subject: lf\r\n\r\nline one\nline two\r\n.\r\n')
            r = c.read_reply()
            self.assertEqual(r.lines, ['521 5.5.2 %s Error: bare <LF> received' % HOSTNAME])
            self.assertTrue(c.at_eof(), 'connection not closed after 521')
            time.sleep(0.5)
            self.assertEqual(srv.messages('lf'), [])

    def test_bare_cr_rejected(self):
        with EstafetaServer() as srv, srv.connect() as c:
            self.start_data(c, 'cr')
            c.send(b'Subject: cr\r\n\r\nline one\rline two\r\n.\r\nQUIT\r\n')
            replies = read_all_replies(c)
            self.assertTrue(replies, 'no reply to a message with a bare CR')
            self.assertEqual(replies[0].code // 100, 5, replies)
            time.sleep(0.5)
            self.assertEqual(srv.messages('cr'), [])


class SmugglingTest(unittest.TestCase):

    def smuggle(self, srv, ending):
        with srv.connect() as c:
            c.cmd('EHLO client.example')
            self.assertEqual(c.cmd('MAIL FROM:<alice@example.org>').code, 250)
            self.assertEqual(c.cmd('RCPT TO:<target@localhost>').code, 250)
            self.assertEqual(c.cmd('DATA').code, 354)
            c.send(b'Subject: carrier\r\n\r\ncarrier body' + ending + SMUGGLED +
                   b'.\r\nQUIT\r\n')
            return read_all_replies(c)

    def check_delivered(self, srv, ending, replies):
        # Give a wrongly split message every chance to be delivered before concluding.
        srv.wait_for_delivery('victim', 1, timeout=1)
        self.assertEqual(srv.messages('victim'), [],
                         'smuggled message delivered for %r; replies %r' % (ending, replies))
        self.assertLessEqual(len(srv.messages('target')), 1, ending)

    def test_default_rejects_every_variant_with_521(self):
        for ending in SMUGGLING_ENDINGS:
            with self.subTest(ending=ending), EstafetaServer() as srv:
                replies = self.smuggle(srv, ending)
                self.assertTrue(replies, 'no reply at all for %r' % ending)
                self.assertEqual(replies[0].code, 521, (ending, replies))
                self.assertEqual(len(replies), 1, 'answered after 521: %r' % replies)
                self.check_delivered(srv, ending, replies)
                self.assertEqual(srv.messages('target'), [])

    def test_never_split_even_when_bare_newlines_allowed(self):
        for ending in SMUGGLING_ENDINGS:
            with self.subTest(ending=ending), \
                    EstafetaServer(main={'smtpd_forbid_bare_newline': 'no'}) as srv:
                replies = self.smuggle(srv, ending)
                queued = [r for r in replies if r.last.startswith('250 2.0.0 Ok: queued')]
                self.assertLessEqual(len(queued), 1, (ending, replies))
                self.check_delivered(srv, ending, replies)

    def test_smuggling_in_bdat_is_just_data(self):
        # Inside BDAT there is no end-of-data marker: the bytes are content.
        with EstafetaServer() as srv, srv.connect() as c:
            c.cmd('EHLO client.example')
            c.cmd('MAIL FROM:<alice@example.org>')
            c.cmd('RCPT TO:<target@localhost>')
            chunk = b'Subject: bdat\r\n\r\nbody\r\n.\r\n' + SMUGGLED + b'.\r\n'
            c.send(b'BDAT %d LAST\r\n' % len(chunk) + chunk)
            r = c.read_reply()
            self.assertEqual(r.code, 250, r)
            self.assertEqual(len(srv.wait_for_delivery('target', 1)), 1)
            self.check_delivered(srv, b'bdat', [r])


if __name__ == '__main__':
    unittest.main()
