# Durability under crashes: client threads send numbered messages and record each one the
# server acknowledged with 250; meanwhile the whole server (the supervisor we started and all
# its descendants) is SIGKILLed at random moments and restarted. At the end every
# acknowledged message is in the Maildir exactly once (counted by Message-ID) and no message
# is delivered twice. A second test kills every process ten times while messages are being
# delivered, retried (a blocked mailbox) and bounced (a remote recipient that expires): then
# every acknowledged copy is delivered exactly once, every undeliverable recipient gets one
# notice, and no notice names a delivered recipient. The random seed is printed; set
# ESTAFETA_CRASH_SEED to replay a run.
import email.parser
import os
import random
import smtplib
import sys
import threading
import time
import unittest

import harness
from harness import EstafetaServer

CLIENTS = 4
CRASHES = 3
RCPT = 'crash'


class Client(threading.Thread):
    def __init__(self, index, host, port, stop):
        super().__init__(daemon=True)
        self.index, self.host, self.port, self.stop = index, host, port, stop
        self.acked = []      # Message-IDs answered with 250
        self.attempted = []  # every Message-ID ever sent (acknowledged or not)
        self.errors = 0

    def run(self):
        n = 0
        conn = None
        while not self.stop.is_set():
            try:
                if conn is None:
                    conn = smtplib.SMTP(self.host, self.port, timeout=10)
                    conn.ehlo('crash-client-%d.example' % self.index)
                n += 1
                msgid = '<c%d-n%d@crash.estafeta.test>' % (self.index, n)
                self.attempted.append(msgid)
                conn.sendmail('load@example.org', ['%s@localhost' % RCPT],
                              'Message-ID: %s\r\nSubject: crash %d/%d\r\n\r\nbody %d\r\n'
                              % (msgid, self.index, n, n))
                self.acked.append(msgid)
                if n % 5 == 0:  # new connections now and then, as real clients do
                    conn.quit()
                    conn = None
            except (OSError, smtplib.SMTPException):
                self.errors += 1
                try:
                    if conn is not None:
                        conn.close()
                except OSError:
                    pass
                conn = None
                time.sleep(0.05)
        if conn is not None:
            try:
                conn.quit()
            except (OSError, smtplib.SMTPException):
                pass


def message_ids(srv):
    parser = email.parser.BytesHeaderParser()
    ids = []
    for raw in srv.messages(RCPT):
        ids.append((parser.parsebytes(raw).get('Message-ID') or '').strip())
    return ids


class CrashDurabilityTest(unittest.TestCase):

    def test_acknowledged_messages_survive_sigkill_exactly_once(self):
        seed = int(os.environ.get('ESTAFETA_CRASH_SEED', random.randrange(1 << 30)))
        sys.stderr.write('crash durability seed: %d\n' % seed)
        rng = random.Random(seed)
        with EstafetaServer() as srv:
            stop = threading.Event()
            clients = [Client(i, srv.host, srv.port, stop) for i in range(CLIENTS)]
            for c in clients:
                c.start()
            try:
                for _ in range(CRASHES):
                    time.sleep(rng.uniform(0.3, 1.5))
                    srv.kill_all()
                    time.sleep(rng.uniform(0.0, 0.3))
                    srv.start()
                time.sleep(rng.uniform(0.3, 1.0))
            finally:
                stop.set()
                for c in clients:
                    c.join(harness.TIMEOUT)
            self.assertFalse(any(c.is_alive() for c in clients), 'client thread hung')

            acked = [m for c in clients for m in c.acked]
            attempted = {m for c in clients for m in c.attempted}
            self.assertTrue(acked, 'no message was acknowledged at all')

            # The restarted daemon must deliver everything acknowledged; wait (bounded).
            deadline = time.monotonic() + harness.TIMEOUT
            while True:
                delivered = message_ids(srv)
                missing = set(acked) - set(delivered)
                if not missing or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            time.sleep(1.0)  # let any duplicate delivery show up too
            delivered = message_ids(srv)
            counts = {}
            for m in delivered:
                counts[m] = counts.get(m, 0) + 1
            sys.stderr.write('acknowledged %d, attempted %d, delivered %d, client errors %d\n'
                             % (len(acked), len(attempted), len(delivered),
                                sum(c.errors for c in clients)))
            self.assertEqual(len(acked), len(set(acked)))
            missing = sorted(set(acked) - set(counts))
            self.assertEqual(missing, [], 'acknowledged but never delivered (seed %d)' % seed)
            twice = sorted(m for m, n in counts.items() if n > 1)
            self.assertEqual(twice, [], 'delivered more than once (seed %d)' % seed)
            unknown = sorted(set(counts) - attempted)
            self.assertEqual(unknown, [], 'delivered but never sent')



class MixedClient(Client):
    """Each message goes to a local recipient delivered at once, one whose mailbox is blocked
    (deferred, retried, delivered once unblocked) and a remote one that is never delivered
    (bounced to the sender when the message expires)."""

    def run(self):
        n = 0
        while not self.stop.is_set():
            n += 1
            msgid = '<m%d-n%d@crash.estafeta.test>' % (self.index, n)
            self.attempted.append(msgid)
            try:
                with smtplib.SMTP(self.host, self.port, timeout=10) as conn:
                    conn.sendmail('owner@localhost',
                                  ['%s@localhost' % RCPT, 'flaky@localhost', 'gone@remote.example'],
                                  'Message-ID: %s\r\nSubject: mixed %d/%d\r\n\r\nbody\r\n'
                                  % (msgid, self.index, n))
                self.acked.append(msgid)
            except (OSError, smtplib.SMTPException):
                self.errors += 1
                time.sleep(0.05)
            time.sleep(0.1)  # each message means a retry and a notice: keep the load modest


def ids_in(srv, mailbox):
    parser = email.parser.BytesHeaderParser()
    return [(parser.parsebytes(raw).get('Message-ID') or '').strip()
            for raw in srv.messages(mailbox)]


def bounced_ids(srv):
    """(original Message-ID, Final-Recipient) for every notice in owner's mailbox."""
    out = []
    for raw in srv.messages('owner'):
        text = raw.decode('utf-8', 'replace')
        finals = [l.split(';', 1)[1].strip() for l in text.splitlines()
                  if l.startswith('Final-Recipient:')]
        original = [l.split(':', 1)[1].strip() for l in text.splitlines()
                    if l.startswith('Message-ID: <m')]
        for f in finals:
            out.append((original[0] if original else '?', f))
    return out


class CrashWithRetriesAndBouncesTest(unittest.TestCase):
    ROUNDS = 10

    def test_kill_9_every_process_with_retries_and_bounces_in_flight(self):
        seed = int(os.environ.get('ESTAFETA_CRASH_SEED', random.randrange(1 << 30)))
        sys.stderr.write('mixed crash seed: %d\n' % seed)
        rng = random.Random(seed)
        main = {'minimal_backoff_time': '1s', 'maximal_backoff_time': '1s',
                'queue_run_delay': '1s', 'maximal_queue_lifetime': '20s',
                'bounce_queue_lifetime': '20s'}
        with EstafetaServer(main=main) as srv:
            os.makedirs(srv.mail, exist_ok=True)
            blocker = os.path.join(srv.mail, 'flaky')
            with open(blocker, 'w') as f:
                f.write('blocks the mailbox for a while')
            stop = threading.Event()
            clients = [MixedClient(i, srv.host, srv.port, stop) for i in range(1)]
            for c in clients:
                c.start()
            try:
                for round in range(self.ROUNDS):
                    time.sleep(rng.uniform(0.2, 1.2))
                    srv.kill_all()
                    if round == self.ROUNDS // 2:
                        os.unlink(blocker)  # flaky's retries succeed from now on
                    time.sleep(rng.uniform(0.0, 0.2))
                    srv.start()
            finally:
                stop.set()
                for c in clients:
                    c.join(harness.TIMEOUT)
            self.assertFalse(any(c.is_alive() for c in clients), 'client thread hung')
            acked = [m for c in clients for m in c.acked]
            attempted = {m for c in clients for m in c.attempted}
            self.assertTrue(acked, 'no message was acknowledged at all')

            # Everything settles: the queue drains (deliveries, retries and expiries done).
            # (incoming/ keeps smtpd's pre-created empty files: not queued mail.)
            def drained():
                return not any(os.listdir(os.path.join(srv.spool, q))
                               for q in ('active', 'deferred')
                               if os.path.isdir(os.path.join(srv.spool, q)))
            deadline = time.monotonic() + 4 * harness.TIMEOUT  # a bound, not a speed test
            while not drained() and time.monotonic() < deadline:
                time.sleep(0.2)
            if not drained():
                left = {q: sorted(os.listdir(os.path.join(srv.spool, q)))
                        for q in ('active', 'deferred', 'incoming', 'hold', 'corrupt', 'status')
                        if os.path.isdir(os.path.join(srv.spool, q))}
                self.fail('the queue never drained (seed %d): %r' % (seed, left))
            time.sleep(1.0)

            for mailbox in (RCPT, 'flaky'):
                counts = {}
                for m in ids_in(srv, mailbox):
                    counts[m] = counts.get(m, 0) + 1
                missing = sorted(set(acked) - set(counts))
                self.assertEqual(missing, [], '%s: acknowledged but never delivered (seed %d)'
                                 % (mailbox, seed))
                twice = sorted(m for m, n in counts.items() if n > 1)
                self.assertEqual(twice, [], '%s: delivered more than once (seed %d)'
                                 % (mailbox, seed))
                self.assertEqual(sorted(set(counts) - attempted), [])
            notices = bounced_ids(srv)
            wrong = [n for n in notices if n[1] != 'gone@remote.example']
            self.assertEqual(wrong, [], 'a bounce for a delivered recipient (seed %d)' % seed)
            bounced = {}
            for original, _ in notices:
                bounced[original] = bounced.get(original, 0) + 1
            self.assertEqual(sorted(set(acked) - set(bounced)), [],
                             'an undeliverable recipient without a notice (seed %d)' % seed)
            twice = sorted(m for m, n in bounced.items() if n > 1)
            sys.stderr.write('mixed: acknowledged %d, notices %d, duplicate notices %d\n'
                             % (len(acked), len(notices), len(twice)))
            self.assertEqual(twice, [], 'a notice sent twice (seed %d)' % seed)

if __name__ == '__main__':
    unittest.main()
