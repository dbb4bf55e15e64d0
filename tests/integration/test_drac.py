"""DRAC (POP-before-SMTP, an Estafeta addition; docs/drac.md): a client outside mynetworks
(source address 127.0.0.2) is refused relay until `estafeta drac add 127.0.0.2` records a
grant; then permit_drac_client lets it relay (to a recording sink relayhost) until
drac_timeout has passed, and it is refused again. Two listeners of one server differ only in
drac_timeout (1h and 2s, master.cf -o), so the grant is shown to permit without racing the
short timeout, and to expire by time (the long listener still permits) rather than by
removal. The shared variant: two servers behind one Redis (drac_redis_server, a real
redis-server started here): a grant added on one permits on the other; with Redis gone the
other falls back to its own (empty) grants with one warning, and the first still permits
from its local grant."""
import os
import re
import subprocess
import time
import unittest

import harness
import maps_support as ms
from harness import EstafetaServer
from scripted_smtp import ScriptedSmtp

OUTSIDE = '127.0.0.2'
FOREIGN = 'drac.example'
RELAY = 'permit_mynetworks, permit_drac_client, defer_unauth_destination'


def drac(srv, *args):
    return subprocess.run([harness.estafeta_bin(), '-c', srv.dir, 'drac'] + list(args),
                          capture_output=True, text=True, timeout=30)


def rcpt_reply(port, recipient):
    """MAIL and RCPT from OUTSIDE on `port`; returns the RCPT reply (DATA sent on 250)."""
    conv = harness.SocketConversation('127.0.0.1', port, source=OUTSIDE)
    try:
        assert conv.cmd('EHLO outside.example').code == 250
        assert conv.cmd('MAIL FROM:<pop-user@outside.example>').code == 250
        rcpt = conv.cmd('RCPT TO:<%s>' % recipient)
        if rcpt.code == 250 and conv.cmd('DATA').code == 354:
            conv.send('Subject: drac\r\n\r\nrelayed after a POP login\r\n.\r\n')
            conv.read_reply()
        conv.cmd('QUIT')
        return rcpt
    finally:
        conv.close()


def relayed(sink):
    return [r for _, rcpts, _ in sink.accepted for r in rcpts]


class DracTest(unittest.TestCase):
    def setUp(self):
        self.sink = ScriptedSmtp()
        main = {
            'mynetworks': '127.0.0.1/32',
            'relayhost': '[127.0.0.1]:%d' % self.sink.port,
            'resolver_nameservers': '127.0.0.1:9',
            'smtpd_relay_restrictions': RELAY,
            'drac_timeout': '1h',
        }
        self.srv = EstafetaServer(
            main=main, start=False,
            listeners=[{}, {'options': {'drac_timeout': '2s'}}])
        self.srv.master_extra = ['smtp unix - - n - - smtp', 'relay unix - - n - - smtp']
        self.srv.__enter__()
        self.srv.start()
        self.long_port, self.short_port = self.srv.ports

    def tearDown(self):
        self.srv.__exit__(None, None, None)
        self.sink.stop()

    def test_grant_permits_relay_until_it_expires(self):
        for port in (self.long_port, self.short_port):
            self.assertEqual(rcpt_reply(port, 'before@' + FOREIGN).code, 454, self.srv.log())
        self.assertEqual(drac(self.srv, 'add', 'example.com').returncode, 2)
        added = drac(self.srv, 'add', OUTSIDE)
        self.assertEqual(added.returncode, 0, added.stderr)
        self.assertTrue(os.path.exists(os.path.join(self.srv.spool, 'drac', OUTSIDE)))
        listed = drac(self.srv, 'list')
        self.assertRegex(listed.stdout, r'^127\.0\.0\.2 \S+ active$')

        self.assertEqual(rcpt_reply(self.long_port, 'granted@' + FOREIGN).code, 250,
                         self.srv.log())
        self.assertTrue(harness.wait_until(lambda: 'granted@' + FOREIGN in relayed(self.sink)),
                        self.srv.log())

        # The short listener's 2s pass: refused again there (polled, no timing asserted) ...
        replies = []

        def refused():
            replies.append(rcpt_reply(self.short_port, 'late@' + FOREIGN).code)
            if replies[-1] != 454:
                time.sleep(0.2)
            return replies[-1] == 454
        self.assertTrue(harness.wait_until(refused), (replies, self.srv.log()))
        # ... while the grant itself is still there: the long listener still permits.
        self.assertEqual(rcpt_reply(self.long_port, 'still@' + FOREIGN).code, 250)
        self.assertTrue(harness.wait_until(lambda: 'still@' + FOREIGN in relayed(self.sink)))
        self.assertNotIn('before@' + FOREIGN, relayed(self.sink))


class SharedDracTest(unittest.TestCase):
    """Two instances behind one MX share the grants through Redis."""

    def setUp(self):
        self.tmp = ms.TempDir()
        self.redis = ms.RedisServer(self.tmp)

    def tearDown(self):
        self.redis.stop()
        self.tmp.cleanup()

    def test_grant_on_one_permits_on_the_other(self):
        main = {
            'mynetworks': '127.0.0.1/32',
            'relayhost': '[127.0.0.1]:9',  # never reached: nothing is accepted for relay
            'resolver_nameservers': '127.0.0.1:9',
            'smtpd_relay_restrictions': RELAY,
            'drac_redis_server': '127.0.0.1:%d' % self.redis.port,
            'drac_redis_key_prefix': 'itest:drac:',
        }
        # RCPT answers only: DATA is not sent to a relayhost that is not there.
        def rcpt(srv):
            conv = harness.SocketConversation('127.0.0.1', srv.port, source=OUTSIDE)
            try:
                conv.cmd('EHLO outside.example')
                conv.cmd('MAIL FROM:<pop-user@outside.example>')
                code = conv.cmd('RCPT TO:<shared@%s>' % FOREIGN).code
                conv.cmd('QUIT')
                return code
            finally:
                conv.close()

        with EstafetaServer(main=main) as one, EstafetaServer(main=main) as two:
            self.assertEqual(rcpt(two), 454)
            added = drac(one, 'add', OUTSIDE)
            self.assertEqual(added.returncode, 0, added.stderr)
            self.assertEqual(rcpt(two), 250, two.log())  # two has no local grant
            self.assertFalse(os.path.exists(os.path.join(two.spool, 'drac', OUTSIDE)))
            ttl = self.redis.command('TTL', 'itest:drac:' + OUTSIDE)
            self.assertRegex(ttl, rb'^:\d+\r\n$')
            self.assertTrue(0 < int(ttl[1:]) <= 1800, ttl)  # drac_timeout's default, 30m

            self.redis.stop()
            # Redis gone: two refuses (its own grants are empty), with one warning; one
            # still permits from its local grant; neither refuses because of Redis.
            self.assertEqual(rcpt(two), 454, two.log())
            self.assertEqual(rcpt(two), 454, two.log())
            self.assertEqual(rcpt(one), 250, one.log())
            warnings = re.findall(r'warning: DRAC grants in redis:127\.0\.0\.1:%d unavailable'
                                  % self.redis.port, two.log())
            self.assertEqual(len(warnings), 1, two.log())


if __name__ == '__main__':
    unittest.main()
