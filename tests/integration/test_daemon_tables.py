# The daemon and lookup tables (issue 8 meets issue 2): mydestination and mynetworks may name
# tables, as in Postfix; the tables are opened at start (one that cannot be opened stops the
# start, naming it) and opened again on `estafeta reload`.
import os
import smtplib
import subprocess
import time
import unittest

import harness
from harness import EstafetaServer, simple_message
from test_daemon import run_estafeta, start_fg_expecting_exit


def send(srv, rcpt):
    """Sends one message; returns None if accepted, else the SMTP error."""
    with smtplib.SMTP(srv.host, srv.port, timeout=harness.TIMEOUT) as client:
        try:
            client.sendmail('sender@example.org', [rcpt], simple_message(to=rcpt)[0])
        except smtplib.SMTPRecipientsRefused as e:
            return e.recipients[rcpt]
    return None


class DaemonTablesTest(unittest.TestCase):

    def test_mydestination_table_and_reload(self):
        with EstafetaServer(start=False) as srv:
            table = os.path.join(srv.dir, 'local_domains')
            with open(table, 'w') as f:
                f.write('# local domains\nTabled.Example OK\n')
            srv.main['mydestination'] = 'localhost, texthash:%s' % table
            srv.main['mynetworks'] = '192.0.2.0/24'  # not us: no relaying
            srv.main['maillog_file'] = os.path.join(srv.dir, 'maillog')
            srv.write_config()
            self.assertEqual(run_estafeta(srv.dir, 'start').returncode, 0)
            try:
                srv.wait_banner(srv.listeners[0])
                self.assertIsNone(send(srv, 'alice@tabled.example'))
                srv.wait_for_delivery('alice', 1)
                code, text = send(srv, 'bob@later.example')
                self.assertEqual(code, 454, text)
                # The table changes; `reload` reopens it (no restart, no dropped listener).
                with open(table, 'a') as f:
                    f.write('later.example OK\n')
                self.assertEqual(run_estafeta(srv.dir, 'reload').returncode, 0)
                deadline = time.time() + harness.TIMEOUT
                result = send(srv, 'bob@later.example')
                while result is not None and time.time() < deadline:
                    time.sleep(0.2)
                    result = send(srv, 'bob@later.example')
                self.assertIsNone(result, 'reload did not reopen the table')
                srv.wait_for_delivery('bob', 1)
            finally:
                run_estafeta(srv.dir, 'stop')

    def test_mynetworks_cidr_table(self):
        with EstafetaServer(start=False) as srv:
            table = os.path.join(srv.dir, 'networks.cidr')
            with open(table, 'w') as f:
                f.write('10.0.0.0/8 OK\n127.0.0.0/8 OK\n')
            srv.main['mynetworks'] = 'cidr:%s' % table
            srv.write_config()
            srv.start()
            # 127.0.0.1 is in the cidr table: relaying allowed (kept in deferred/ until
            # outbound delivery exists).
            self.assertIsNone(send(srv, 'carol@remote.example'))

    def test_missing_table_refuses_to_start(self):
        with EstafetaServer(start=False) as srv:
            missing = os.path.join(srv.dir, 'no-such-table')
            srv.main['mydestination'] = 'localhost, texthash:%s' % missing
            srv.write_config()
            status, err = start_fg_expecting_exit(self, srv.dir)
            self.assertNotEqual(status, 0, err)
            self.assertIn('no-such-table', err)


if __name__ == '__main__':
    unittest.main()
