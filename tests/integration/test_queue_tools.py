# The queue tools against the real daemon (docs/queue-tools.md): mail for a remote domain stays
# in deferred/ (the harness's master.cf has no smtp row: "mail transport unavailable"), so it
# can be listed (mailq, sendmail -bp, `estafeta queue list`, -j), shown, held, released,
# requeued, deleted and flushed. Sizes are checked against the queue manager's own log line,
# arrival times against the time encoded in the queue id, the wake-up of the queue manager
# against a second deferral that neither its rescan of active/ (every 60 s) nor its retry of
# deferred mail (minimal_backoff_time, 300 s) could have produced within the 30 s we wait,
# and "release makes it due now" against a backoff of an hour. As root, a user who is neither
# root nor mail_owner is refused every change.
import json
import os
import pwd
import re
import subprocess
import time
import unittest

import harness
import tools
from harness import EstafetaServer

REASON = 'mail transport unavailable'
HEADING = '-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------'
INDENT = ' ' * 41
BLOCK_FIRST = re.compile(r'^(?P<id>[0-9A-F]{18})(?P<mark>[ *!])\s+(?P<size>\d+) '
                         r'(?P<arrival>\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d)  (?P<sender>\S+)$')
QUEUES = ('active', 'deferred', 'hold', 'corrupt')


class Ran:
    def __init__(self, proc, config_dir):
        self.status = proc.returncode
        self.out = proc.stdout.decode('utf-8', 'replace')
        # Without the configuration's own warnings (an unimplemented parameter, say), which
        # every command repeats: the tests look at what the tool itself says.
        diagnostic = re.compile(r'^\w+: %s/(main|master)\.cf:' % re.escape(config_dir or '-'))
        self.err = ''.join(line for line in proc.stderr.decode('utf-8', 'replace')
                           .splitlines(keepends=True) if not diagnostic.match(line))

    def __repr__(self):
        return 'Ran(status=%r, out=%r, err=%r)' % (self.status, self.out, self.err)


def run(argv, stdin=b'', user=None, env=None, config_dir=None):
    if user is not None:
        argv = [tools.require('runuser'), '-u', user, '--'] + argv
    proc = subprocess.run(argv, input=stdin, capture_output=True, timeout=harness.TIMEOUT,
                          env=env)
    return Ran(proc, config_dir)


def queue(srv, *args, stdin=b'', user=None):
    return run([harness.estafeta_bin(), '-c', srv.dir, 'queue'] + list(args), stdin, user,
               config_dir=srv.dir)


def alias(name):
    """The mailq / sendmail symlink beside the binary (argv[0] decides what it does)."""
    path = os.path.join(os.path.dirname(harness.estafeta_bin()), name)
    if not os.path.exists(path):
        raise AssertionError('%s is missing beside %s' % (name, harness.estafeta_bin()))
    return path


def arrived(queue_id, seconds):
    """Whether `seconds` (an arrival time a tool printed) can be the arrival of queue_id:
    not before the id's time, not after now."""
    return arrival_of(queue_id) <= seconds <= time.time()


def arrival_of(queue_id):
    """The second encoded in a queue id: 12 hex digits, the low 48 bits of the time in
    microseconds (about 8.9 years), taken as the latest such instant until now. smtpd creates
    its queue files ahead of need, so the arrival is this or a little later (arrived())."""
    now_us = time.time_ns() // 1000
    return (now_us - (now_us - int(queue_id[:12], 16)) % (1 << 48)) // 1000000


def send(srv, sender, recipients, subject='queue tools', body='Body of the queued message.'):
    """One message over SMTP; returns (queue id, the DATA text as sent)."""
    text, _ = harness.simple_message(subject=subject, body=body,
                                     sender=sender or 'MAILER-DAEMON@example.org',
                                     to=', '.join(recipients))
    with srv.connect() as c:
        assert c.cmd('EHLO client.example').code == 250
        r = c.cmd('MAIL FROM:<%s>' % sender)
        assert r.code == 250, r
        for rcpt in recipients:
            r = c.cmd('RCPT TO:<%s>' % rcpt)
            assert r.code == 250, r
        assert c.cmd('DATA').code == 354
        c.send(text.encode() + b'.\r\n')
        r = c.read_reply()
        assert r.code == 250, r
        c.cmd('QUIT')
    m = re.search(r'queued as ([0-9A-F]{18})', r.text)
    assert m, r
    return m.group(1), text


def deferrals(srv, queue_id):
    return len(re.findall(r'%s: to=<[^>]*>, .*status=deferred' % queue_id, srv.log()))


def wait_deferrals(srv, queue_id, count):
    """Waits (at most 30 s) until the log shows `count` deferrals for the message and the
    file is in deferred/ again; True if it happened."""
    deadline = time.monotonic() + harness.TIMEOUT
    while time.monotonic() < deadline:
        if (deferrals(srv, queue_id) >= count
                and os.path.exists(os.path.join(srv.spool, 'deferred', queue_id))):
            return True
        time.sleep(0.05)
    return False


def logged_size(srv, queue_id):
    m = re.search(r'%s: from=<[^>]*>, size=(\d+), nrcpt=' % queue_id, srv.log())
    assert m, 'no qmgr line for %s' % queue_id
    return int(m.group(1))


def where(srv, queue_id):
    return [q for q in QUEUES if os.path.exists(os.path.join(srv.spool, q, queue_id))]


def parse_mailq(text):
    """mailq output -> (list of {id, mark, size, arrival, sender, lines}, footer line)."""
    lines = text.split('\n')
    assert lines[-1] == '', 'output does not end with a newline: %r' % text
    lines.pop()
    if lines == ['Mail queue is empty']:
        return [], lines[0]
    assert lines[0] == HEADING, lines[0]
    footer = lines[-1]
    assert lines[-2] == '', text
    blocks, current = [], None
    for line in lines[1:-2]:
        if line == '':
            current = None
            continue
        if current is None:
            m = BLOCK_FIRST.match(line)
            assert m, 'bad first line %r' % line
            current = dict(m.groupdict(), size=int(m.group('size')), lines=[])
            blocks.append(current)
        else:
            current['lines'].append(line)
    return blocks, footer


def reason_line(reason):
    return ' ' * max(0, 76 - len(reason)) + '(' + reason + ')'


class QueueToolsTest(unittest.TestCase):

    def deferred_message(self, srv, sender='alice@example.org', recipients=None, **kw):
        recipients = recipients or ['bob@remote.example']
        queue_id, text = send(srv, sender, recipients, **kw)
        self.assertTrue(wait_deferrals(srv, queue_id, 1), 'never deferred: %s' % queue_id)
        # The deferral is logged before the queue manager moves the file to deferred/ and
        # sets its next attempt: wait (boundedly) for that too.
        path = os.path.join(srv.spool, 'deferred', queue_id)
        deadline = time.monotonic() + harness.TIMEOUT
        while not (os.path.exists(path) and os.stat(path).st_mtime > time.time() + 1):
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        return queue_id, text

    def test_mailq_lists_deferred_mail_in_postfix_format(self):
        with EstafetaServer() as srv:
            first, text1 = self.deferred_message(
                srv, recipients=['bob@remote.example', 'carol@localhost', 'dave@remote.example'])
            second, _ = self.deferred_message(srv, sender='', recipients=['erin@other.example'],
                                              body='x' * 3000)
            # carol@localhost was delivered: the Maildir has it, mailq must not list it.
            self.assertEqual(len(srv.wait_for_delivery('carol')), 1)

            listing = queue(srv, 'list')
            self.assertEqual(listing.status, 0, listing)
            self.assertEqual(listing.err, '')
            blocks, footer = parse_mailq(listing.out)
            # Queue id order: roughly arrival order (smtpd creates queue files ahead of need).
            self.assertEqual(sorted(b['id'] for b in blocks), sorted([first, second]))
            self.assertEqual([b['id'] for b in blocks], sorted(b['id'] for b in blocks))
            blocks = sorted(blocks, key=lambda b: b['id'] != first)  # first's block first
            sizes = [logged_size(srv, first), logged_size(srv, second)]
            self.assertEqual(footer, '-- %d Kbytes in 2 Requests.' % (sum(sizes) // 1024))

            b1, b2 = blocks
            self.assertEqual(b1['mark'], ' ')
            self.assertEqual(b1['size'], sizes[0])
            self.assertGreater(b1['size'], len(text1))  # the Received header is counted
            shown = time.mktime(time.strptime(b1['arrival'] + time.strftime(' %Y'),
                                              '%a %b %d %H:%M:%S %Y'))
            self.assertTrue(arrived(first, shown), (b1['arrival'], first))
            self.assertEqual(b1['sender'], 'alice@example.org')
            self.assertEqual(b1['lines'], [reason_line(REASON), INDENT + 'bob@remote.example',
                                           INDENT + 'dave@remote.example'])
            self.assertEqual(b2['sender'], 'MAILER-DAEMON')
            self.assertEqual(b2['size'], sizes[1])
            self.assertGreater(b2['size'], 3000)
            self.assertEqual(b2['lines'], [reason_line(REASON), INDENT + 'erin@other.example'])

            # The same listing by every name.
            env = dict(os.environ, ESTAFETA_CONFIG_DIR=srv.dir)
            for argv in ([alias('mailq')], [alias('sendmail'), '-bp'],
                         [alias('mailq'), '-C', srv.dir],
                         [harness.estafeta_bin(), '-c', srv.dir, 'mailq']):
                other = run(argv, env=env, config_dir=srv.dir)
                self.assertEqual((other.status, other.out), (0, listing.out), argv)

    def test_json_listing(self):
        with EstafetaServer() as srv:
            first, _ = self.deferred_message(srv, recipients=['bob@remote.example',
                                                              '"x y"@remote.example'])
            second, _ = self.deferred_message(srv, sender='')
            ran = queue(srv, 'list', '-j')
            self.assertEqual(ran.status, 0, ran)
            lines = ran.out.splitlines()
            self.assertEqual(len(lines), 2, ran.out)
            # Queue id order, roughly arrival order (see the mailq test): take first's first.
            lines.sort(key=lambda line: json.loads(line)['queue_id'] != first)
            objects = [json.loads(line) for line in lines]
            self.assertTrue(arrived(first, objects[0]['arrival_time']), objects[0])
            self.assertEqual(objects[0], {
                'queue_name': 'deferred', 'queue_id': first,
                'arrival_time': objects[0]['arrival_time'],
                'message_size': logged_size(srv, first),
                'sender': 'alice@example.org',
                'recipients': [{'address': 'bob@remote.example', 'delay_reason': REASON},
                               {'address': '"x y"@remote.example', 'delay_reason': REASON}]})
            self.assertEqual(objects[1]['queue_id'], second)
            self.assertEqual(objects[1]['sender'], 'MAILER-DAEMON')
            # Postfix's field order and spacing, for scripts that do not parse JSON.
            self.assertTrue(lines[0].startswith('{"queue_name": "deferred", "queue_id": "%s", '
                                                '"arrival_time": ' % first), lines[0])
            empty = queue(srv, 'delete', 'ALL')
            self.assertEqual(empty.status, 0, empty)
            self.assertEqual(queue(srv, 'list', '-j').out, '')

    def test_show_prints_envelope_headers_and_body(self):
        with EstafetaServer() as srv:
            queue_id, _ = self.deferred_message(srv, subject='Show me',
                                                body='The body line to find.')
            ran = queue(srv, 'show', queue_id)
            self.assertEqual(ran.status, 0, ran)
            out = ran.out
            self.assertTrue(out.startswith('*** ENVELOPE RECORDS deferred/%s ***\n' % queue_id),
                            out)
            for line in ('queue_id: %s' % queue_id, 'sender: alice@example.org',
                         'recipient: bob@remote.example', 'client_address: 127.0.0.1',
                         'helo_name: client.example', 'protocol_name: ESMTP',
                         'message_size: %d' % logged_size(srv, queue_id),
                         '*** MESSAGE CONTENTS deferred/%s ***' % queue_id,
                         'Subject: Show me', 'The body line to find.',
                         '*** MESSAGE FILE END deferred/%s ***' % queue_id):
                self.assertIn(line + '\n', out)
            self.assertRegex(out, r'\nrecipient_status: deferred, dsn=4\.3\.0, relay=none, '
                                  r'\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} \(%s\)\n' % REASON)
            self.assertNotIn('\r', out)
            # Received header first, then the client's headers, a blank line, the body.
            contents = out.split('*** MESSAGE CONTENTS deferred/%s ***\n' % queue_id)[1]
            self.assertTrue(contents.startswith('Received: from client.example'), contents)
            self.assertIn('Subject: Show me\n', contents.split('\n\n')[0])
            self.assertIn('The body line to find.', contents.split('\n\n', 1)[1])

            headers = queue(srv, 'show', '-h', queue_id)
            self.assertEqual(headers.status, 0, headers)
            self.assertIn('Subject: Show me\n', headers.out)
            self.assertNotIn('The body line to find.', headers.out)
            self.assertNotIn('***', headers.out)
            body = queue(srv, 'show', '-b', queue_id)
            self.assertEqual(body.out, 'The body line to find.\n')
            both = queue(srv, 'show', '-h', '-b', queue_id)
            self.assertEqual(both.out, headers.out + '\n' + body.out)

            missing = queue(srv, 'show', '0' * 18)
            self.assertEqual(missing.status, 1, missing)
            self.assertIn('postcat: %s: no such message' % ('0' * 18), missing.err)

    def test_hold_release_requeue(self):
        with EstafetaServer() as srv:
            queue_id, _ = self.deferred_message(srv)

            held = queue(srv, 'hold', queue_id)
            self.assertEqual(held.status, 0, held)
            self.assertEqual(held.err, 'postsuper: %s: placed on hold\n'
                                       'postsuper: Placed on hold: 1 message\n' % queue_id)
            self.assertEqual(where(srv, queue_id), ['hold'])
            blocks, _ = parse_mailq(queue(srv, 'list').out)
            self.assertEqual([(b['id'], b['mark']) for b in blocks], [(queue_id, '!')])
            self.assertEqual(json.loads(queue(srv, 'list', '-j').out)['queue_name'], 'hold')
            again = queue(srv, 'hold', queue_id)
            self.assertEqual(again.status, 0, again)
            self.assertIn('is in the hold queue', again.err)
            self.assertNotIn('Placed on hold', again.err)

            # Released: back to deferred/, due now (modification time reset).
            os.utime(os.path.join(srv.spool, 'hold', queue_id), (1000000000, 1000000000))
            released = queue(srv, 'release', queue_id)
            self.assertEqual(released.err, 'postsuper: %s: released from hold\n'
                                           'postsuper: Released from hold: 1 message\n'
                             % queue_id)
            self.assertEqual(where(srv, queue_id), ['deferred'])
            mtime = os.stat(os.path.join(srv.spool, 'deferred', queue_id)).st_mtime
            self.assertLess(abs(mtime - time.time()), 600)
            blocks, _ = parse_mailq(queue(srv, 'list').out)
            self.assertEqual([(b['id'], b['mark']) for b in blocks], [(queue_id, ' ')])

            # Requeued: into active/, and the woken agent tries (and defers) it again.
            self.assertEqual(deferrals(srv, queue_id), 1)
            requeued = queue(srv, 'requeue', queue_id)
            self.assertEqual(requeued.err, 'postsuper: %s: requeued\n'
                                           'postsuper: Requeued: 1 message\n' % queue_id)
            self.assertTrue(wait_deferrals(srv, queue_id, 2), srv.log())
            self.assertEqual(where(srv, queue_id), ['deferred'])

            # Requeue from hold works too.
            queue(srv, 'hold', queue_id)
            self.assertEqual(queue(srv, 'requeue', queue_id).status, 0)
            self.assertTrue(wait_deferrals(srv, queue_id, 3), srv.log())

    def test_release_makes_the_message_due_now(self):
        # Retries an hour apart, deferred scans every second: only the release's new
        # modification time (the next attempt) can bring a second attempt within 30 s.
        slow = {'minimal_backoff_time': '3600s', 'maximal_backoff_time': '7200s',
                'queue_run_delay': '1s'}
        with EstafetaServer(main=slow) as srv:
            queue_id, _ = self.deferred_message(srv)
            path = os.path.join(srv.spool, 'deferred', queue_id)
            self.assertGreater(os.stat(path).st_mtime, time.time() + 600)  # an hour ahead
            self.assertEqual(queue(srv, 'hold', queue_id).status, 0)
            self.assertEqual(queue(srv, 'release', queue_id).status, 0)
            self.assertTrue(wait_deferrals(srv, queue_id, 2), srv.log())

    def test_delete_removes_file_and_status_log(self):
        with EstafetaServer() as srv:
            queue_id, _ = self.deferred_message(srv)
            keep, _ = self.deferred_message(srv)
            status_log = os.path.join(srv.spool, 'status', queue_id)
            self.assertTrue(os.path.exists(status_log))

            unknown = 'ABCDEF0123456789AB'
            deleted = queue(srv, 'delete', queue_id, unknown, 'not-an-id')
            self.assertEqual(deleted.status, 0, deleted)
            self.assertIn('postsuper: %s: removed\n' % queue_id, deleted.err)
            self.assertIn('postsuper: %s: no such message\n' % unknown, deleted.err)
            self.assertIn('postsuper: warning: invalid mail queue id: not-an-id\n', deleted.err)
            self.assertTrue(deleted.err.endswith('postsuper: Deleted: 1 message\n'),
                            deleted.err)
            self.assertEqual(where(srv, queue_id), [])
            self.assertFalse(os.path.exists(status_log))
            blocks, _ = parse_mailq(queue(srv, 'list').out)
            self.assertEqual([b['id'] for b in blocks], [keep])

            # Deleting from hold/, and an unknown id alone: no count line.
            queue(srv, 'hold', keep)
            self.assertEqual(queue(srv, 'delete', keep).status, 0)
            self.assertEqual(where(srv, keep), [])
            again = queue(srv, 'delete', keep)
            self.assertEqual((again.status, again.err),
                             (0, 'postsuper: %s: no such message\n' % keep))
            self.assertEqual(queue(srv, 'list').out, 'Mail queue is empty\n')

    def test_all_and_ids_from_stdin(self):
        with EstafetaServer() as srv:
            ids = [self.deferred_message(srv)[0] for _ in range(3)]

            held = queue(srv, 'hold', 'ALL')
            self.assertEqual(held.status, 0, held)
            self.assertTrue(held.err.endswith('Placed on hold: 3 messages\n'), held.err)
            self.assertEqual([where(srv, i) for i in ids], [['hold']] * 3)

            stdin = ('%s\n\n  %s  \n' % (ids[0], ids[2])).encode()
            released = queue(srv, 'release', '-', stdin=stdin)
            self.assertEqual(released.status, 0, released)
            self.assertTrue(released.err.endswith('Released from hold: 2 messages\n'),
                            released.err)
            self.assertEqual([where(srv, i) for i in ids],
                             [['deferred'], ['hold'], ['deferred']])
            blocks, footer = parse_mailq(queue(srv, 'list').out)
            # showq's order: the queues (deferred before hold), each in queue id order, which
            # is not always the order of arrival (smtpd's pool of queue files).
            self.assertEqual([(b['id'], b['mark']) for b in blocks],
                             [(i, ' ') for i in sorted([ids[0], ids[2]])] + [(ids[1], '!')])
            self.assertRegex(footer, r'^-- \d+ Kbytes in 3 Requests\.$')

            deleted = queue(srv, 'delete', 'ALL')
            self.assertTrue(deleted.err.endswith('Deleted: 3 messages\n'), deleted.err)
            self.assertEqual([where(srv, i) for i in ids], [[]] * 3)
            self.assertEqual(os.listdir(os.path.join(srv.spool, 'status')), [])
            self.assertEqual(queue(srv, 'list').out, 'Mail queue is empty\n')

    def test_flush_and_sendmail_q(self):
        with EstafetaServer() as srv:
            remote, _ = self.deferred_message(srv, recipients=['a@remote.example'])
            other, _ = self.deferred_message(srv, recipients=['b@Other.Example'])

            flushed = queue(srv, 'flush')
            self.assertEqual((flushed.status, flushed.err), (0, ''), flushed)
            self.assertTrue(wait_deferrals(srv, remote, 2), srv.log())
            self.assertTrue(wait_deferrals(srv, other, 2), srv.log())

            # With the daemon stopped nothing moves the files back (and nobody listens for
            # the wake-up, which is not an error): where they are is what flush did.
            srv.stop()
            site = queue(srv, 'flush', '-s', 'other.EXAMPLE')
            self.assertEqual((site.status, site.err), (0, ''), site)
            self.assertEqual(where(srv, other), ['active'])
            self.assertEqual(where(srv, remote), ['deferred'])
            blocks, _ = parse_mailq(queue(srv, 'list').out)
            self.assertEqual([(b['id'], b['mark']) for b in blocks],
                             [(other, '*'), (remote, ' ')])

            q = run([alias('sendmail'), '-C', srv.dir, '-q'], config_dir=srv.dir)
            self.assertEqual((q.status, q.err), (0, ''), q)
            self.assertEqual(where(srv, remote), ['active'])
            # -qR SITE, -qI ID and -q15m: test_local_submission.QueueRunTest.

    def test_unreadable_and_corrupt_files(self):
        with EstafetaServer() as srv:
            good, _ = self.deferred_message(srv)
            owner = os.stat(os.path.join(srv.spool, 'deferred', good))
            broken, damaged = 'ABCDEF0123456789AB', 'ABCDEF0123456789AC'
            for q, name in (('deferred', broken), ('corrupt', damaged)):
                path = os.path.join(srv.spool, q, name)
                with open(path, 'wb') as f:
                    f.write(b'V\x012garbage')
                os.chown(path, owner.st_uid, owner.st_gid)
            ran = queue(srv, 'list')
            self.assertEqual(ran.status, 0, ran)
            self.assertIn('postqueue: warning: deferred/%s: ' % broken, ran.err)
            self.assertEqual(ran.err.count('\n'), 1, ran.err)  # corrupt/ is not listed
            blocks, footer = parse_mailq(ran.out)
            self.assertEqual([b['id'] for b in blocks], [good])
            self.assertTrue(footer.endswith('in 1 Request.'), footer)
            self.assertEqual(len(queue(srv, 'list', '-j').out.splitlines()), 1)

            shown = queue(srv, 'show', broken)
            self.assertEqual(shown.status, 1, shown)
            self.assertIn('postcat: deferred/%s: ' % broken, shown.err)

            # delete finds a message in any queue, corrupt/ included, but ALL leaves corrupt/
            # to a human (as Postfix's ALL does not cover it).
            ran = queue(srv, 'delete', 'ALL')
            self.assertTrue(ran.err.endswith('Deleted: 2 messages\n'), ran)
            self.assertEqual((where(srv, broken), where(srv, good)), ([], []))
            self.assertEqual(where(srv, damaged), ['corrupt'])
            ran = queue(srv, 'delete', damaged)
            self.assertTrue(ran.err.endswith('Deleted: 1 message\n'), ran)
            self.assertEqual(where(srv, damaged), [])

    def test_only_root_and_mail_owner_may_change_the_queue(self):
        if not harness.is_root():
            self.skipTest('needs root to run the tools as another user')
        owner = harness.default_mail_owner()
        outsider = next(u for u in ('nobody', 'daemon', 'bin') if u != owner)
        pwd.getpwnam(outsider)
        with EstafetaServer() as srv:
            queue_id, _ = self.deferred_message(srv)
            for args in (('hold', queue_id), ('delete', 'ALL'), ('requeue', '-'),
                         ('release', queue_id), ('flush',)):
                ran = queue(srv, *args, stdin=(queue_id + '\n').encode(), user=outsider)
                self.assertEqual(ran.status, 1, (args, ran))
                self.assertRegex(ran.err, r'^post(super|queue): fatal: .*only root, the '
                                          r'mail_owner user \(%s\)' % owner)
                self.assertEqual(where(srv, queue_id), ['deferred'])
            # Anyone may list: through the showq service, the same listing as root's.
            ran = queue(srv, 'list', user=outsider)
            self.assertEqual(ran.status, 0, ran)
            self.assertEqual(ran.out, queue(srv, 'list').out)
            self.assertIn(queue_id, ran.out)
            ran = queue(srv, 'list', '-j', user=outsider)
            self.assertEqual(ran.status, 0, ran)
            self.assertEqual(json.loads(ran.out.splitlines()[0])['queue_id'], queue_id)
            ran = run([alias('mailq'), '-C', srv.dir], user=outsider, config_dir=srv.dir)
            self.assertEqual(ran.status, 0, ran)
            self.assertIn(queue_id, ran.out)
            # mail_owner itself may.
            if owner:
                ran = queue(srv, 'hold', queue_id, user=owner)
                self.assertEqual(ran.status, 0, ran)
                self.assertEqual(where(srv, queue_id), ['hold'])


if __name__ == '__main__':
    unittest.main()
