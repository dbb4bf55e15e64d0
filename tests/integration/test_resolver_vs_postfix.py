# Differential test of the address resolver and recipient validation against Postfix: the same
# main.cf settings and tables given to a private Postfix 3.7 (Debian's package) and to Estafeta,
# then RCPT TO for generated addresses (local, virtual alias, virtual mailbox, relay, other
# domains; extensions, case, source routes, address literals, unqualified names) from the same
# loopback client, outside mynetworks. Both must give the same reply code and enhanced status
# code for every address. Needs root (Postfix's set-permissions).
import itertools
import os
import smtplib
import unittest

from harness import EstafetaServer
from postfix_peer import PostfixPeer

TABLES = {
    'local_users': 'alice x\npostmaster x\n',
    'virtual': 'sales@valias.test alice@localhost\ninfo alice\n@catchall.test alice\n',
    'vmailbox': 'ann@vbox.test x\n',
    'relay_users': 'carol@relay.test x\n',
}

LOCAL_PARTS = ['alice', 'Alice', 'alice+box', 'bob', 'postmaster', 'sales', 'info', 'ann',
               'carol', 'dave', 'x%relay.test', 'x%other.test', 'relay.test!x',
               'alice%localhost', 'other.test!x', '"x@other.test"', '"ann@vbox.test"',
               '"alice"']
DOMAINS = ['localhost', 'mx.estafeta.test', 'estafeta.test', 'ESTAFETA.test', 'relay.test',
           'sub.relay.test', 'valias.test', 'catchall.test', 'vbox.test', 'other.test',
           '[127.0.0.1]', '[192.0.2.99]', None]


def settings(dir_of):
    return {
        'myhostname': 'mx.estafeta.test',
        'mydomain': 'estafeta.test',
        'myorigin': '$mydomain',
        'mydestination': '$myhostname, localhost, $mydomain',
        'inet_interfaces': '127.0.0.1',
        'mynetworks': '192.0.2.0/24',
        'recipient_delimiter': '+',
        'relay_domains': 'relay.test',
        'relay_recipient_maps': 'texthash:' + dir_of('relay_users'),
        'virtual_alias_domains': 'valias.test, catchall.test',
        'virtual_alias_maps': 'texthash:' + dir_of('virtual'),
        'virtual_mailbox_domains': 'vbox.test',
        'virtual_mailbox_maps': 'texthash:' + dir_of('vmailbox'),
        'local_recipient_maps': 'texthash:' + dir_of('local_users'),
        # Many rejections in one session: no error limits or delays.
        'smtpd_soft_error_limit': '10000',
        'smtpd_hard_error_limit': '10000',
        'smtpd_error_sleep_time': '0',
    }


def rcpt_answers(port, addresses):
    """address -> (code, enhanced status code) for RCPT TO, one transaction per address."""
    answers = {}
    with smtplib.SMTP('127.0.0.1', port, timeout=30) as s:
        s.ehlo('client.test')
        for address in addresses:
            s.mail('sender@client.test')
            code, text = s.rcpt(address)
            status = text.decode('latin-1').split(' ', 1)[0]
            answers[address] = (code, status if status[:1].isdigit() else '')
            s.rset()
    return answers


@unittest.skipUnless(os.geteuid() == 0, 'a private Postfix needs root (set-permissions)')
class ResolverVsPostfixTest(unittest.TestCase):
    def test_rcpt_answers_match_postfix(self):
        addresses = []
        for local, domain in itertools.product(LOCAL_PARTS, DOMAINS):
            addresses.append(local if domain is None else '%s@%s' % (local, domain))
        with PostfixPeer(settings(lambda n: '{dir}/' + n), TABLES) as pf:
            postfix = rcpt_answers(pf.port, addresses)
        with EstafetaServer(main={}, start=False) as srv:
            for name, text in TABLES.items():
                with open(os.path.join(srv.dir, name), 'w') as f:
                    f.write(text)
            srv.main.update(settings(lambda n: os.path.join(srv.dir, n)))
            srv.write_config()
            srv.start()
            estafeta = rcpt_answers(srv.port, addresses)
        # By design Estafeta's SMTP parser requires RFC 5321's domain in RCPT TO (but for
        # postmaster): Postfix accepts an unqualified name and appends $myorigin.
        for a in addresses:
            if '@' not in a and a.lower() != 'postmaster':
                self.assertEqual(estafeta[a], (501, '5.1.3'), a)
                estafeta[a] = postfix[a]
        differences = ['%-28s postfix %s %-6s estafeta %s %s'
                       % (a, postfix[a][0], postfix[a][1], estafeta[a][0], estafeta[a][1])
                       for a in addresses if postfix[a] != estafeta[a]]
        self.assertEqual(differences, [], '\n' + '\n'.join(differences))


if __name__ == '__main__':
    unittest.main()
