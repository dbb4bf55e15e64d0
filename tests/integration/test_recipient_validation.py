# Recipient validation at RCPT through the daemon (docs/routing.md): unknown local users are
# refused before DATA with Postfix's reply and log line, and nothing is created for them; a
# missing alias database defers instead of refusing; a virtual alias domain's leftover
# address bounces through the queue manager's error transport; `estafeta address resolve`
# answers as the daemon does.
import os
import re
import smtplib
import subprocess
import unittest

import harness
from harness import EstafetaServer


def rcpt(srv, address):
    with smtplib.SMTP(srv.host, srv.port, timeout=harness.TIMEOUT) as s:
        s.ehlo('client.example')
        s.mail('sender@example.org')
        code, text = s.rcpt(address)
        return code, text.decode()


def resolve(srv, *args):
    return subprocess.run([harness.estafeta_bin(), '-c', srv.dir, 'address', 'resolve'] +
                          list(args), capture_output=True, text=True, timeout=harness.TIMEOUT)


class RecipientValidationTest(unittest.TestCase):
    def test_unknown_local_user_is_refused_and_nothing_is_created(self):
        with EstafetaServer(main={'local_recipient_maps': 'unix:passwd.byname'}) as srv:
            self.assertEqual(rcpt(srv, 'root@localhost')[0], 250)
            code, text = rcpt(srv, 'no-such-user-17@localhost')
            self.assertEqual((code, text),
                             (550, '5.1.1 <no-such-user-17@localhost>: Recipient address '
                                   'rejected: User unknown in local recipient table'))
            self.assertTrue(srv.wait_for_log(
                r'NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.1\]: 550 5\.1\.1 '
                r'<no-such-user-17@localhost>: Recipient address rejected: User unknown in '
                r'local recipient table; from=<sender@example\.org> '
                r'to=<no-such-user-17@localhost> proto=ESMTP helo=<client\.example>'))
            self.assertFalse(os.path.exists(os.path.join(srv.mail, 'no-such-user-17')))
            # The tool gives the daemon's answers, for the same client.
            out = resolve(srv, '-a', '127.0.0.1', 'root@localhost', 'no-such-user-17@localhost')
            self.assertEqual(out.returncode, 0, out.stderr)
            answers = re.findall(r'^smtpd RCPT from 127\.0\.0\.1: (.*)$', out.stdout, re.M)
            self.assertEqual(answers, [
                '250 2.1.5 Ok',
                '550 5.1.1 <no-such-user-17@localhost>: Recipient address rejected: User '
                'unknown in local recipient table'])
            self.assertIn('class: local\ntransport: local\n', out.stdout)

    def test_missing_alias_database_defers_what_it_would_decide(self):
        main = {'local_recipient_maps': 'unix:passwd.byname $alias_maps',
                'alias_maps': 'hash:/nonexistent/aliases'}
        with EstafetaServer(main=main) as srv:
            self.assertEqual(rcpt(srv, 'root@localhost')[0], 250)  # found before the aliases
            code, text = rcpt(srv, 'no-such-user-17@localhost')
            self.assertEqual((code, text), (451, '4.3.0 <no-such-user-17@localhost>: Temporary '
                                                 'lookup failure'))
            self.assertTrue(srv.wait_for_log(
                r'warning: .*table hash:/nonexistent/aliases: .*lookups fail until it can be '
                r'opened'))

    def test_virtual_alias_domain_leftover_bounces_through_the_error_transport(self):
        # Accepted at RCPT only because the check is off; the queue manager's resolver then
        # sends it to the error transport, which bounces at once.
        main = dict(harness.FAST_RETRIES, virtual_alias_domains='valias.test',
                    smtpd_reject_unlisted_recipient='no')
        with EstafetaServer(main=main) as srv:
            body, _ = harness.simple_message(to='x@valias.test', sender='sender@localhost')
            with smtplib.SMTP(srv.host, srv.port, timeout=harness.TIMEOUT) as s:
                s.sendmail('sender@localhost', ['x@valias.test'], body)
            self.assertTrue(srv.wait_for_log(
                r'to=<x@valias\.test>, relay=none, .*dsn=5\.1\.1, status=bounced \(User '
                r'unknown in virtual alias table\)'))
            notices = srv.wait_for_delivery('sender', 1)
            self.assertIn(b'User unknown in virtual alias table', notices[0])

    def test_relay_is_deferred_for_outside_clients_and_source_routes(self):
        # localhost in mydestination: source routes are followed through local domains only
        # (the harness's default makes it a virtual mailbox domain).
        main = {'mynetworks': '192.0.2.0/24', 'relay_domains': 'relay.test',
                'mydestination': 'localhost'}
        with EstafetaServer(main=main) as srv:
            self.assertEqual(rcpt(srv, 'x@relay.test')[0], 250)
            for address in ('x@elsewhere.test', 'x%elsewhere.test@relay.test',
                            'elsewhere.test!x@relay.test'):
                code, text = rcpt(srv, address)
                self.assertEqual((code, text),
                                 (454, '4.7.1 <%s>: Relay access denied' % address), address)
            # Through a local domain the route is followed: this one is the relay domain's.
            self.assertEqual(rcpt(srv, 'x%relay.test@localhost')[0], 250)


if __name__ == '__main__':
    unittest.main()
