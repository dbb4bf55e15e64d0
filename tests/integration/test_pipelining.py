# PIPELINING (RFC 2920) against the real daemon: a whole transaction in one write with the
# replies in order, a rejected recipient inside a pipelined group, the same conversation
# split into one-byte writes, and swaks --pipeline as an independent client.
import subprocess
import unittest

import tools

from harness import EstafetaServer


class PipeliningTest(unittest.TestCase):

    def test_whole_transaction_in_one_write(self):
        with EstafetaServer() as srv, srv.connect() as c:
            c.send(b'EHLO client.example\r\n'
                   b'MAIL FROM:<alice@example.org>\r\n'
                   b'RCPT TO:<p1@localhost>\r\n'
                   b'RCPT TO:<p2@localhost>\r\n'
                   b'DATA\r\n')
            ehlo, mail, r1, r2, data = c.read_replies(5)
            self.assertEqual(ehlo.code, 250)
            self.assertGreater(len(ehlo.lines), 1, 'EHLO reply should be multiline')
            self.assertEqual([mail.code, r1.code, r2.code, data.code], [250, 250, 250, 354])
            c.send(b'Subject: piped\r\n\r\npipelined body\r\n.\r\n'
                   b'MAIL FROM:<alice@example.org>\r\n'
                   b'RCPT TO:<p1@localhost>\r\n'
                   b'DATA\r\n')
            queued, mail, rcpt, data = c.read_replies(4)
            self.assertRegex(queued.last, r'^250 2\.0\.0 Ok: queued as \S+$')
            self.assertEqual([mail.code, rcpt.code, data.code], [250, 250, 354])
            c.send(b'Subject: second\r\n\r\nsecond body\r\n.\r\nQUIT\r\n')
            queued2, bye = c.read_replies(2)
            self.assertEqual(queued2.code, 250)
            self.assertEqual(bye.code, 221)
            self.assertNotEqual(queued.last, queued2.last, 'same queue id twice')
            self.assertTrue(c.at_eof())
            self.assertEqual(len(srv.wait_for_delivery('p1', 2)), 2)
            self.assertEqual(len(srv.wait_for_delivery('p2', 1)), 1)

    def test_rejected_recipients_in_pipeline(self):
        with EstafetaServer(main={'mynetworks': '192.0.2.0/24'}) as srv, srv.connect() as c:
            c.send(b'EHLO client.example\r\n'
                   b'MAIL FROM:<alice@example.org>\r\n'
                   b'RCPT TO:<x@remote.example>\r\n'
                   b'RCPT TO:<p3@localhost>\r\n'
                   b'DATA\r\n'
                   b'Subject: half\r\n\r\nbody\r\n.\r\n'
                   b'MAIL FROM:<alice@example.org>\r\n'
                   b'RCPT TO:<y@remote.example>\r\n'
                   b'DATA\r\n'
                   b'Subject: none\r\n\r\nnone\r\n.\r\n'
                   b'QUIT\r\n')
            ehlo, mail, bad, good, data, queued, mail2, bad2, data2 = c.read_replies(9)
            self.assertEqual([mail.code, bad.code, good.code, data.code, queued.code],
                             [250, 454, 250, 354, 250])
            self.assertEqual([mail2.code, bad2.code], [250, 454])
            # No valid recipient: DATA is refused, and the message text that follows is
            # then read as (unknown) commands; the server must stay in sync and answer QUIT.
            self.assertEqual(data2.code // 100, 5, data2)
            while True:
                r = c.read_reply()
                if r.code in (221, 421):
                    break
            self.assertEqual(len(srv.wait_for_delivery('p3', 1)), 1)

    def test_one_byte_writes(self):
        with EstafetaServer() as srv, srv.connect() as c:
            convo = (b'EHLO client.example\r\nMAIL FROM:<alice@example.org>\r\n'
                     b'RCPT TO:<frag@localhost>\r\nDATA\r\n')
            for i in range(len(convo)):
                c.send(convo[i:i + 1])
            replies = c.read_replies(4)
            self.assertEqual([r.code for r in replies], [250, 250, 250, 354])
            body = b'Subject: frag\r\n\r\n..dot-stuffed line\r\nfragmented\r\n.\r\n'
            for i in range(len(body)):
                c.send(body[i:i + 1])
            self.assertEqual(c.read_reply().code, 250)
            msgs = srv.wait_for_delivery('frag', 1)
            self.assertEqual(len(msgs), 1)
            self.assertIn(b'\n.dot-stuffed line', msgs[0])
            self.assertNotIn(b'..dot-stuffed', msgs[0])

    def test_swaks_pipeline(self):
        with EstafetaServer() as srv:
            p = subprocess.run(
                [tools.require('swaks'), '--server', '127.0.0.1', '--port', str(srv.port),
                 '--from', 'alice@example.org', '--to', 'swaks@localhost',
                 '--helo', 'client.example', '--pipeline', '--timeout', '30',
                 '--header', 'Subject: swaks pipelined', '--body', 'swaks-body-42'],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
            out = p.stdout.decode('utf-8', 'replace')
            self.assertEqual(p.returncode, 0, out)
            self.assertIn('queued as', out)
            msgs = srv.wait_for_delivery('swaks', 1)
            self.assertEqual(len(msgs), 1)
            self.assertIn(b'swaks-body-42', msgs[0])


if __name__ == '__main__':
    unittest.main()
