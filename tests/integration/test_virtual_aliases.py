# The cleanup stage's envelope rewriting through the daemon (smtpd and pickup): virtual(5)
# aliases with Sendmail virtusertable semantics (full address, `user` for local domains, the
# `@domain` catch-all, one-to-many, recursion, a loop), the original recipient kept as ORCPT,
# always_bcc (seed 000's archive copy of every message), canonical_maps for the envelope
# sender, and a table that cannot answer deferring the message with 451. The harness's
# localhost is a virtual mailbox domain, so the bare `team` key serves only $myorigin
# (local submission's unqualified `team`), as in Postfix.
import os
import smtplib
import subprocess
import unittest

import harness
from harness import EstafetaServer

VIRTUAL = '''\
sales@localhost      alice@localhost, bob@localhost
team@localhost       sales@localhost, carol@localhost
team                 sales@localhost, carol@localhost
@catchall.test       dave@localhost
loop1@localhost      loop2@localhost
loop2@localhost      loop1@localhost
'''


def send(srv, rcpts, sender='someone@example.org'):
    body, _ = harness.simple_message(to=', '.join(rcpts), sender=sender)
    with smtplib.SMTP(srv.host, srv.port, timeout=harness.TIMEOUT) as s:
        s.ehlo('client.example')
        return s.sendmail(sender, rcpts, body)


class VirtualAliasTest(unittest.TestCase):
    def server(self, **main):
        srv = EstafetaServer(start=False)
        srv.__enter__()
        self.addCleanup(srv.__exit__, None, None, None)
        path = os.path.join(srv.dir, 'virtual')
        with open(path, 'w') as f:
            f.write(VIRTUAL)
        srv.main.update({'virtual_alias_maps': 'texthash:' + path,
                         'virtual_alias_domains': 'catchall.test'})
        srv.main.update(main)
        srv.write_config()
        srv.start()
        return srv

    def test_one_to_many_recursion_and_catch_all(self):
        srv = self.server()
        send(srv, ['team@localhost', 'anyone@catchall.test'])
        for user in ('alice', 'bob', 'carol', 'dave'):
            msgs = srv.wait_for_delivery(user, 1)
            self.assertEqual(len(msgs), 1, user)
        # Each final recipient appears once, with the address the client gave as ORCPT.
        self.assertTrue(srv.wait_for_log(r'to=<alice@localhost>, .*status=sent'))
        out = subprocess.run([harness.estafeta_bin(), '-c', srv.dir, 'queue', 'list'],
                             capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)

    def test_alias_loop_defers_the_message_at_the_end_of_data(self):
        srv = self.server()
        with self.assertRaises(smtplib.SMTPDataError) as e:
            send(srv, ['loop1@localhost'])
        self.assertEqual(e.exception.smtp_code, 451)
        self.assertIn(b'4.6.0 Alias expansion error', e.exception.smtp_error)
        self.assertFalse(os.path.exists(srv.maildir('loop1')))

    def test_always_bcc_archives_every_message(self):
        srv = self.server(always_bcc='archive@localhost')
        send(srv, ['alice@localhost'])
        srv.wait_for_delivery('alice', 1)
        archived = srv.wait_for_delivery('archive', 1)
        self.assertIn(b'Delivered-To: archive@localhost', archived[0])

    def test_canonical_maps_rewrite_the_envelope_sender(self):
        srv = self.server(canonical_maps='inline:{ {someone@example.org=Someone@corp.test} }')
        send(srv, ['alice@localhost'])
        msg = srv.wait_for_delivery('alice', 1)[0]
        self.assertIn(b'Return-Path: <Someone@corp.test>', msg)
        # 127.0.0.1 is one of our addresses (local_header_rewrite_clients =
        # permit_inet_interfaces): the From: header is rewritten too, nothing else in it.
        self.assertIn(b'\nFrom: Someone@corp.test\n', msg)

    def test_headers_of_other_clients_are_left_alone(self):
        srv = self.server(canonical_maps='inline:{ {someone@example.org=Someone@corp.test} }',
                          local_header_rewrite_clients='')
        send(srv, ['alice@localhost'])
        msg = srv.wait_for_delivery('alice', 1)[0]
        self.assertIn(b'Return-Path: <Someone@corp.test>', msg)
        self.assertIn(b'\nFrom: someone@example.org\n', msg)

    def test_an_unavailable_alias_table_defers_at_rcpt(self):
        srv = self.server(virtual_alias_maps='pgsql:/nonexistent/pgsql.cf')
        with self.assertRaises(smtplib.SMTPRecipientsRefused) as e:
            send(srv, ['alice@localhost'])
        code, text = e.exception.recipients['alice@localhost']
        self.assertEqual((code, text), (451, b'4.3.0 <alice@localhost>: Temporary lookup failure'))

    def test_local_submission_is_rewritten_by_pickup_too(self):
        srv = self.server()
        body, _ = harness.simple_message(to='team', sender='root')
        p = subprocess.run([harness.estafeta_bin(), '-c', srv.dir, 'sendmail', 'team'],
                           input=body.encode(), capture_output=True, timeout=harness.TIMEOUT)
        self.assertEqual(p.returncode, 0, p.stderr)
        for user in ('alice', 'bob', 'carol'):
            self.assertEqual(len(srv.wait_for_delivery(user, 1)), 1, user)

if __name__ == '__main__':
    unittest.main()
