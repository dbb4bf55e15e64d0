# The smtp agent's connection cache (Postfix's smtp_connection_cache_*; docs/smtp-agent.md)
# against a scripted server on loopback that counts its connections: with mail waiting for
# the same next hop (the queue manager's "more mail" hint, smtp_connection_cache_on_demand)
# several messages share a connection and the log says conn_use=N; with on-demand caching
# off and no smtp_connection_cache_destinations, one connection per message; a server that
# closes every connection after its transaction still gets every message exactly once (the
# stale cached connection is replaced); an idle cached connection gets QUIT after
# smtp_connection_cache_time_limit, and at the agent's shutdown; a next hop listed in
# smtp_connection_cache_destinations by name, in a type:table or in a /file/name list keeps
# its connection without waiting mail. Two next hops on one server share its connection (the
# cache by server address), and a stale one found that way is replaced too.
import os
import re
import shutil
import tempfile
import time
import unittest

import harness
import test_smtp_client  # its server set-up (a module import: its tests do not run here)


def send(srv, recipient, subject):
    test_smtp_client.send(srv, [recipient], subject=subject)


def slow_first(n):
    # The first transaction takes a while, so that the next messages queue up behind it
    # (one delivery at a time to the destination) and the queue manager says more mail waits.
    if n == 1:
        time.sleep(2)
    return '250 2.0.0 Ok: queued'


class SmtpConnectionCacheTest(unittest.TestCase):
    scripted = test_smtp_client.SmtpClientTest.scripted
    dns = test_smtp_client.SmtpClientTest.dns

    def server(self, peer, dns=None, **main):
        settings = {'relayhost': '[127.0.0.1]:%d' % peer.port,
                    'default_destination_concurrency_limit': '1'}
        settings.update(main)
        return test_smtp_client.SmtpClientTest.server(self, dns, **settings)

    def send_each(self, srv, recipients):
        """One message to each, the next once the last is logged sent. Returns the lines."""
        lines = []
        for rcpt in recipients:
            send(srv, rcpt, 'to ' + rcpt)
            m = srv.wait_for_log(r'to=<%s>, .*status=sent .*$' % re.escape(rcpt))
            self.assertIsNotNone(m, srv.log())
            lines.append(m.group(0))
        return lines

    def deliver(self, srv, peer, count):
        """Sends `count` messages at once; waits until each is logged sent. Returns the lines."""
        for i in range(count):
            send(srv, 'bob%d@remote.test' % i, 'message %d' % i)
        lines = []
        for i in range(count):
            m = srv.wait_for_log(r'smtp\[\d+\]: \w+: to=<bob%d@remote\.test>, .*status=sent .*$' % i)
            self.assertIsNotNone(m, srv.log())
            lines.append(m.group(0))
        self.assertTrue(harness.wait_until(lambda: len(peer.accepted) == count, 10))
        subjects = sorted(re.search(rb'Subject: (message \d+)', data).group(1)
                          for _, _, data in peer.accepted)
        self.assertEqual(subjects, sorted(b'message %d' % i for i in range(count)))
        return lines

    def test_waiting_mail_shares_a_connection(self):
        peer = self.scripted(end_of_data=slow_first)
        srv = self.server(peer)
        lines = self.deliver(srv, peer, 4)
        self.assertLess(peer.connections, 4, srv.log())
        self.assertTrue(any(', conn_use=2, delay=' in l for l in lines), '\n'.join(lines))
        for l in lines:
            self.assertRegex(l, r'relay=127\.0\.0\.1\[127\.0\.0\.1\]:%d, (conn_use=\d+, )?delay='
                             % peer.port)
        # Reused sessions go straight to MAIL (no second greeting/EHLO on them).
        ehlos = sum(1 for c in peer.commands if c.upper().startswith('EHLO'))
        self.assertEqual(ehlos, peer.connections)
        # The idle connection is closed with QUIT after smtp_connection_cache_time_limit (2s).
        self.assertTrue(
            harness.wait_until(lambda: peer.commands.count('QUIT') == peer.connections, 10),
            peer.commands)

    def test_no_caching_when_off(self):
        peer = self.scripted(end_of_data=slow_first)
        srv = self.server(peer, smtp_connection_cache_on_demand='no')
        lines = self.deliver(srv, peer, 4)
        self.assertEqual(peer.connections, 4)
        self.assertFalse(any('conn_use=' in l for l in lines), '\n'.join(lines))

    def test_server_closing_idle_connections_gets_each_message_once(self):
        peer = self.scripted(close_after_data=True)
        srv = self.server(peer, smtp_connection_cache_destinations='[127.0.0.1]:%d' % peer.port,
                          smtp_connection_cache_time_limit='30s')
        # One at a time: each next request finds the previous (now closed) connection cached.
        for line in self.send_each(srv, ['bob%d@remote.test' % i for i in range(3)]):
            self.assertNotIn('conn_use=', line)
        self.assertIn('cached connection closed by the server', srv.log())
        self.assertNotIn('status=deferred', srv.log())
        self.assertEqual(len(peer.accepted), 3)
        self.assertEqual(peer.connections, 3)

    def test_listed_destination_is_cached_without_waiting_mail(self):
        peer = self.scripted()
        srv = self.server(peer, smtp_connection_cache_on_demand='no',
                          smtp_connection_cache_destinations='[127.0.0.1]:%d' % peer.port,
                          smtp_connection_cache_time_limit='30s')
        lines = self.send_each(srv, ['bob%d@remote.test' % i for i in range(3)])
        self.assertIn(', conn_use=3, delay=', lines[2])
        self.assertEqual(peer.connections, 1)
        self.assertEqual(len(peer.accepted), 3)
        # Idle in the cache (30s) when the agent stops: it sends QUIT on its way out.
        self.assertNotIn('QUIT', peer.commands)
        srv.stop()
        self.assertTrue(harness.wait_until(lambda: 'QUIT' in peer.commands, 10), peer.commands)

    def listed_by(self, value):
        """A server whose smtp_connection_cache_destinations is `value`, on-demand caching off;
        three messages one at a time must share one connection."""
        peer = self.scripted()
        srv = self.server(peer, smtp_connection_cache_on_demand='no',
                          smtp_connection_cache_destinations=value(peer.port),
                          smtp_connection_cache_time_limit='30s')
        lines = self.send_each(srv, ['bob%d@remote.test' % i for i in range(3)])
        self.assertIn(', conn_use=3, delay=', lines[2], srv.log())
        self.assertEqual(peer.connections, 1)
        return srv

    def files(self):
        d = tempfile.mkdtemp(prefix='estafeta-cache-dest-')
        self.addCleanup(shutil.rmtree, d)
        return d

    def test_destination_listed_in_a_table_is_cached(self):
        # Postfix's type:table items: any value under the next hop's name (lower case).
        d = self.files()
        table = os.path.join(d, 'cache_hops')

        def value(port):
            with open(table, 'w') as f:
                f.write('# next hops whose connections are kept\n[127.0.0.1]:%d yes\n' % port)
            return 'other.example, texthash:%s' % table
        self.listed_by(value)

    def test_destination_listed_in_a_file_is_cached(self):
        # A /file/name item stands for the names written in that file.
        d = self.files()
        names = os.path.join(d, 'cache_list')

        def value(port):
            with open(names, 'w') as f:
                f.write('other.example\n[127.0.0.1]:%d  # the relay\n' % port)
            return names
        self.listed_by(value)

    def test_a_table_without_the_next_hop_keeps_no_connection(self):
        d = self.files()
        table = os.path.join(d, 'cache_hops')
        with open(table, 'w') as f:
            f.write('[127.0.0.2]:25 yes\n')
        peer = self.scripted()
        srv = self.server(peer, smtp_connection_cache_on_demand='no',
                          smtp_connection_cache_destinations='texthash:' + table)
        for line in self.send_each(srv, ['bob%d@remote.test' % i for i in range(2)]):
            self.assertNotIn('conn_use=', line)
        self.assertEqual(peer.connections, 2)

    def two_hops_on_one_server(self, peer):
        dns = self.dns(hosts={'a.test': ['127.0.0.1'], 'b.test': ['127.0.0.1']})
        hops = ['[a.test]:%d' % peer.port, '[b.test]:%d' % peer.port]
        return self.server(peer, dns, relayhost='',
                           transport_maps='inline:{ a.test=smtp:%s, b.test=smtp:%s }' % tuple(hops),
                           smtp_connection_cache_destinations=', '.join(hops),
                           smtp_connection_cache_time_limit='30s')

    def test_next_hops_on_one_server_share_its_connection(self):
        peer = self.scripted()
        srv = self.two_hops_on_one_server(peer)
        lines = self.send_each(srv, ['bob@a.test', 'bob@b.test'])
        self.assertIn('relay=b.test[127.0.0.1]:%d, conn_use=2, delay=' % peer.port, lines[1])
        self.assertEqual(peer.connections, 1)

    def test_stale_connection_found_by_server_is_replaced(self):
        peer = self.scripted(close_after_data=True)
        srv = self.two_hops_on_one_server(peer)
        self.send_each(srv, ['bob@a.test', 'bob@b.test'])
        self.assertIn('cached connection closed by the server', srv.log())
        self.assertNotIn('status=deferred', srv.log())
        self.assertEqual([r for _, r, _ in peer.accepted], [['bob@a.test'], ['bob@b.test']])
        self.assertEqual(peer.connections, 2)


if __name__ == '__main__':
    unittest.main()
