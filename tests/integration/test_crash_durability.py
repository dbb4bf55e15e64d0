# Durability under crashes: client threads send numbered messages and record each one the
# server acknowledged with 250; meanwhile the whole server (the supervisor we started and all
# its descendants) is SIGKILLed at random moments and restarted. At the end every
# acknowledged message is in the Maildir exactly once (counted by Message-ID) and no message
# is delivered twice. The random seed is printed; set ESTAFETA_CRASH_SEED to replay a run.
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


if __name__ == '__main__':
    unittest.main()
