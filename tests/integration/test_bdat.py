# CHUNKING (RFC 3030) against the real daemon over a raw socket: several chunks then LAST,
# a trailing BDAT 0 LAST, pipelined chunks, DATA after BDAT (503), BDAT without a
# transaction, and chunk bytes taken literally (no dot-unstuffing).
import unittest

from harness import EstafetaServer


class BdatTest(unittest.TestCase):

    def begin(self, c, rcpt):
        self.assertEqual(c.cmd('EHLO client.example').code, 250)
        self.assertEqual(c.cmd('MAIL FROM:<alice@example.org>').code, 250)
        self.assertEqual(c.cmd('RCPT TO:<%s@localhost>' % rcpt).code, 250)

    def test_chunks_then_last(self):
        with EstafetaServer() as srv, srv.connect() as c:
            self.begin(c, 'chunks')
            parts = [b'Subject: chunked\r\n\r\n', b'first half, ', b'second half\r\n']
            for p in parts[:-1]:
                c.send(b'BDAT %d\r\n' % len(p) + p)
                r = c.read_reply()
                self.assertEqual(r.code, 250, r)
            c.send(b'BDAT %d LAST\r\n' % len(parts[-1]) + parts[-1])
            r = c.read_reply()
            self.assertRegex(r.last, r'^250 2\.0\.0 Ok: queued as \S+$')
            self.assertEqual(c.cmd('QUIT').code, 221)
            msgs = srv.wait_for_delivery('chunks', 1)
            self.assertEqual(len(msgs), 1)
            self.assertIn(b'first half, second half', msgs[0])
            self.assertIn(b'Subject: chunked', msgs[0])

    def test_bdat_zero_last(self):
        with EstafetaServer() as srv, srv.connect() as c:
            self.begin(c, 'zero')
            body = b'Subject: zero\r\n\r\nbody then zero-length LAST\r\n'
            c.send(b'BDAT %d\r\n' % len(body) + body)
            r = c.read_reply()
            self.assertEqual(r.code, 250, r)
            c.send(b'BDAT 0 LAST\r\n')
            r = c.read_reply()
            self.assertRegex(r.last, r'^250 2\.0\.0 Ok: queued as \S+$')
            msgs = srv.wait_for_delivery('zero', 1)
            self.assertEqual(len(msgs), 1)
            self.assertIn(b'body then zero-length LAST', msgs[0])

    def test_pipelined_chunks_are_literal(self):
        with EstafetaServer() as srv, srv.connect() as c:
            self.begin(c, 'literal')
            a = b'Subject: literal\r\n\r\n..two dots stay two\r\n'
            b = b'.\r\nnot an end\r\n'
            c.send(b'BDAT %d\r\n' % len(a) + a + b'BDAT %d LAST\r\n' % len(b) + b +
                   b'QUIT\r\n')
            r1, r2, bye = c.read_replies(3)
            self.assertEqual(r1.code, 250, r1)
            self.assertRegex(r2.last, r'^250 2\.0\.0 Ok: queued as \S+$')
            self.assertEqual(bye.code, 221)
            msgs = srv.wait_for_delivery('literal', 1)
            self.assertEqual(len(msgs), 1)
            self.assertIn(b'..two dots stay two\n.\nnot an end',
                          msgs[0].replace(b'\r\n', b'\n'))

    def test_data_after_bdat_is_503(self):
        with EstafetaServer() as srv, srv.connect() as c:
            self.begin(c, 'mixed')
            chunk = b'Subject: mixed\r\n\r\n'
            c.send(b'BDAT %d\r\n' % len(chunk) + chunk)
            self.assertEqual(c.read_reply().code, 250)
            r = c.cmd('DATA')
            self.assertEqual(r.code, 503, r)
            self.assertEqual(c.cmd('RSET').code, 250)
            self.assertEqual(c.cmd('QUIT').code, 221)
            self.assertEqual(srv.messages('mixed'), [])

    def test_bdat_without_transaction_is_503(self):
        with EstafetaServer() as srv, srv.connect() as c:
            c.cmd('EHLO client.example')
            # The 5 chunk bytes must be consumed even though the command is refused.
            c.send(b'BDAT 5 LAST\r\nhello')
            r = c.read_reply()
            self.assertEqual(r.code, 503, r)
            self.assertEqual(c.cmd('NOOP').code, 250)

    def test_bdat_size_limit(self):
        with EstafetaServer(main={'message_size_limit': 1000}) as srv, srv.connect() as c:
            self.begin(c, 'bigbdat')
            chunk = b'x' * 3000
            c.send(b'BDAT %d LAST\r\n' % len(chunk) + chunk)
            r = c.read_reply()
            self.assertEqual(r.code, 552, r)
            self.assertRegex(r.last, r'^552 5\.3\.4 ')
            self.assertEqual(srv.messages('bigbdat'), [])


if __name__ == '__main__':
    unittest.main()
