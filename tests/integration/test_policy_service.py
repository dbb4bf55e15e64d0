"""Postfix's policy delegation protocol against a real peer (issue 19, item 2): Debian's
postgrey, started by the test, asked through `estafeta policy query` (the client smtpd's
check_policy_service uses, daemon/policy_client.h). Shows the greylisting cycle: a new
(client, sender, recipient) triplet is deferred, the same triplet after the delay passes, a
client from another network is deferred again; the UNIX-socket names relative to the queue
directory; and smtpd_policy_service_default_action when the server is gone."""
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import TIMEOUT, estafeta_bin
from postgrey import Postgrey

DELAY = 2  # postgrey --delay, seconds


def request(client_address, sender='alice@example.net', recipient='bob@example.org'):
    """A RCPT-stage request as smtpd sends it (name=value lines, then an empty line)."""
    return ('request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n'
            'helo_name=client.example.net\nqueue_id=\nsender=%s\nrecipient=%s\n'
            'recipient_count=0\nclient_address=%s\nclient_name=unknown\n'
            'reverse_client_name=unknown\ninstance=1.2.3\n\n'
            % (sender, recipient, client_address))


class PolicyServiceTest(unittest.TestCase):
    def setUp(self):
        self.config_dir = tempfile.mkdtemp(prefix='estafeta-policy-')
        self.addCleanup(shutil.rmtree, self.config_dir, ignore_errors=True)

    def query(self, service, stdin, *overrides):
        """Runs `estafeta policy query SERVICE`: (exit status, action lines, stderr)."""
        args = [estafeta_bin(), '-c', self.config_dir, 'policy', 'query']
        for o in overrides:
            args += ['-o', o]
        result = subprocess.run(args + [service], input=stdin, capture_output=True, text=True,
                                timeout=TIMEOUT)
        return result.returncode, result.stdout.splitlines(), result.stderr

    def test_greylisting_cycle(self):
        with Postgrey(delay=DELAY) as grey:
            # A new triplet, then a client of another network with the same sender and
            # recipient, both deferred: two requests over one connection.
            status, actions, stderr = self.query(
                grey.service, request('192.0.2.10') + request('198.51.100.7'))
            self.assertEqual(status, 0, stderr)
            self.assertEqual(len(actions), 2, actions)
            for action in actions:
                self.assertTrue(action.startswith('DEFER_IF_PERMIT Greylisted'), action)
            self.assertEqual(stderr, '')

            # The same triplet once the delay has passed (waiting longer only makes the
            # pass more certain: postgrey's retry window is days).
            time.sleep(DELAY + 1)
            status, actions, stderr = self.query(grey.service, request('192.0.2.10'))
            self.assertEqual(status, 0, stderr)
            self.assertEqual(len(actions), 1, actions)
            self.assertTrue(actions[0].startswith(('PREPEND X-Greylist:', 'DUNNO')), actions[0])

            # A third client, never seen: deferred like the first.
            status, actions, stderr = self.query(grey.service, request('203.0.113.5'))
            self.assertEqual(status, 0, stderr)
            self.assertTrue(actions[0].startswith('DEFER_IF_PERMIT'), actions)

            log = grey.log()
            self.assertEqual(log.count('reason=new'), 3, log)
            self.assertEqual(log.count('reason=triplet found'), 1, log)

    def test_unix_socket_in_the_queue_directory(self):
        queue_dir = tempfile.mkdtemp(prefix='estafeta-queue-')
        self.addCleanup(shutil.rmtree, queue_dir, ignore_errors=True)
        os.mkdir(os.path.join(queue_dir, 'private'))
        with Postgrey(delay=DELAY, unix_path=os.path.join(queue_dir, 'private', 'postgrey')):
            status, actions, stderr = self.query('private/postgrey', request('192.0.2.20'),
                                                 'queue_directory=' + queue_dir)
            self.assertEqual(status, 0, stderr)
            self.assertEqual(len(actions), 1, actions)
            self.assertTrue(actions[0].startswith('DEFER_IF_PERMIT Greylisted'), actions)

    def test_default_action_when_the_server_is_gone(self):
        with Postgrey(delay=DELAY) as grey:
            service = grey.service
            status, actions, _ = self.query(service, request('192.0.2.30'))
            self.assertEqual(status, 0)
            grey.stop()
            status, actions, stderr = self.query(
                service, request('192.0.2.30'), 'smtpd_policy_service_retry_delay=1s',
                'smtpd_policy_service_try_limit=2')
        self.assertEqual(status, 1)
        self.assertEqual(actions, ['451 4.3.5 Server configuration problem'])
        self.assertEqual(stderr.count('warning: problem talking to server ' + service), 2,
                         stderr)
        self.assertIn('using the default action', stderr)


if __name__ == '__main__':
    unittest.main()
