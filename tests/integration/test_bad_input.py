# Bad input in DATA against the real daemon: bare LF, bare CR and every SMTP-smuggling
# variant of end-of-data, each followed by a smuggled second transaction. Whatever the
# setting of smtpd_forbid_bare_newline, at most the one message is delivered and the
# smuggled one never is: by default (normalize) a bare LF ends a line but a "." line next to
# it never ends the data; with `reject` a message holding a bare LF is refused with 550. The
# harness client (127.0.0.1) is in the default mynetworks, which is the default
# smtpd_forbid_bare_newline_exclusions: the tests that need the check set mynetworks.
# test_bare_newline.py has the command-line and exclusion cases.
import time
import unittest

from harness import EstafetaServer, HOSTNAME

SMUGGLING_ENDINGS = [b'\n.\n', b'\r.\r\n', b'\n.\r\n', b'\r\n.\n', b'\r\n.\r', b'\n.\r']

SMUGGLED = (b'MAIL FROM:<mallory@example.org>\r\n'
            b'RCPT TO:<victim@localhost>\r\n'
            b'DATA\r\n'
            b'From: ceo@example.org\r\nSubject: smuggled\r\n\r\nsmuggled body\r\n')

NOT_EXCLUDED = {'mynetworks': '192.0.2.0/24'}


def has_bare_lf(data):
    return any(c == 0x0a and (i == 0 or data[i - 1] != 0x0d) for i, c in enumerate(data))


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

    def test_bare_lf_normalized_by_default(self):
        with EstafetaServer(main=NOT_EXCLUDED) as srv, srv.connect() as c:
            self.start_data(c, 'lf')
            c.send(b'Subject: lf\r\n\r\nline one\nline two\r\n.\r\n')
            self.assertRegex(c.read_reply().last, r'^250 2\.0\.0 Ok: queued as \S+$')
            self.assertEqual(c.cmd('QUIT').code, 221)
            msgs = srv.wait_for_delivery('lf', 1)
            self.assertTrue(msgs[0].endswith(b'Subject: lf\n\nline one\nline two\n'), msgs)

    def test_bare_lf_rejected_with_reject(self):
        main = dict(NOT_EXCLUDED, smtpd_forbid_bare_newline='reject')
        with EstafetaServer(main=main) as srv, srv.connect() as c:
            self.start_data(c, 'lf')
            c.send(b'Subject: lf\r\n\r\nline one\nline two\r\n.\r\n')
            r = c.read_reply()
            self.assertEqual(r.lines, ['550 5.5.2 %s Error: bare <LF> received' % HOSTNAME])
            self.assertEqual(c.cmd('QUIT').code, 221)
            time.sleep(0.5)
            self.assertEqual(srv.messages('lf'), [])

    def test_bare_cr_becomes_a_space(self):
        # Postfix never refuses a bare CR; its cleanup (cleanup_replace_stray_cr_lf) makes
        # it a space, and so does our normalization.
        for setting in ('normalize', 'reject'):
            main = dict(NOT_EXCLUDED, smtpd_forbid_bare_newline=setting)
            with self.subTest(setting=setting), EstafetaServer(main=main) as srv, \
                    srv.connect() as c:
                self.start_data(c, 'cr')
                c.send(b'Subject: cr\r\n\r\nline one\rline two\r\r\n.\r\nQUIT\r\n')
                replies = read_all_replies(c)
                self.assertRegex(replies[0].last, r'^250 2\.0\.0 Ok: queued as', replies)
                msgs = srv.wait_for_delivery('cr', 1)
                self.assertTrue(msgs[0].endswith(b'\n\nline one line two\n'), msgs)


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

    def test_default_never_splits(self):
        # normalize: the carrier ends at the smuggled CRLF "." CRLF, with the smuggled
        # transaction as its content.
        for ending in SMUGGLING_ENDINGS:
            with self.subTest(ending=ending), EstafetaServer(main=NOT_EXCLUDED) as srv:
                replies = self.smuggle(srv, ending)
                self.assertRegex(replies[0].last, r'^250 2\.0\.0 Ok: queued as', replies)
                self.assertEqual(replies[-1].code, 221, replies)
                self.check_delivered(srv, ending, replies)
                msgs = srv.wait_for_delivery('target', 1)
                self.assertEqual(len(msgs), 1)
                self.assertIn(b'smuggled body', msgs[0])

    def test_reject_refuses_every_bare_lf_variant(self):
        main = dict(NOT_EXCLUDED, smtpd_forbid_bare_newline='reject')
        for ending in SMUGGLING_ENDINGS:
            with self.subTest(ending=ending), EstafetaServer(main=main) as srv:
                replies = self.smuggle(srv, ending)
                bare = has_bare_lf(b'x' + ending)
                self.assertTrue(replies, 'no reply at all for %r' % ending)
                self.assertEqual(replies[0].code, 550 if bare else 250, (ending, replies))
                self.assertEqual(replies[-1].code, 221, replies)
                self.check_delivered(srv, ending, replies)
                if bare:
                    self.assertEqual(srv.messages('target'), [])

    def test_never_split_even_when_bare_newlines_allowed(self):
        # `no`, set or (127.0.0.1 being in the default mynetworks) by exclusion.
        for main in ({'smtpd_forbid_bare_newline': 'no'},
                     {'smtpd_forbid_bare_newline': 'reject'}):
            for ending in SMUGGLING_ENDINGS:
                with self.subTest(main=main, ending=ending), EstafetaServer(main=main) as srv:
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
