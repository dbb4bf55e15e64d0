# smtpd_forbid_bare_newline against the real daemon over a raw socket (Postfix 3.9's values,
# docs/smtp.md): a client that ends its lines with a bare LF gets normal replies by default
# and its message is queued as CRLF text; with `reject` it is refused; clients in
# smtpd_forbid_bare_newline_exclusions get `no`. The harness client is 127.0.0.1, which is
# in the default mynetworks and so in the default exclusions: every test sets mynetworks or
# the exclusions to put it on the side it exercises.
import re
import unittest

from harness import EstafetaServer, HOSTNAME

NOT_EXCLUDED = {'mynetworks': '192.0.2.0/24'}
REJECT = dict(NOT_EXCLUDED, smtpd_forbid_bare_newline='reject')
BARE_LF_REFUSAL = '550 5.5.2 %s Error: bare <LF> received' % HOSTNAME

# A message whose lines end in bare LF, with every kind of "." line: stuffed, alone after
# a bare LF (a non-standard end of data, discarded), alone after a real CRLF (the end).
LF_BODY = (b'Subject: bare lf\nMessage-ID: <lf@example.org>\n\nline one\nline two\r\n'
           b'..dotted\n.\nafter a dot line\n.\r\nstill the body\r\nstray\rcr\r\n.\r\n')
LF_BODY_DELIVERED = (b'Subject: bare lf\nMessage-ID: <lf@example.org>\n\nline one\nline two\n'
                     b'.dotted\nafter a dot line\nstill the body\nstray cr\n')


def lf_session(c, rcpt):
    """EHLO/MAIL/RCPT/DATA, each ending in a bare LF; returns the reply to the content."""
    c.send(b'EHLO x\n')
    r = c.read_reply()
    assert r.code == 250, r
    for line, code in ((b'MAIL FROM:<a@example.org>', 250),
                       (b'RCPT TO:<%s@localhost>' % rcpt.encode(), 250), (b'DATA', 354)):
        c.send(line + b'\n')
        r = c.read_reply()
        assert r.code == code, (line, r)
    c.send(LF_BODY)
    return c.read_reply()


class BareNewlineTest(unittest.TestCase):

    def assert_queued_as_crlf(self, srv, reply, message):
        """The queue file held CRLF text: its size (logged by the delivery agent) is the
        delivered Maildir message (LF lines) with every LF counted as CRLF."""
        queue_id = re.search(r'queued as (\S+)', reply.last).group(1)
        m = srv.wait_for_log(r'%s: from=<[^>]*>, size=(\d+),' % re.escape(queue_id))
        self.assertIsNotNone(m, 'no size logged for %s' % queue_id)
        # Drop the Return-Path:, X-Original-To: and Delivered-To: lines the Maildir delivery
        # prepends.
        content = message.split(b'\n', 3)[3]
        self.assertNotIn(b'\r', content)
        self.assertEqual(int(m.group(1)), len(content.replace(b'\n', b'\r\n')))

    def test_default_normalizes_bare_lf(self):
        with EstafetaServer(main=NOT_EXCLUDED) as srv, srv.connect() as c:
            r = lf_session(c, 'lf')
            self.assertRegex(r.last, r'^250 2\.0\.0 Ok: queued as \S+$')
            c.send(b'QUIT\n')
            self.assertEqual(c.read_reply().code, 221)
            msgs = srv.wait_for_delivery('lf', 1)
            self.assertEqual(len(msgs), 1)
            self.assertTrue(msgs[0].endswith(LF_BODY_DELIVERED), msgs[0])
            self.assert_queued_as_crlf(srv, r, msgs[0])

    def test_bdat_with_bare_lf_is_stored_as_crlf(self):
        with EstafetaServer(main=NOT_EXCLUDED) as srv, srv.connect() as c:
            self.assertEqual(c.cmd('EHLO client.example').code, 250)
            self.assertEqual(c.cmd('MAIL FROM:<a@example.org>').code, 250)
            self.assertEqual(c.cmd('RCPT TO:<bdat@localhost>').code, 250)
            chunk = b'Subject: bdat\n\nline one\nline two\r\n.\n'
            c.send(b'BDAT %d LAST\r\n' % len(chunk) + chunk)
            r = c.read_reply()
            self.assertRegex(r.last, r'^250 2\.0\.0 Ok: queued as \S+$')
            msgs = srv.wait_for_delivery('bdat', 1)
            self.assertTrue(msgs[0].endswith(b'Subject: bdat\n\nline one\nline two\n.\n'),
                            msgs[0])
            self.assert_queued_as_crlf(srv, r, msgs[0])

    def test_reject_refuses_command_and_closes(self):
        with EstafetaServer(main=REJECT) as srv, srv.connect() as c:
            c.send(b'EHLO x\n')
            self.assertEqual(c.read_reply().lines, [BARE_LF_REFUSAL])
            self.assertTrue(c.at_eof(), 'connection not closed after the refusal')
            self.assertIsNotNone(srv.wait_for_log(
                r'NOQUEUE: reject: CONNECT from \S+\[127\.0\.0\.1\]: bare <LF> received; '
                r'proto=SMTP$'))

    def test_reject_refuses_message_at_its_end(self):
        with EstafetaServer(main=REJECT) as srv, srv.connect() as c:
            self.assertEqual(c.cmd('EHLO client.example').code, 250)
            self.assertEqual(c.cmd('MAIL FROM:<a@example.org>').code, 250)
            self.assertEqual(c.cmd('RCPT TO:<refused@localhost>').code, 250)
            self.assertEqual(c.cmd('DATA').code, 354)
            c.send(LF_BODY)
            self.assertEqual(c.read_reply().lines, [BARE_LF_REFUSAL])
            # The session goes on with a 550 (Postfix's default code).
            self.assertEqual(c.cmd('NOOP').code, 250)
            self.assertEqual(c.cmd('QUIT').code, 221)
            self.assertIsNotNone(srv.wait_for_log(
                r'NOQUEUE: reject: END-OF-MESSAGE from \S+\[127\.0\.0\.1\]: bare <LF> '
                r'received; from=<a@example.org> to=<refused@localhost> proto=ESMTP '
                r'helo=<client.example>'))
            self.assertEqual(srv.wait_for_delivery('refused', 1, timeout=1), [])

    def test_reject_code_521_closes_after_message(self):
        with EstafetaServer(main=dict(REJECT, smtpd_forbid_bare_newline_reject_code='521')) \
                as srv, srv.connect() as c:
            self.assertEqual(c.cmd('EHLO client.example').code, 250)
            self.assertEqual(c.cmd('MAIL FROM:<a@example.org>').code, 250)
            self.assertEqual(c.cmd('RCPT TO:<closed@localhost>').code, 250)
            self.assertEqual(c.cmd('DATA').code, 354)
            c.send(LF_BODY)
            self.assertEqual(c.read_reply().lines,
                             ['521 5.5.2 %s Error: bare <LF> received' % HOSTNAME])
            self.assertTrue(c.at_eof(), 'connection not closed after 521')
            self.assertEqual(srv.wait_for_delivery('closed', 1, timeout=1), [])

    def test_excluded_clients_get_no(self):
        configs = [
            {'smtpd_forbid_bare_newline': 'reject'},  # 127.0.0.1 is in the default mynetworks
            dict(REJECT, smtpd_forbid_bare_newline_exclusions='127.0.0.1/32'),
            dict(REJECT, smtpd_forbid_bare_newline_exclusions='inline:{127.0.0.1=OK}'),
        ]
        for main in configs:
            with self.subTest(main=main), EstafetaServer(main=main) as srv, \
                    srv.connect() as c:
                # `no`: the bare LF ends the command line; in content it is a byte.
                c.send(b'EHLO x\n')
                self.assertEqual(c.read_reply().code, 250)
                self.assertEqual(c.cmd('MAIL FROM:<a@example.org>').code, 250)
                self.assertEqual(c.cmd('RCPT TO:<excluded@localhost>').code, 250)
                self.assertEqual(c.cmd('DATA').code, 354)
                c.send(b'Subject: excluded\r\n\r\none\n.\ntwo\r\n.\r\n')
                self.assertRegex(c.read_reply().last, r'^250 2\.0\.0 Ok: queued as \S+$')
                self.assertEqual(c.cmd('QUIT').code, 221)
                msgs = srv.wait_for_delivery('excluded', 1)
                self.assertTrue(msgs[0].endswith(b'\n\none\n.\ntwo\n'), msgs[0])

    def test_note_logs_notes_bare_lf(self):
        main = dict(NOT_EXCLUDED, smtpd_forbid_bare_newline='note')
        with EstafetaServer(main=main) as srv:
            with srv.connect() as c:
                self.assertRegex(lf_session(c, 'noted').last, r'^250 2\.0\.0 Ok: queued as')
                c.send(b'QUIT\n')
                self.assertEqual(c.read_reply().code, 221)
            self.assertIsNotNone(srv.wait_for_log(
                r'disconnect from \S+\[127\.0\.0\.1\] ehlo=1 mail=1 rcpt=1 data=1 quit=1 '
                r'commands=5 notes=bare_lf$'))
            self.assertEqual(len(srv.wait_for_delivery('noted', 1)), 1)


if __name__ == '__main__':
    unittest.main()
